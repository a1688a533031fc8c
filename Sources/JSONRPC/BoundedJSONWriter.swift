import JSONValue

/// JSON text written into a byte array that may not grow past a limit: a value that would not fit is left out
/// whole, and the text of a value that does not fit is never built in full.
///
/// The text is the same as `JSON.serializedBytes` gives (keys in order); scalars are written by that serializer.
/// A string is measured before it is written, but escaping may make it up to six times longer, so a string of
/// control characters can pass the limit by that much before it is taken back out.
struct BoundedJSONWriter {
    private(set) var bytes: [UInt8] = []
    let limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    /// Appends `value`; false, with nothing appended, when it would take the text past the limit.
    mutating func append(_ value: JSON) -> Bool {
        let mark = bytes.count
        if write(value) { return true }
        bytes.removeSubrange(mark...)
        return false
    }

    /// Appends `value` whatever its size (for the small error entries that replace what did not fit).
    mutating func appendRegardless(_ value: JSON) {
        value.write(to: &bytes)
    }

    /// Appends one byte of punctuation (`[`, `,`, `]`), which always goes in.
    mutating func append(byte: UInt8) {
        bytes.append(byte)
    }

    private mutating func write(_ value: JSON) -> Bool {
        switch value {
        case .array(let elements):
            bytes.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                guard write(element) else { return false }
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let members):
            bytes.append(UInt8(ascii: "{"))
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                guard write(.string(key)) else { return false }
                bytes.append(UInt8(ascii: ":"))
                guard write(members[key]!) else { return false }
            }
            bytes.append(UInt8(ascii: "}"))
        case .string(let text):
            guard bytes.count + text.utf8.count + 2 <= limit else { return false }
            value.write(to: &bytes)
        default:
            value.write(to: &bytes)
        }
        return bytes.count <= limit
    }
}
