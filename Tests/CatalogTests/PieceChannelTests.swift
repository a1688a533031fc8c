import Testing

@testable import CatalogServer

/// The channel between an export or import and its HTTP response.
@Suite("Streaming between a transfer and its response")
struct PieceChannelTests {
    @Test
    func piecesArriveInOrderAndTheProducerWaitsWhileTheChannelIsFull() async throws {
        let channel = PieceChannel(capacity: 2)
        let producer = Task {
            for i in 0..<50 { try await channel.send("\(i)") }
            await channel.finish()
        }
        var received: [String] = []
        while let piece = try await channel.next() { received.append(piece) }
        try await producer.value
        #expect(received == (0..<50).map { "\($0)" })
    }

    @Test
    func aProducerLeftWaitingByAConsumerThatNeverReadsIsCancelled() async throws {
        let channel = PieceChannel(capacity: 1, stallTimeout: .milliseconds(200))
        try await channel.send("first")
        await #expect(throws: PieceChannel.Cancelled.self) { try await channel.send("second") }
    }

    @Test
    func postedPiecesNeverWaitAndAFailureReachesTheConsumer() async throws {
        let channel = PieceChannel(capacity: 1)
        for i in 0..<10 { await channel.post("\(i)") }
        struct Broken: Error {}
        await channel.fail(Broken())
        var received = 0
        await #expect(throws: Broken.self) {
            while try await channel.next() != nil { received += 1 }
        }
        #expect(received == 10)
    }
}
