import PostgresNIO
import Synchronization

/// Named prepared statements on the connections of one pool, so that a statement run again is neither parsed nor
/// planned again: for a rule-restricted search, planning took several times longer than running.
///
/// A statement is prepared on a connection the second time its text is seen (anywhere in the pool), so that text
/// run once, such as a lookup of a list of ids, costs no extra round trip. Each connection keeps its
/// `capacity` most recently used statements and closes the others on the server.
final class PostgresStatementCache: Sendable {
    /// What to do with one statement on one connection.
    enum Decision {
        /// Run it as an unnamed statement, parsed and planned for this run only.
        case runUnnamed
        /// Run the statement prepared earlier on this connection.
        case run(PreparedQuery)
        /// Prepare it, `remember` it, then run it.
        case prepare
    }

    private struct Entry {
        let query: PreparedQuery
        var lastUse: UInt64
    }

    private struct ConnectionStatements {
        let connection: PostgresConnection
        var statements: [String: Entry] = [:]
    }

    private struct State {
        /// Hashes of the texts run so far; cleared when full (which only delays a preparation).
        var seen: Set<Int> = []
        var connections: [PostgresConnection.ID: ConnectionStatements] = [:]
        var clock: UInt64 = 0
    }

    let capacity: Int
    private let seenCapacity = 10_000
    private let state = Mutex(State())

    init(capacity: Int = 128) {
        self.capacity = capacity
    }

    /// Whether `text` is worth preparing at all: only plain data statements are.
    static func isPreparable(_ text: String) -> Bool {
        let head = text.prefix(7).uppercased()
        return ["SELECT ", "INSERT ", "UPDATE ", "DELETE ", "WITH "].contains { head.hasPrefix($0) }
    }

    func decide(_ text: String, on connection: PostgresConnection) -> Decision {
        guard capacity > 0, Self.isPreparable(text) else { return .runUnnamed }
        return state.withLock { state in
            state.clock += 1
            if var entry = state.connections[connection.id]?.statements[text] {
                entry.lastUse = state.clock
                state.connections[connection.id]!.statements[text] = entry
                return .run(entry.query)
            }
            if state.seen.insert(text.hashValue).inserted {
                if state.seen.count >= seenCapacity { state.seen = [text.hashValue] }
                return .runUnnamed
            }
            return .prepare
        }
    }

    /// Keeps `query`, prepared on `connection` for `text`; returns the statements pushed out, to be closed.
    func remember(_ query: PreparedQuery, for text: String, on connection: PostgresConnection) -> [PreparedQuery] {
        state.withLock { state in
            state.clock += 1
            if state.connections[connection.id] == nil {
                // A new connection: forget those the pool has closed.
                state.connections = state.connections.filter { !$0.value.connection.isClosed }
                state.connections[connection.id] = ConnectionStatements(connection: connection)
            }
            state.connections[connection.id]!.statements[text] = Entry(query: query, lastUse: state.clock)
            var evicted: [PreparedQuery] = []
            while state.connections[connection.id]!.statements.count > capacity {
                let statements = state.connections[connection.id]!.statements
                let oldest = statements.min { $0.value.lastUse < $1.value.lastUse }!
                state.connections[connection.id]!.statements[oldest.key] = nil
                evicted.append(oldest.value.query)
            }
            return evicted
        }
    }

    /// Forgets the statement for `text` on `connection`, to be closed, after the server said it cannot run any
    /// more (a table it reads changed shape): the next run prepares it afresh.
    func forget(_ text: String, on connection: PostgresConnection) -> PreparedQuery? {
        state.withLock { state in
            state.connections[connection.id]?.statements.removeValue(forKey: text)?.query
        }
    }

    /// Whether an error with SQLSTATE `state` means the prepared statement itself is broken, rather than its run
    /// (a constraint violated, a division by zero, an aborted transaction), which leaves it usable.
    static func isBroken(sqlState state: String?) -> Bool {
        switch state {
        case "0A000",  // cached plan must not change result type
            "26000",  // the prepared statement does not exist
            "42P01", "42703", "42883":  // a table, column or function it names is gone
            true
        default:
            false
        }
    }
}
