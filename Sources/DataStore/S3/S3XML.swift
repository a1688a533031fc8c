/// The little of S3's XML answers the store reads, without an XML parser: the text of an element found by its tag
/// (the answers are small, and flat where they are read).
enum S3XML {
    /// The text of the first `<tag>…</tag>`, its entities replaced.
    static func value(_ tag: String, in text: String) -> String? {
        elements(tag, in: text, limit: 1).first
    }

    /// What each `<tag>…</tag>` holds, in order, entities replaced.
    static func elements(_ tag: String, in text: String, limit: Int = .max) -> [String] {
        var found: [String] = []
        var rest = text[...]
        while found.count < limit, let open = rest.range(of: "<\(tag)>"),
            let close = rest[open.upperBound...].range(of: "</\(tag)>")
        {
            found.append(unescape(rest[open.upperBound..<close.lowerBound]))
            rest = rest[close.upperBound...]
        }
        return found
    }

    /// `text` as XML character data.
    static func escape(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&apos;"
            default: escaped.append(character)
            }
        }
        return escaped
    }

    /// XML character data as text: the five named entities and numeric references replaced.
    static func unescape(_ text: Substring) -> String {
        guard text.contains("&") else { return String(text) }
        var result = ""
        var rest = text
        while let ampersand = rest.firstIndex(of: "&") {
            result += rest[..<ampersand]
            guard let semicolon = rest[ampersand...].firstIndex(of: ";") else { break }
            let name = rest[rest.index(after: ampersand)..<semicolon]
            let named = ["amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'"][String(name)]
            let number: UInt32? =
                name.hasPrefix("#x")
                ? UInt32(name.dropFirst(2), radix: 16)
                : name.hasPrefix("#") ? UInt32(name.dropFirst(), radix: 10) : nil
            if let named {
                result += named
            } else if let scalar = number.flatMap(Unicode.Scalar.init) {
                result.unicodeScalars.append(scalar)
            } else {
                result += rest[ampersand...semicolon]
            }
            rest = rest[rest.index(after: semicolon)...]
        }
        return result + rest
    }
}
