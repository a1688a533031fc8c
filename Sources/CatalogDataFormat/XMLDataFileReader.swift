import CLibXML2
import CatalogSchema
import Foundation

/// Reads an icatdata XML file with libxml2's streaming text reader, one top-level object at a time: memory holds
/// the object being read, never the whole document.
///
/// Parsing is strict: malformed XML, a document type declaration, entity references other than the predefined
/// ones and character references, and structure the entity model does not allow are errors with a line number.
/// The network is never used and no DTD is loaded. An object may have at most `limits.objectsPerLevel` children.
public final class XMLDataFileReader: DataFileReader {
    /// The file's `<head>`, nil if it has none. Available as soon as the reader is made (the head precedes the
    /// data).
    public private(set) var head: DataFileHead?

    private let model: EntityModel
    private let limits: DataFileLimits
    private let reader: xmlTextReaderPtr
    /// The document for `.text` sources: libxml2 reads it in place while the reader lives.
    private let buffer: UnsafeMutableBufferPointer<CChar>?
    private let errors = ParserErrors()
    private var state = State.inRoot

    private enum State {
        case inRoot
        case inData
        case finished
    }

    public init(
        _ source: DataFileSource,
        model: EntityModel = .icat,
        limits: DataFileLimits = .standard
    ) throws(DataFileError) {
        self.model = model
        self.limits = limits
        let options = Int32(
            bitPattern: XML_PARSE_NONET.rawValue | XML_PARSE_BIG_LINES.rawValue | XML_PARSE_NOCDATA.rawValue
        )
        switch source {
        case .file(let path):
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw DataFileError("cannot read \(path)", line: nil)
            }
            guard let reader = xmlReaderForFile(path, nil, options) else {
                throw DataFileError("cannot open \(path) for reading", line: nil)
            }
            self.reader = reader
            self.buffer = nil
        case .text(let text):
            let utf8 = Array(text.utf8)
            let buffer = UnsafeMutableBufferPointer<CChar>.allocate(capacity: max(utf8.count, 1))
            for (index, byte) in utf8.enumerated() {
                buffer[index] = CChar(bitPattern: byte)
            }
            guard let reader = xmlReaderForMemory(buffer.baseAddress, Int32(utf8.count), nil, "UTF-8", options)
            else {
                buffer.deallocate()
                throw DataFileError("cannot parse the XML text", line: nil)
            }
            self.reader = reader
            self.buffer = buffer
        }
        xmlTextReaderSetStructuredErrorHandler(
            reader,
            { context, error in
                guard let context, let error else { return }
                Unmanaged<ParserErrors>.fromOpaque(context).takeUnretainedValue().record(error.pointee)
            },
            Unmanaged.passUnretained(errors).toOpaque()
        )
        try readRoot()
    }

    deinit {
        xmlFreeTextReader(reader)
        buffer?.deallocate()
    }

    public func next() throws(DataFileError) -> DataFileObject? {
        while true {
            switch state {
            case .finished:
                return nil
            case .inRoot:
                try advanceInRoot()
            case .inData:
                guard try read() else { throw unexpectedEnd() }
                switch nodeType {
                case NodeType.element:
                    return try readTopLevelObject()
                case NodeType.endElement:
                    state = .inRoot
                default:
                    try skipNonElement(in: "data")
                }
            }
        }
    }

    // MARK: The document's skeleton

    private func readRoot() throws(DataFileError) {
        while try read() {
            switch nodeType {
            case NodeType.element:
                guard name == "icatdata" else {
                    throw DataFileError("the root element must be <icatdata>, not <\(name)>", line: nodeLine)
                }
                if isEmptyElement {
                    try readToEnd()
                    return
                }
                try advanceInRoot()
                return
            default:
                try skipNonElement(in: nil)
            }
        }
        throw unexpectedEnd()
    }

    /// Reads `<icatdata>`'s children up to the next non-empty `<data>` or the end of the document.
    private func advanceInRoot() throws(DataFileError) {
        while try read() {
            switch nodeType {
            case NodeType.element:
                switch name {
                case "head":
                    try readHead()
                case "data":
                    if try !readAttributes().isEmpty {
                        throw DataFileError("<data> takes no attributes", line: nodeLine)
                    }
                    if !isEmptyElement {
                        state = .inData
                        return
                    }
                default:
                    throw DataFileError(
                        "unexpected element <\(name)> in <icatdata>; expected <head> or <data>",
                        line: nodeLine
                    )
                }
            case NodeType.endElement:
                try readToEnd()
                return
            default:
                try skipNonElement(in: "icatdata")
            }
        }
        throw unexpectedEnd()
    }

    /// Reads what follows the root element, so that garbage after it is an error.
    private func readToEnd() throws(DataFileError) {
        while try read() {
            try skipNonElement(in: nil)
        }
        state = .finished
    }

    private func readHead() throws(DataFileError) {
        var values: [String: String] = [:]
        if !isEmptyElement {
            loop: while try read() {
                switch nodeType {
                case NodeType.element:
                    let element = name
                    values[element] = try readText(of: "<head><\(element)>")
                case NodeType.endElement:
                    break loop
                default:
                    try skipNonElement(in: "head")
                }
            }
        }
        head = DataFileHead(
            date: values["date"] ?? "",
            apiVersion: values["apiversion"] ?? "",
            generator: values["generator"] ?? ""
        )
    }

    // MARK: Objects

    private func readTopLevelObject() throws(DataFileError) -> DataFileObject {
        let elementName = name
        let line = nodeLine
        var attributes = try readAttributes()
        let label = attributes.first { $0.name == "id" }?.value
        attributes.removeAll { $0.name == "id" }
        if let entity = model.dataFileEntity(named: elementName) {
            if let extra = attributes.first {
                throw DataFileError("<\(elementName)> has an unexpected attribute '\(extra.name)'", line: line)
            }
            return try readObject(entity, label: label, element: elementName, line: line)
        }
        if elementName.hasSuffix("Ref"), let entity = model.dataFileEntity(named: String(elementName.dropLast(3))) {
            let lookup = try reference(from: attributes, to: entity, element: elementName, line: line)
            try expectEmpty(elementName)
            return DataFileObject(entity: entity, label: label, lookup: lookup, line: line)
        }
        throw model.unknownEntityError(elementName, line: line)
    }

    /// Reads the fields of the object whose start tag the reader is on.
    private func readObject(
        _ entity: EntityDefinition,
        label: String?,
        element: String,
        line: Int
    ) throws(DataFileError) -> DataFileObject {
        var object = DataFileObject(entity: entity, label: label, line: line)
        if isEmptyElement { return object }
        var children = 0
        while try read() {
            switch nodeType {
            case NodeType.element:
                let fieldName = name
                let fieldLine = nodeLine
                let attributes = try readAttributes()
                switch try model.dataFileRole(of: fieldName, in: entity, line: fieldLine) {
                case .attribute:
                    if let extra = attributes.first {
                        throw DataFileError(
                            "<\(fieldName)> of \(entity.name) has an unexpected attribute '\(extra.name)'",
                            line: fieldLine
                        )
                    }
                    object.fields.append((fieldName, .text(try readText(of: "\(entity.name).\(fieldName)"))))
                case .reference(let target):
                    let value = try reference(from: attributes, to: target, element: fieldName, line: fieldLine)
                    try expectEmpty(fieldName)
                    object.fields.append((fieldName, .reference(value)))
                case .children(let target):
                    if let extra = attributes.first {
                        throw DataFileError(
                            "<\(fieldName)> of \(entity.name) has an unexpected attribute '\(extra.name)'",
                            line: fieldLine
                        )
                    }
                    children += 1
                    if children > limits.objectsPerLevel {
                        throw limits.tooMany(
                            "<\(element)> at line \(line) has",
                            advice: "write its children as objects of their own that refer to it",
                            line: fieldLine
                        )
                    }
                    let child = try readObject(target, label: nil, element: fieldName, line: fieldLine)
                    object.fields.append((fieldName, .child(child)))
                }
            case NodeType.endElement:
                return object
            default:
                try skipNonElement(in: element)
            }
        }
        throw unexpectedEnd()
    }

    private func reference(
        from attributes: [(name: String, value: String)],
        to target: EntityDefinition,
        element: String,
        line: Int
    ) throws(DataFileError) -> DataFileReference {
        if let ref = attributes.first(where: { $0.name == "ref" }) {
            if attributes.count > 1 {
                throw DataFileError("<\(element)> has both a ref attribute and key attributes", line: line)
            }
            return .label(ref.value)
        }
        if attributes.isEmpty {
            throw DataFileError(
                "<\(element)> is a reference to \(target.name) but has neither a ref attribute nor key attributes",
                line: line
            )
        }
        let key = attributes.map { DataFileReference.KeyAttribute(name: $0.name, value: $0.value) }
        try model.checkKeyReference(key, to: target, line: line)
        return .key(key)
    }

    // MARK: Elements

    /// The text content of the element whose start tag the reader is on, which must not contain elements.
    private func readText(of what: String) throws(DataFileError) -> String {
        if isEmptyElement { return "" }
        var text = ""
        while try read() {
            switch nodeType {
            case NodeType.text, NodeType.cdata, NodeType.whitespace, NodeType.significantWhitespace:
                text += value
            case NodeType.comment, NodeType.processingInstruction:
                continue
            case NodeType.element:
                throw DataFileError("\(what) holds a value, not the element <\(name)>", line: nodeLine)
            case NodeType.endElement:
                return text
            case NodeType.entityReference:
                throw entityReferenceError()
            default:
                throw DataFileError("unexpected XML content in \(what)", line: nodeLine)
            }
        }
        throw unexpectedEnd()
    }

    /// Reads to the end tag of the element whose start tag the reader is on, allowing only whitespace and comments.
    private func expectEmpty(_ element: String) throws(DataFileError) {
        if isEmptyElement { return }
        while try read() {
            switch nodeType {
            case NodeType.endElement:
                return
            case NodeType.whitespace, NodeType.significantWhitespace, NodeType.comment:
                continue
            default:
                throw DataFileError("<\(element)> is a reference and must be empty", line: nodeLine)
            }
        }
        throw unexpectedEnd()
    }

    /// Skips whitespace, comments and processing instructions; anything else is an error where elements belong.
    private func skipNonElement(in parent: String?) throws(DataFileError) {
        switch nodeType {
        case NodeType.whitespace, NodeType.significantWhitespace, NodeType.comment, NodeType.processingInstruction:
            return
        case NodeType.text, NodeType.cdata:
            let place = parent.map { " in <\($0)>" } ?? ""
            let text = value
            // libxml2 gives a text node the line where its first piece ends: count back from there.
            let trailingLines = text.drop { $0.isWhitespace }.filter { $0 == "\n" }.count
            throw DataFileError(
                "unexpected text '\(excerpt(text))'\(place) where elements belong",
                line: max(1, nodeLine - trailingLines)
            )
        case NodeType.entityReference:
            throw entityReferenceError()
        case NodeType.documentType:
            // libxml2 keeps no line for the declaration, and the parser has read beyond it by now.
            throw DataFileError("a data file must not have a document type declaration (<!DOCTYPE ...>)", line: nil)
        default:
            throw DataFileError("unexpected XML content", line: nodeLine)
        }
    }

    /// The attributes of the element the reader is on, in document order, without namespace declarations.
    private func readAttributes() throws(DataFileError) -> [(name: String, value: String)] {
        var attributes: [(name: String, value: String)] = []
        guard xmlTextReaderMoveToFirstAttribute(reader) == 1 else { return attributes }
        repeat {
            let attribute = name
            if attribute != "xmlns" && !attribute.hasPrefix("xmlns:") {
                attributes.append((attribute, value))
            }
        } while xmlTextReaderMoveToNextAttribute(reader) == 1
        xmlTextReaderMoveToElement(reader)
        if let error = errors.first { throw error }
        return attributes
    }

    // MARK: libxml2

    /// Advances to the next node; false at the end of the document.
    private func read() throws(DataFileError) -> Bool {
        let result = xmlTextReaderRead(reader)
        if let error = errors.first { throw error }
        if result < 0 {
            throw DataFileError("malformed XML", line: Int(xmlTextReaderGetParserLineNumber(reader)))
        }
        return result == 1
    }

    private var nodeType: Int32 { xmlTextReaderNodeType(reader) }

    private var isEmptyElement: Bool { xmlTextReaderIsEmptyElement(reader) == 1 }

    private var name: String {
        xmlTextReaderConstName(reader).map { String(cString: $0) } ?? ""
    }

    private var value: String {
        xmlTextReaderConstValue(reader).map { String(cString: $0) } ?? ""
    }

    /// The line of the current node (its start tag for elements).
    private var nodeLine: Int {
        if let node = xmlTextReaderCurrentNode(reader) {
            let line = xmlGetLineNo(node)
            if line > 0 { return line }
        }
        return Int(xmlTextReaderGetParserLineNumber(reader))
    }

    private func unexpectedEnd() -> DataFileError {
        DataFileError("the XML document ends too early", line: Int(xmlTextReaderGetParserLineNumber(reader)))
    }

    private func entityReferenceError() -> DataFileError {
        DataFileError(
            "the entity reference &\(name); is not allowed (only &amp; &lt; &gt; &quot; &apos; and character "
                + "references are)",
            line: nodeLine
        )
    }

    private func excerpt(_ text: String) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.count > 40 ? trimmed.prefix(40) + "…" : trimmed
    }
}

