import CatalogSchema

/// Writes an icatdata file piece by piece: each method returns the text to append, so the caller can stream it to
/// a file, a socket or a string.
///
/// A file is `start`, then chunks (`startChunk`, any number of `write`, `endChunk`), then `finish`. The readers
/// read the output back to equal objects, with these exceptions that the formats impose:
/// - XML has no null: `.null` fields are left out, which an importer treats the same.
/// - YAML cannot name existing objects: a lookup object becomes a comment. Within a chunk the caller must write
///   the objects of one entity consecutively, and all children of one relation are written as one list at the
///   place of the first.
/// - Control characters that XML 1.0 cannot hold (all below U+0020 except tab, newline and carriage return) are
///   written as U+FFFD in XML.
public struct DataFileWriter: Sendable {
    public let format: DataFileFormat
    private var currentEntity: String?
    private var unlabelled = 0

    public init(format: DataFileFormat) {
        self.format = format
    }

    /// The file's beginning: the XML declaration, `<icatdata>` and `<head>`, or the YAML directive and comments.
    public mutating func start(_ head: DataFileHead) -> String {
        switch format {
        case .xml:
            """
            <?xml version="1.0" encoding="utf-8"?>
            <icatdata>
            <head>
              <date>\(XMLText.content(head.date))</date>
              <apiversion>\(XMLText.content(head.apiVersion))</apiversion>
              <generator>\(XMLText.content(head.generator))</generator>
            </head>

            """
        case .yaml:
            """
            %YAML 1.1
            # Date: \(YAMLText.commentLine(head.date))
            # ICAT-API: \(YAMLText.commentLine(head.apiVersion))
            # Generator: \(YAMLText.commentLine(head.generator))

            """
        }
    }

    public mutating func startChunk() -> String {
        currentEntity = nil
        switch format {
        case .xml: return "<data>\n"
        case .yaml: return "---\n"
        }
    }

    /// One top-level object. In YAML an object without a label gets a generated one, `_1`, `_2`, ….
    public mutating func write(_ object: DataFileObject) -> String {
        switch format {
        case .xml:
            var output = ""
            writeXML(object, element: nil, indent: 2, to: &output)
            return output
        case .yaml:
            return writeYAML(object)
        }
    }

    public mutating func endChunk() -> String {
        currentEntity = nil
        switch format {
        case .xml: return "</data>\n"
        case .yaml: return ""
        }
    }

    public mutating func finish() -> String {
        switch format {
        case .xml: return "</icatdata>\n"
        case .yaml: return ""
        }
    }

    // MARK: XML

    private func writeXML(_ object: DataFileObject, element: String?, indent: Int, to output: inout String) {
        let pad = String(repeating: " ", count: indent)
        let name = element ?? EntityModel.dataFileName(of: object.entity.name)
        let label = element == nil ? object.label.map { " id=\"\(XMLText.attribute($0))\"" } ?? "" : ""
        if let lookup = object.lookup, element == nil {
            output += "\(pad)<\(name)Ref\(label)\(XMLText.referenceAttributes(lookup))/>\n"
            return
        }
        let fields = object.fields.filter {
            if case .null = $0.value { return false }
            return true
        }
        if fields.isEmpty {
            output += "\(pad)<\(name)\(label)/>\n"
            return
        }
        output += "\(pad)<\(name)\(label)>\n"
        for (field, value) in fields {
            switch value {
            case .text(let text):
                output +=
                    text.isEmpty ? "\(pad)  <\(field)/>\n" : "\(pad)  <\(field)>\(XMLText.content(text))</\(field)>\n"
            case .null:
                break
            case .reference(let reference):
                output += "\(pad)  <\(field)\(XMLText.referenceAttributes(reference))/>\n"
            case .child(let child):
                writeXML(child, element: field, indent: indent + 2, to: &output)
            }
        }
        output += "\(pad)</\(name)>\n"
    }

    // MARK: YAML

    private mutating func writeYAML(_ object: DataFileObject) -> String {
        var output = ""
        let entityName = EntityModel.dataFileName(of: object.entity.name)
        if currentEntity != entityName {
            output += "\(entityName):\n"
            currentEntity = entityName
        }
        let label: String
        if let given = object.label {
            label = given
        } else {
            unlabelled += 1
            label = "_\(unlabelled)"
        }
        if let lookup = object.lookup {
            let target: String
            switch lookup {
            case .label(let name): target = name
            case .key(let attributes): target = attributes.map { "\($0.name)=\($0.value)" }.joined(separator: " ")
            }
            return output + "  # \(YAMLText.commentLine("\(label): existing \(object.entity.name) \(target)"))\n"
        }
        let key = YAMLText.key(label)
        // YAML limits implicit keys to 1024 characters; longer ones need the explicit `? key` / `: value` form.
        let explicit = key.utf8.count > 1000
        if object.fields.isEmpty {
            return output + (explicit ? "  ? \(key)\n  : {}\n" : "  \(key): {}\n")
        }
        output += explicit ? "  ? \(key)\n" : "  \(key):\n"
        writeYAMLFields(object, indent: 4, firstPrefix: explicit ? "  : " : nil, to: &output)
        return output
    }

