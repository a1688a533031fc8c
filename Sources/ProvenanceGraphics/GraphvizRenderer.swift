import CGraphviz
import Synchronization

/// Lays out and draws a graph in Graphviz's DOT language with libgvc, in this process.
///
/// Graphviz keeps global state and is not safe to call from several threads at once, so drawings are made one at a
/// time, on one context made once.
public enum GraphvizRenderer {
    /// Why a drawing failed.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    private final class Context: @unchecked Sendable {
        // Used only under `lock`.
        let gvc: OpaquePointer? = gvContext()
    }

    private static let context = Mutex(Context())

    /// The SVG drawing of `dot`, laid out by `dot` (ranks, left to right as the graph asks).
    public static func svg(_ dot: String) throws(Failure) -> String {
        try context.withLock { context throws(Failure) -> String in
            guard let gvc = context.gvc else { throw Failure(description: "Graphviz could not start") }
            guard let graph = dot.withCString({ agmemread($0) }) else {
                throw Failure(description: "Graphviz could not read the graph")
            }
            defer { agclose(graph) }
            guard gvLayout(gvc, graph, "dot") == 0 else {
                throw Failure(description: "Graphviz could not lay out the graph")
            }
            defer { gvFreeLayout(gvc, graph) }
            var data: UnsafeMutablePointer<CChar>?
            var length: UInt32 = 0
            guard gvRenderData(gvc, graph, "svg", &data, &length) == 0, let data else {
                throw Failure(description: "Graphviz could not draw the graph")
            }
            defer { gvFreeRenderData(data) }
            return String(decoding: UnsafeRawBufferPointer(start: data, count: Int(length)), as: UTF8.self)
        }
    }
}
