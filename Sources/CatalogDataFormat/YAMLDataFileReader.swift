import CYaml
import CatalogSchema
import Foundation
import Yams

/// Reads an icatdata YAML file one document (`---` chunk) at a time: the file is read in 64 KiB pieces and split
/// at document markers, so memory is bounded by the largest document, not by the file.
///
/// Scalars keep the text the file writes (`1.0`, `2010-10-12T15:00:00+00:00` and `10100601-ST` are not converted);
/// a plain `null`, `~` or empty value is `.null`. Within a document, objects are yielded in dependency order:
/// every object comes after the objects of the same document it refers to (by label, from its own fields or its
/// children's), otherwise in document order. Line numbers are lines of the whole file.
///
/// Beyond python-icat's format, a many-to-one field may be a mapping of key attributes (`{name: x, visitId: y}`),
/// the YAML form of `DataFileReference.key`. Aliases (`*name`) are refused, and a document may hold at most
/// `limits.objectsPerLevel` top-level objects, an object as many children (see `DataFileLimits`).
public final class YAMLDataFileReader: DataFileReader {
    /// The `# Date:`, `# ICAT-API:` and `# Generator:` comments before the first document; nil if there are none.
    public private(set) var head: DataFileHead?

    private let model: EntityModel
    private let limits: DataFileLimits
    private let lines: LineSource
    /// A document start line read while looking for the end of the previous document.
    private var pendingStart: (text: String, number: Int)?
    private var started = false
    private var ready: [DataFileObject] = []
    private var readyIndex = 0

    public init(
        _ source: DataFileSource,
        model: EntityModel = .icat,
        limits: DataFileLimits = .standard
    ) throws(DataFileError) {
        self.model = model
        self.limits = limits
        self.lines = try LineSource(source)
        try readHeader()
    }

    public func next() throws(DataFileError) -> DataFileObject? {
        while readyIndex == ready.count {
            guard let document = try nextDocument() else { return nil }
            ready = try objects(of: document.text, firstLine: document.firstLine)
            readyIndex = 0
        }
        defer { readyIndex += 1 }
        return ready[readyIndex]
    }

    // MARK: Documents

    /// Reads comments and directives up to the first document.
    private func readHeader() throws(DataFileError) {
        var values: [String: String] = [:]
        while let line = try lines.next() {
            if line.text.hasPrefix("#") {
                let comment = line.text.dropFirst().trimmingCharacters(in: .whitespaces)
                for key in ["Date", "ICAT-API", "Generator"] where comment.hasPrefix(key + ":") {
                    values[key] = comment.dropFirst(key.count + 1).trimmingCharacters(in: .whitespaces)
                }
            } else if !isBlank(line.text) && !line.text.hasPrefix("%") && !isDocumentEnd(line.text) {
                pendingStart = line
                break
            }
        }
        if !values.isEmpty {
            head = DataFileHead(
                date: values["Date"] ?? "",
                apiVersion: values["ICAT-API"] ?? "",
                generator: values["Generator"] ?? ""
            )
        }
    }

    /// The next document's text, starting with its `---` line (if it has one).
    private func nextDocument() throws(DataFileError) -> (text: String, firstLine: Int)? {
        var start = pendingStart
        pendingStart = nil
        if start == nil {
            // After a `...` line: skip comments and directives up to the next document.
            while let line = try lines.next() {
                if !isBlank(line.text) && !line.text.hasPrefix("#") && !line.text.hasPrefix("%")
                    && !isDocumentEnd(line.text)
                {
                    start = line
                    break
                }
            }
        }
        guard let start else { return nil }
        var text = start.text + "\n"
        while let line = try lines.next() {
            if isDocumentStart(line.text) {
                pendingStart = line
                break
            }
            if isDocumentEnd(line.text) { break }
            text += line.text
            text += "\n"
        }
        return (text, start.number)
    }

    private func isDocumentStart(_ line: String) -> Bool {
        line == "---" || line.hasPrefix("--- ") || line.hasPrefix("---\t")
    }

    private func isDocumentEnd(_ line: String) -> Bool {
        line == "..." || line.hasPrefix("... ") || line.hasPrefix("...\t")
    }

    private func isBlank(_ line: String) -> Bool {
        line.allSatisfy { $0 == " " || $0 == "\t" }
    }

