/// Counts the requests of a batch in its raw bytes, so that an oversized batch is refused before it is parsed:
/// a body of `[1,1,…]` would otherwise cost about eight bytes of memory for each of its bytes.
enum BatchSize {
    /// The number of top-level elements when `body` is a JSON array, counted up to `limit + 1`; nil when the body
    /// does not start with `[`. A malformed body is counted as far as it goes; the parser reports it later.
    static func count(_ body: [UInt8], upTo limit: Int) -> Int? {
        var index = 0
        while index < body.count, isWhitespace(body[index]) { index += 1 }
        guard index < body.count, body[index] == UInt8(ascii: "[") else { return nil }
        index += 1
        var depth = 1
        var count = 0
        var elementStarted = false
        var inString = false
        var escaped = false
        while index < body.count, depth > 0, count <= limit {
            let byte = body[index]
            index += 1
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                depth -= 1
            case UInt8(ascii: ",") where depth == 1:
                elementStarted = false
                continue
            default:
                if isWhitespace(byte) { continue }
            }
            if depth >= 1, !elementStarted {
                elementStarted = true
                count += 1
            }
        }
        return count
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }
}