    /// Writes the fields of `object` as a block mapping at `indent`; `firstPrefix` replaces the indentation of the
    /// first line (for `- ` of a list item).
    private func writeYAMLFields(
        _ object: DataFileObject,
        indent: Int,
        firstPrefix: String?,
        to output: inout String
    ) {
        let pad = String(repeating: " ", count: indent)
        var prefix = firstPrefix ?? pad
        var written = Set<String>()
        for (index, (field, value)) in object.fields.enumerated() {
            if case .child = value {
                if written.contains(field) { continue }
                written.insert(field)
                output += "\(prefix)\(field):\n"
                prefix = pad
                for case (field, .child(let child)) in object.fields[index...] {
                    if child.fields.isEmpty {
                        output += "\(pad)- {}\n"
                    } else {
                        writeYAMLFields(child, indent: indent + 2, firstPrefix: pad + "- ", to: &output)
                    }
                }
                continue
            }
            let type = object.entity.field(named: field)?.attributeType
            output += "\(prefix)\(field): \(YAMLText.value(value, type: type))\n"
            prefix = pad
        }
    }
}

/// XML escaping.
enum XMLText {
    static func content(_ text: String) -> String {
        escape(text, attribute: false)
    }

    static func attribute(_ text: String) -> String {
        escape(text, attribute: true)
    }

    static func referenceAttributes(_ reference: DataFileReference) -> String {
        switch reference {
        case .label(let label):
            return " ref=\"\(attribute(label))\""
        case .key(let attributes):
            return attributes.map { " \($0.name)=\"\(attribute($0.value))\"" }.joined()
        }
    }

    private static func escape(_ text: String, attribute: Bool) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"" where attribute: result += "&quot;"
            case "\r": result += "&#13;"
            case "\t" where attribute: result += "&#9;"
            case "\n" where attribute: result += "&#10;"
            case "\t", "\n": result.unicodeScalars.append(scalar)
            case _ where scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF:
                result += "\u{FFFD}"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}

/// YAML scalars: plain where no YAML reader could take them for something else, double-quoted otherwise.
enum YAMLText {
    /// A field's value. Strings and dates are always quoted, so that no YAML reader converts them.
    static func value(_ value: DataFileValue, type: AttributeType?) -> String {
        switch value {
        case .null:
            return "null"
        case .text(let text):
            switch type {
            case .string, .date, nil: return quoted(text)
            case .integer, .long, .double, .boolean: return isPlainNumberOrBoolean(text) ? text : quoted(text)
            case .enumeration: return isPlainSafe(text) ? text : quoted(text)
            }
        case .reference(.label(let label)):
            return key(label)
        case .reference(.key(let attributes)):
            return "{" + attributes.map { "\(key($0.name)): \(quoted($0.value))" }.joined(separator: ", ") + "}"
        case .child:
            return "{}"
        }
    }

    /// A label or other mapping key: plain if safe.
    static func key(_ text: String) -> String {
        isPlainSafe(text) ? text : quoted(text)
    }

    static func commentLine(_ text: String) -> String {
        String(text.map { $0.isNewline ? " " : $0 })
    }

    static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            case "\u{85}": result += "\\N"
            case "\u{2028}": result += "\\L"
            case "\u{2029}": result += "\\P"
            case "\u{FEFF}": result += "\\uFEFF"
            case _ where scalar.value < 0x20 || (scalar.value >= 0x7F && scalar.value < 0xA0):
                result += "\\x" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16, uppercase: true)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    private static let reserved: Set<String> = [
        "", "~", "null", "true", "false", "yes", "no", "on", "off", "y", "n",
    ]

    /// Whether `text` can be written plain as a numeric or boolean value: `12`, `-1.5e3`, `true`.
    static func isPlainNumberOrBoolean(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, !["null", "Null", "NULL"].contains(text) else { return false }
        if first == "-" && text.unicodeScalars.count == 1 { return false }
        return text.unicodeScalars.allSatisfy {
            ("0"..."9").contains($0) || ("a"..."z").contains($0) || ("A"..."Z").contains($0)
                || "+-.".unicodeScalars.contains($0)
        }
    }

    /// Whether `text` reads back as the same string when written plain, in flow and block context alike, and no
    /// YAML 1.1 reader would take it for a null, boolean, number, date or something else than a string.
    static func isPlainSafe(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, let last = text.unicodeScalars.last else { return false }
        if reserved.contains(text.lowercased()) { return false }
        if first == " " || last == " " || last == ":" { return false }
        if "-?:,[]{}#&*!|>'\"%@`=.+0123456789".unicodeScalars.contains(first) { return false }
        if text.contains(": ") || text.contains(" #") { return false }
        for scalar in text.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F || scalar.value > 0x7E { return false }
            if ",[]{}".unicodeScalars.contains(scalar) { return false }
        }
        return true
    }
}