private enum NodeType {
    static let element = Int32(XML_READER_TYPE_ELEMENT.rawValue)
    static let text = Int32(XML_READER_TYPE_TEXT.rawValue)
    static let cdata = Int32(XML_READER_TYPE_CDATA.rawValue)
    static let entityReference = Int32(XML_READER_TYPE_ENTITY_REFERENCE.rawValue)
    static let processingInstruction = Int32(XML_READER_TYPE_PROCESSING_INSTRUCTION.rawValue)
    static let comment = Int32(XML_READER_TYPE_COMMENT.rawValue)
    static let documentType = Int32(XML_READER_TYPE_DOCUMENT_TYPE.rawValue)
    static let whitespace = Int32(XML_READER_TYPE_WHITESPACE.rawValue)
    static let significantWhitespace = Int32(XML_READER_TYPE_SIGNIFICANT_WHITESPACE.rawValue)
    static let endElement = Int32(XML_READER_TYPE_END_ELEMENT.rawValue)
}

/// The first error libxml2 reports while parsing (warnings are ignored).
private final class ParserErrors {
    var first: DataFileError?

    func record(_ error: xmlError) {
        guard first == nil, error.level.rawValue >= XML_ERR_ERROR.rawValue else { return }
        let message =
            error.message.map { String(cString: $0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? "unknown error"
        first = DataFileError("malformed XML: \(message)", line: error.line > 0 ? Int(error.line) : nil)
    }
}
