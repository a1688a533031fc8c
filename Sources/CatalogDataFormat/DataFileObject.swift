import CatalogSchema

/// The two encodings of an ICAT data file (python-icat's `icatdump`/`icatingest` format), named as the contract
/// names them.
public enum DataFileFormat: String, Sendable, CaseIterable {
    case xml = "icatdata-xml"
    case yaml = "icatdata-yaml"

    /// The format a file name suggests: `.xml` or `.yaml`/`.yml`.
    public init?(fileName: String) {
        let lowered = fileName.lowercased()
        if lowered.hasSuffix(".xml") {
            self = .xml
        } else if lowered.hasSuffix(".yaml") || lowered.hasSuffix(".yml") {
            self = .yaml
        } else {
            return nil
        }
    }
}

/// One object of a data file as written, structured by the entity model but not yet typed: attribute values are
/// the text the file holds, references are still labels or key attributes.
///
/// A top-level object either describes a new object (`fields`) or, for XML's `<investigationRef .../>` elements,
/// names an existing one (`lookup`) so that later objects can refer to it by `label`.
public struct DataFileObject: Sendable {
    /// The entity type, e.g. `Investigation` for the element `<investigation>` or the YAML key `investigation`.
    public var entity: EntityDefinition
    /// The object's local id in the file (`id="..."` in XML, the mapping key in YAML); nested objects have none.
    public var label: String?
    /// The fields the file sets, in file order. A one-to-many field appears once per child.
    public var fields: [(name: String, value: DataFileValue)]
    /// For a reference-only element: how to find the existing object. `fields` is then empty.
    public var lookup: DataFileReference?
    /// The line of the file where the object starts (1-based).
    public var line: Int

    public init(
        entity: EntityDefinition,
        label: String? = nil,
        fields: [(name: String, value: DataFileValue)] = [],
        lookup: DataFileReference? = nil,
        line: Int = 0
    ) {
        self.entity = entity
        self.label = label
        self.fields = fields
        self.lookup = lookup
        self.line = line
    }
}

/// The value of one field of a `DataFileObject`.
public indirect enum DataFileValue: Sendable {
    /// An attribute's value as text, exactly as the file writes it (dates as ISO 8601, booleans as `true`/`false`).
    case text(String)
    /// An explicitly empty value (YAML `null`/`~`).
    case null
    /// A many-to-one reference.
    case reference(DataFileReference)
    /// One child of a one-to-many relation, created with its parent.
    case child(DataFileObject)
}

/// How a file refers to another object.
public enum DataFileReference: Sendable, Equatable {
    /// By the local id of an object earlier in the file, or by a python-icat unique key such as
    /// `Investigation_facility-(name-ESNF)_name-10100601=2DST_visitId-1=2E1=2DN` naming an object that may already
    /// be in the catalog.
    case label(String)
    /// By attribute values of the object's unique key, as XML writes `<investigation name="x" visitId="y"
    /// facility.ref="Facility_1"/>`: names without `.ref` are attributes, `name.ref` names a relation by label.
    /// In attribute order as written.
    case key([KeyAttribute])

    /// One attribute of a key reference.
    public struct KeyAttribute: Sendable, Equatable {
        public var name: String
        public var value: String
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }
}

/// A data file that cannot be read: malformed XML or YAML, or structure the entity model does not allow.
public struct DataFileError: Error, Sendable, CustomStringConvertible {
    public let message: String
    /// The line of the file where the problem is (1-based), when known.
    public let line: Int?

    public init(_ message: String, line: Int?) {
        self.message = message
        self.line = line
    }

    public var description: String {
        line.map { "line \($0): \(message)" } ?? message
    }
}

/// Reads the objects of a data file one at a time, in an order in which every label is defined before it is used
/// (file order for XML; dependency order within each YAML document).
public protocol DataFileReader {
    /// The next object, or nil at the end of the file.
    mutating func next() throws(DataFileError) -> DataFileObject?
}

/// Where a reader reads from: a file on disk (streamed) or text already in memory.
public enum DataFileSource: Sendable {
    case file(path: String)
    case text(String)
}

/// What a data file's `<head>` (XML) or leading comments (YAML) say about it.
public struct DataFileHead: Sendable {
    public var date: String
    public var apiVersion: String
    public var generator: String

    public init(date: String, apiVersion: String, generator: String) {
        self.date = date
        self.apiVersion = apiVersion
        self.generator = generator
    }
}
