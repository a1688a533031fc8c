/// A query that cannot be run: what is wrong and where in the query text (a character offset).
///
/// The catalog reports it as `BAD_PARAMETER`.
public struct QueryError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    public let position: Int

    public init(_ message: String, at position: Int) {
        self.message = message
        self.position = position
    }

    public var description: String { "\(message) at position \(position) of the query" }
}