    // MARK: Objects

    private func objects(of text: String, firstLine: Int) throws(DataFileError) -> [DataFileObject] {
        if let aliasLine = AliasScan.firstAliasLine(in: text) {
            throw DataFileError(
                "YAML aliases (*name) are not allowed in a data file; write each object out in full",
                line: firstLine - 1 + aliasLine
            )
        }
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw Self.dataFileError(error, firstLine: firstLine)
        } catch {
            throw DataFileError("malformed YAML: \(error)", line: firstLine)
        }
        let document = Document(model: model, limits: limits, firstLine: firstLine)
        guard let root, !Document.isNull(root) else { return [] }
        guard let entities = root.mapping else {
            throw DataFileError(
                "a YAML document must map entity names to objects",
                line: document.line(of: root) ?? firstLine
            )
        }
        var objects: [DataFileObject] = []
        for (entityKey, labels) in entities {
            let entityName = try document.string(entityKey, what: "an entity name")
            guard let entity = model.dataFileEntity(named: entityName) else {
                throw model.unknownEntityError(entityName, line: document.line(of: entityKey))
            }
            if Document.isNull(labels) { continue }
            guard let labels = labels.mapping else {
                throw DataFileError(
                    "'\(entityName)' must map labels to objects",
                    line: document.line(of: labels)
                )
            }
            for (labelKey, body) in labels {
                if objects.count == limits.objectsPerLevel {
                    throw limits.tooMany(
                        "the YAML document starting at line \(firstLine) has",
                        advice: "split it into more documents (---)",
                        line: document.line(of: labelKey)
                    )
                }
                let label = try document.string(labelKey, what: "a label")
                objects.append(
                    try document.object(entity, label: label, body: body, line: document.line(of: labelKey))
                )
            }
        }
        return try DependencyOrder.sorted(objects)
    }

    private static func dataFileError(_ error: YamlError, firstLine: Int) -> DataFileError {
        func line(_ mark: Mark) -> Int { firstLine - 1 + mark.line }
        switch error {
        case .scanner(let context, let problem, let mark, _),
            .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let detail = context.map { " (\($0.text) at line \(line($0.mark)))" } ?? ""
            return DataFileError("malformed YAML: \(problem)\(detail)", line: line(mark))
        case .duplicatedKeysInMapping(let duplicates, let context):
            return DataFileError(
                "a mapping has the key '\(duplicates.joined(separator: "', '"))' more than once",
                line: line(context.mark)
            )
        case .reader(let problem, _, _, _):
            return DataFileError("malformed YAML: \(problem)", line: firstLine)
        default:
            return DataFileError("malformed YAML: \(error)", line: firstLine)
        }
    }
}

/// Turns one document's nodes into objects.
private struct Document {
    let model: EntityModel
    let limits: DataFileLimits
    let firstLine: Int

    func line(of node: Node) -> Int? {
        node.mark.map { firstLine - 1 + $0.line }
    }

