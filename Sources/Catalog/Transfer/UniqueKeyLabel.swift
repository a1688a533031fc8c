import CatalogSQL
import CatalogSchema
import CatalogStore

/// python-icat's unique-key labels, e.g. `Dataset_investigation-(facility-(name-ESNF)_name-08100122=2DEF_visitId-1)_name-e201215`:
/// the entity name, then each field of the entity's first unique key as `field-value`, joined by `_`. Values are
/// quoted quoted-printable style (every byte other than a letter or digit as `=XX`); a relation's value is the
/// referenced object's own key without its entity name, in parentheses.
///
/// Because such a label says what the object is, a data file can refer to objects already in the catalog by it,
/// and labels written by an export stay the same when the data moves to another catalog.
enum UniqueKeyLabel {
    /// The value of one `field-value` pair of a label.
    indirect enum Part {
        case value(String)
        /// A relation's value: the referenced object's own key parts.
        case nested([(String, Part)])
    }

    /// The entity name and key parts of a label; nil when it is not of this form.
    static func parse(_ label: String) -> (entity: String, parts: [(String, Part)])? {
        guard let underscore = label.firstIndex(of: "_") else { return nil }
        let entity = String(label[..<underscore])
        guard !entity.isEmpty, let parts = parseParts(label[label.index(after: underscore)...]) else { return nil }
        return (entity, parts)
    }

    private static func parseParts(_ text: Substring) -> [(String, Part)]? {
        var parts: [(String, Part)] = []
        var rest = text
        while !rest.isEmpty {
            guard let hyphen = rest.firstIndex(of: "-") else { return nil }
            let name = String(rest[..<hyphen])
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter }) else { return nil }
            rest = rest[rest.index(after: hyphen)...]
            if rest.first == "(" {
                var depth = 0
                var end: Substring.Index?
                for index in rest.indices {
                    if rest[index] == "(" { depth += 1 }
                    if rest[index] == ")" {
                        depth -= 1
                        if depth == 0 {
                            end = index
                            break
                        }
                    }
                }
                guard let end, let inner = parseParts(rest[rest.index(after: rest.startIndex)..<end]) else {
                    return nil
                }
                parts.append((name, .nested(inner)))
                rest = rest[rest.index(after: end)...]
            } else {
                let end = rest.firstIndex(of: "_") ?? rest.endIndex
                guard let value = unquote(rest[..<end]) else { return nil }
                parts.append((name, .value(value)))
                rest = rest[end...]
            }
            if rest.first == "_" {
                rest = rest.dropFirst()
                if rest.isEmpty { return nil }
            } else if !rest.isEmpty {
                return nil
            }
        }
        return parts
    }

    static func quote(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        let hex = Array("0123456789ABCDEF")
        for byte in text.utf8 {
            switch byte {
            case 48...57, 65...90, 97...122: out.append(Character(Unicode.Scalar(byte)))
            default:
                out.append("=")
                out.append(hex[Int(byte / 16)])
                out.append(hex[Int(byte % 16)])
            }
        }
        return out
    }

    static func unquote(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "=") {
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                    return nil
                }
                bytes.append(high * 16 + low)
            } else {
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 48...57: byte - 48
        case 65...70: byte - 55
        case 97...102: byte - 87
        default: nil
        }
    }
}
