import Hummingbird
import NIOCore
import Synchronization

/// Cancels the task serving a request when its client closes the connection (or its sending side) before the
/// response is ready, so that what the request started in the database is stopped too. Hummingbird (2.28) lets a
/// handler run on after its client has gone.
struct CancelOnDisconnectMiddleware: RouterMiddleware {
    typealias Context = CatalogRequestContext

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        // A connection that is not (or no longer) active has nothing to watch, as in the router's test mode.
        let watcher = DisconnectWatcher()
        guard context.channel.isActive,
            (try? await context.channel.pipeline.addHandler(watcher, position: .first).get()) != nil
        else {
            return try await next(request, context)
        }
        defer { context.channel.pipeline.removeHandler(watcher, promise: nil) }
        return try await withoutActuallyEscaping(next) { next in
            // The rest of the chain runs in a child task, which the watcher's disconnect cancels; this task only
            // waits for it, so `next` is never called concurrently.
            let rest = UncheckedSendable(next)
            return try await withThrowingTaskGroup(of: Response?.self) { group in
                group.addTask { try await rest.value(request, context) }
                group.addTask {
                    guard await watcher.disconnected() else { return nil }
                    context.logger.info("the client went away: the request is cancelled")
                    throw CancellationError()
                }
                defer { group.cancelAll() }
                while let response = try await group.next() {
                    if let response { return response }
                }
                throw CancellationError()
            }
        }
    }
}

/// A value handed to one child task while its creator only waits for that task.
private struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// Watches one connection for its client going away: the connection closing, or its input closing (a client that
/// gives up closes its socket; with half-closure allowed, the server sees only the end of input).
final class DisconnectWatcher: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = NIOAny

    private enum State {
        case watching(CheckedContinuation<Bool, Never>?)
        case disconnected
        case stopped
    }

    private let state = Mutex(State.watching(nil))

    func channelInactive(context: ChannelHandlerContext) {
        finish(disconnected: true)
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .inputClosed? = event as? ChannelEvent { finish(disconnected: true) }
        context.fireUserInboundEventTriggered(event)
    }

    /// True once the client has gone; false when the waiting task is cancelled first.
    func disconnected() async -> Bool {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let answer = state.withLock { state -> Bool? in
                    switch state {
                    case .watching:
                        if Task.isCancelled { return false }
                        state = .watching(continuation)
                        return nil
                    case .disconnected: return true
                    case .stopped: return false
                    }
                }
                if let answer { continuation.resume(returning: answer) }
            }
        } onCancel: {
            finish(disconnected: false)
        }
    }

    private func finish(disconnected: Bool) {
        let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            guard case .watching(let waiter) = state else { return nil }
            state = disconnected ? .disconnected : .stopped
            return waiter
        }
        waiter?.resume(returning: disconnected)
    }
}
