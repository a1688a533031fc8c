import CatalogSQL
import Foundation
import PostgresNIO

extension PostgresConnectionHandle {
    func reserveIds(in table: String, count: Int) async throws(DatabaseError) -> [Int64] {
        guard count > 0 else { return [] }
        // pg_get_serial_sequence takes the table's name as SQL would write it: quoted, and bound as text.
        let quoted: SQLFragment = "\(identifier: table)"
        let sql: SQLFragment = """
            SELECT nextval(pg_get_serial_sequence(\(quoted.statement(.postgresql).text), 'id')) \
            FROM generate_series(1, \(Int64(count)))
            """
        return try await query(sql.statement(.postgresql)).map { $0[0].int64Value ?? 0 }
    }

    func bulkInsert(into table: String, columns: [String], rows: [[SQLValue]]) async throws(DatabaseError) {
        guard !rows.isEmpty else { return }
        let (connection, logger) = (connection, logger)
        try await stoppable {
            // Table and column names come from the schema, never from a request.
            try await connection.copyFrom(table: table, columns: columns, logger: logger) { writer in
                var buffer = ByteBuffer()
                buffer.reserveCapacity(1 << 16)
                for row in rows {
                    Self.appendCopyRow(row, to: &buffer)
                    if buffer.readableBytes >= 1 << 16 {
                        try await writer.write(buffer)
                        buffer.clear()
                    }
                }
                if buffer.readableBytes > 0 { try await writer.write(buffer) }
            }
        }
    }

    /// One row in COPY's text format: tab-separated, `\N` for null, backslash escapes in text.
    static func appendCopyRow(_ row: [SQLValue], to buffer: inout ByteBuffer) {
        for (index, value) in row.enumerated() {
            if index > 0 { buffer.writeInteger(UInt8(ascii: "\t")) }
            switch value {
            case .null: buffer.writeStaticString("\\N")
            case .integer(let i): buffer.writeString(String(i))
            case .double(let d):
                if d.isNaN {
                    buffer.writeStaticString("NaN")
                } else if d.isInfinite {
                    buffer.writeStaticString(d < 0 ? "-Infinity" : "Infinity")
                } else {
                    buffer.writeString(String(d))
                }
            case .boolean(let b): buffer.writeStaticString(b ? "t" : "f")
            case .timestamp(let date): buffer.writeString(SQLTimestamp.format(date, suffix: "+00"))
            case .text(let s): appendEscaped(s, to: &buffer)
            }
        }
        buffer.writeInteger(UInt8(ascii: "\n"))
    }

    static func appendEscaped(_ text: String, to buffer: inout ByteBuffer) {
        let utf8 = text.utf8
        let needsEscape = utf8.contains { $0 == 92 || $0 < 32 }
        guard needsEscape else {
            buffer.writeString(text)
            return
        }
        for byte in utf8 {
            switch byte {
            case 92: buffer.writeStaticString("\\\\")
            case 10: buffer.writeStaticString("\\n")
            case 13: buffer.writeStaticString("\\r")
            case 9: buffer.writeStaticString("\\t")
            case 0..<32:
                buffer.writeStaticString(byte < 16 ? "\\x0" : "\\x")
                buffer.writeString(String(byte, radix: 16))
            default: buffer.writeInteger(byte)
            }
        }
    }
}