    static func isNull(_ node: Node) -> Bool {
        guard let scalar = node.scalar, scalar.style == .plain || scalar.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    func string(_ node: Node, what: String) throws(DataFileError) -> String {
        guard let scalar = node.scalar else {
            throw DataFileError("\(what) must be a plain value", line: line(of: node))
        }
        return scalar.string
    }

    func object(
        _ entity: EntityDefinition,
        label: String?,
        body: Node,
        line objectLine: Int?
    ) throws(DataFileError) -> DataFileObject {
        var object = DataFileObject(entity: entity, label: label, line: objectLine ?? firstLine)
        if Document.isNull(body) { return object }
        guard let fields = body.mapping else {
            throw DataFileError("a \(entity.name) must be a mapping of field names to values", line: line(of: body))
        }
        var children = 0
        for (key, value) in fields {
            let name = try string(key, what: "a field name")
            let fieldLine = line(of: key)
            switch try model.dataFileRole(of: name, in: entity, line: fieldLine) {
            case .attribute:
                guard let scalar = value.scalar else {
                    throw DataFileError("\(entity.name).\(name) must be a single value", line: line(of: value))
                }
                object.fields.append((name, Document.isNull(value) ? .null : .text(scalar.string)))
            case .reference(let target):
                object.fields.append((name, try reference(value, to: target, field: "\(entity.name).\(name)")))
            case .children(let target):
                if Document.isNull(value) { continue }
                guard let items = value.sequence else {
                    throw DataFileError(
                        "\(entity.name).\(name) must be a list of \(target.name) objects",
                        line: line(of: value)
                    )
                }
                for item in items {
                    children += 1
                    if children > limits.objectsPerLevel {
                        throw limits.tooMany(
                            "the \(entity.name) at line \(objectLine ?? firstLine) has",
                            advice: "write its children as objects of their own that refer to it",
                            line: line(of: item)
                        )
                    }
                    let child = try self.object(target, label: nil, body: item, line: line(of: item))
                    object.fields.append((name, .child(child)))
                }
            }
        }
        return object
    }

    private func reference(
        _ node: Node,
        to target: EntityDefinition,
        field: String
    ) throws(DataFileError) -> DataFileValue {
        if Document.isNull(node) { return .null }
        if let scalar = node.scalar { return .reference(.label(scalar.string)) }
        guard let pairs = node.mapping, !pairs.isEmpty else {
            throw DataFileError(
                "\(field) must be the label of a \(target.name) or a mapping of its key attributes",
                line: line(of: node)
            )
        }
        var key: [DataFileReference.KeyAttribute] = []
        for (name, value) in pairs {
            guard let scalar = value.scalar else {
                throw DataFileError("a key attribute of \(field) must be a single value", line: line(of: value))
            }
            key.append(.init(name: try string(name, what: "a key attribute name"), value: scalar.string))
        }
        try model.checkKeyReference(key, to: target, line: line(of: node))
        return .reference(.key(key))
    }
}

/// Finds aliases (`*name`) in a YAML document before it is composed. An alias repeats a node without repeating its
/// text, so a few kilobytes can stand for a million objects (a "billion laughs"): Yams would expand them while it
/// compares mapping keys, the reader while it builds objects. libyaml's events are read one at a time, so the scan
/// holds nothing; a document without a `*` cannot hold an alias and is not scanned.
enum AliasScan {
    /// The line (1-based, within `text`) of the first alias, nil if there is none. A malformed document is left for
    /// the composer to report.
    static func firstAliasLine(in text: String) -> Int? {
        var text = text
        return text.withUTF8 { bytes -> Int? in
            guard bytes.contains(UInt8(ascii: "*")) else { return nil }
            var parser = yaml_parser_t()
            guard yaml_parser_initialize(&parser) == 1 else { return nil }
            defer { yaml_parser_delete(&parser) }
            yaml_parser_set_input_string(&parser, bytes.baseAddress, bytes.count)
            var event = yaml_event_t()
            while yaml_parser_parse(&parser, &event) == 1 {
                let type = event.type
                let line = Int(event.start_mark.line) + 1
                yaml_event_delete(&event)
                if type == YAML_ALIAS_EVENT { return line }
                if type == YAML_STREAM_END_EVENT { return nil }
            }
            return nil
        }
    }
}

/// Orders one document's objects so that each comes after the objects of the document it refers to; among
/// objects free to go, the earliest in the document goes first.
enum DependencyOrder {
    static func sorted(_ objects: [DataFileObject]) throws(DataFileError) -> [DataFileObject] {
        var index: [String: Int] = [:]
        for (position, object) in objects.enumerated() {
            guard let label = object.label else { continue }
            if let earlier = index[label] {
                throw DataFileError(
                    "the label '\(label)' is defined twice in this document (first at line \(objects[earlier].line))",
                    line: object.line
                )
            }
            index[label] = position
        }
        var dependencies: [[Int]] = []
        var dependents = [[Int]](repeating: [], count: objects.count)
        var waitingFor = [Int](repeating: 0, count: objects.count)
        for (position, object) in objects.enumerated() {
            var labels = Set<String>()
            collectLabels(object, into: &labels)
            let positions = labels.compactMap { index[$0] }.sorted()
            dependencies.append(positions)
            waitingFor[position] = positions.count
            for dependency in positions {
                dependents[dependency].append(position)
            }
        }
        var heap = MinHeap()
        for position in objects.indices where waitingFor[position] == 0 {
            heap.insert(position)
        }
        var order: [DataFileObject] = []
        order.reserveCapacity(objects.count)
        while let position = heap.popMin() {
            order.append(objects[position])
            for dependent in dependents[position] {
                waitingFor[dependent] -= 1
                if waitingFor[dependent] == 0 { heap.insert(dependent) }
            }
        }
        if order.count < objects.count {
            throw cycleError(objects, dependencies: dependencies, waitingFor: waitingFor)
        }
        return order
    }

