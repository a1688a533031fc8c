/// Bounds on what one data file can make a reader hold in memory at once, so that a small hostile file cannot
/// stand for millions of objects.
///
/// The readers hold one top-level object with all its children (XML and YAML), and a YAML document's top-level
/// objects all at once (to order them by their references). `objectsPerLevel` bounds each of these levels: the
/// top-level objects of one YAML document, and the children of any one object. XML's top-level objects are
/// streamed one at a time and not counted. YAML aliases (`*name`), which repeat a node without repeating its text,
/// are refused outright: python-icat never writes them.
public struct DataFileLimits: Sendable, Equatable {
    /// The most objects one level may hold.
    public var objectsPerLevel: Int

    public init(objectsPerLevel: Int = 100_000) {
        self.objectsPerLevel = objectsPerLevel
    }

    /// 100,000 objects a level: python-icat's example files hold at most 225 in a YAML document, this catalog's
    /// exports 1,000; a YAML document of 100,000 datafiles with two parameters each takes about 250 MB to read.
    public static let standard = DataFileLimits()

    /// The error for a level that holds more than `objectsPerLevel` objects: `what` says which level.
    func tooMany(_ what: String, advice: String, line: Int?) -> DataFileError {
        DataFileError(
            "\(what) more than \(objectsPerLevel) objects, the limit of objects per level of a data file; \(advice)",
            line: line
        )
    }
}