    private static func collectLabels(_ object: DataFileObject, into labels: inout Set<String>) {
        for (_, value) in object.fields {
            switch value {
            case .reference(.label(let label)):
                labels.insert(label)
            case .reference(.key(let attributes)):
                for attribute in attributes where attribute.name.hasSuffix(".ref") {
                    labels.insert(attribute.value)
                }
            case .child(let child):
                collectLabels(child, into: &labels)
            case .text, .null:
                break
            }
        }
    }

    /// Names one cycle among the objects that could not be ordered.
    private static func cycleError(
        _ objects: [DataFileObject],
        dependencies: [[Int]],
        waitingFor: [Int]
    ) -> DataFileError {
        var path: [Int] = []
        var seen: [Int: Int] = [:]
        var current = waitingFor.firstIndex { $0 > 0 }!
        while seen[current] == nil {
            seen[current] = path.count
            path.append(current)
            current = dependencies[current].first { waitingFor[$0] > 0 }!
        }
        let cycle = path[seen[current]!...] + [current]
        let names = cycle.map { "\(objects[$0].entity.name) '\(objects[$0].label ?? "")'" }
        return DataFileError(
            "objects refer to each other in a cycle: " + names.joined(separator: " refers to "),
            line: objects[cycle.first!].line
        )
    }
}

private struct MinHeap {
    private var items: [Int] = []

    mutating func insert(_ item: Int) {
        items.append(item)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            if items[parent] <= items[child] { break }
            items.swapAt(parent, child)
            child = parent
        }
    }

    mutating func popMin() -> Int? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let minimum = items.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < items.count && items[left] < items[smallest] { smallest = left }
            if right < items.count && items[right] < items[smallest] { smallest = right }
            if smallest == parent { break }
            items.swapAt(parent, smallest)
            parent = smallest
        }
        return minimum
    }
}

/// The lines of a file read in 64 KiB pieces, or of a text, numbered from 1, without line terminators.
private final class LineSource {
    private let handle: FileHandle?
    private var buffer: [UInt8]
    private var position = 0
    private var atEnd: Bool
    private var number = 0

    init(_ source: DataFileSource) throws(DataFileError) {
        switch source {
        case .file(let path):
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw DataFileError("cannot read \(path)", line: nil)
            }
            self.handle = handle
            self.buffer = []
            self.atEnd = false
        case .text(let text):
            self.handle = nil
            self.buffer = Array(text.utf8)
            self.atEnd = true
        }
    }

    deinit {
        try? handle?.close()
    }

    func next() throws(DataFileError) -> (text: String, number: Int)? {
        while true {
            if let newline = buffer[position...].firstIndex(of: UInt8(ascii: "\n")) {
                return try line(upTo: newline, next: newline + 1)
            }
            if atEnd {
                if position == buffer.count { return nil }
                return try line(upTo: buffer.count, next: buffer.count)
            }
            try fill()
        }
    }

    private func line(upTo end: Int, next: Int) throws(DataFileError) -> (text: String, number: Int) {
        number += 1
        var bytes = buffer[position..<end]
        if bytes.last == UInt8(ascii: "\r") { bytes = bytes.dropLast() }
        if number == 1 && bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        position = next
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw DataFileError("the file is not valid UTF-8", line: number)
        }
        return (text, number)
    }

    private func fill() throws(DataFileError) {
        guard let handle else {
            atEnd = true
            return
        }
        if position > 0 {
            buffer.removeFirst(position)
            position = 0
        }
        do {
            if let data = try handle.read(upToCount: 65536), !data.isEmpty {
                buffer.append(contentsOf: data)
            } else {
                atEnd = true
            }
        } catch {
            throw DataFileError("cannot read the file: \(error.localizedDescription)", line: nil)
        }
    }
}
