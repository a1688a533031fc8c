import Catalog
import DataStore
import Foundation
import Yams

/// The configuration file's optional `storage` section: which stores hold the data service's bytes.
///
/// ```yaml
/// storage:
///   main: {type: file, directory: ./icat-data/files}        # the default: --storage
///   # or {type: s3, endpoint: https://s3.eu-west-1.amazonaws.com, region: eu-west-1, bucket: icat, prefix: files/,
///   #     accessKeyId: ..., secretAccessKey: ..., pathStyle: true, partSizeBytes: 16777216}
///   archive: {type: file, directory: ./icat-data/archive}   # optional: a two-level service
///   maxUploadBytes: 1099511627776
///   icatUrl: https://icat.example.org                       # what getIcatUrl answers; default: this server
///   sweepIntervalSeconds: 60     # how often deleted datafiles' and abandoned uploads' bytes are removed
/// ```
public struct StorageConfiguration: Sendable {
    /// One store's settings.
    public enum Store: Sendable {
        case file(directory: String)
        case s3(S3Configuration)
    }

    public var main: Store
    public var archive: Store?
    public var maximumUploadBytes: Int64
    public var icatURL: String?
    public var sweepInterval: Duration

    static let keys = ["main", "archive", "maxUploadBytes", "icatUrl", "sweepIntervalSeconds"]

    /// The local store under `directory`, one level: what `icat serve --storage` gives without a `storage` section.
    public init(directory: String) {
        self.main = .file(directory: directory)
        self.archive = nil
        self.maximumUploadBytes = 1 << 40
        self.icatURL = nil
        self.sweepInterval = .seconds(60)
    }

    /// The `storage` section of a configuration file; without one, the local store under `defaultDirectory`.
    public init(yaml: String, defaultDirectory: String) throws {
        self.init(directory: defaultDirectory)
        guard let root = try Yams.load(yaml: yaml) as? [String: Any] else {
            throw ConfigurationError("the configuration must be a mapping")
        }
        guard let value = root["storage"] else { return }
        guard let section = value as? [String: Any] else { throw ConfigurationError("storage must be a mapping") }
        if let unknown = section.keys.sorted().first(where: { !Self.keys.contains($0) }) {
            throw ConfigurationError("storage.\(unknown) is not a setting; known: \(Self.keys.joined(separator: ", "))")
        }
        if let main = section["main"] { self.main = try Self.store(main, "storage.main") }
        if let archive = section["archive"] { self.archive = try Self.store(archive, "storage.archive") }
        if let bytes = section["maxUploadBytes"] {
            guard let bytes = bytes as? Int, bytes > 0 else {
                throw ConfigurationError("storage.maxUploadBytes must be a positive whole number")
            }
            maximumUploadBytes = Int64(bytes)
        }
        if let url = section["icatUrl"] {
            guard let url = url as? String, !url.isEmpty else {
                throw ConfigurationError("storage.icatUrl must be a URL")
            }
            icatURL = url
        }
        if let seconds = section["sweepIntervalSeconds"] {
            guard let seconds = (seconds as? Double) ?? (seconds as? Int).map(Double.init), seconds > 0 else {
                throw ConfigurationError("storage.sweepIntervalSeconds must be a positive number of seconds")
            }
            sweepInterval = .milliseconds(Int64(seconds * 1000))
        }
    }

    private static func store(_ value: Any, _ name: String) throws -> Store {
        guard let settings = value as? [String: Any], let type = settings["type"] as? String else {
            throw ConfigurationError("\(name) must be a mapping with a type (file or s3)")
        }
        switch type {
        case "file":
            guard let directory = settings["directory"] as? String, !directory.isEmpty else {
                throw ConfigurationError("\(name).directory must be a directory's path")
            }
            if let unknown = settings.keys.sorted().first(where: { !["type", "directory"].contains($0) }) {
                throw ConfigurationError("\(name).\(unknown) is not a setting of a file store; known: type, directory")
            }
            return .file(directory: directory)
        case "s3":
            return .s3(try s3(settings, name))
        default:
            throw ConfigurationError("\(name).type must be file or s3, not \(type)")
        }
    }

    static let s3Keys = [
        "type", "endpoint", "region", "bucket", "prefix", "accessKeyId", "secretAccessKey", "pathStyle",
        "partSizeBytes",
    ]

    private static func s3(_ settings: [String: Any], _ name: String) throws -> S3Configuration {
        if let unknown = settings.keys.sorted().first(where: { !s3Keys.contains($0) }) {
            throw ConfigurationError(
                "\(name).\(unknown) is not a setting of an s3 store; known: \(s3Keys.joined(separator: ", "))"
            )
        }
        func text(_ key: String, required: Bool = true) throws -> String? {
            guard let value = settings[key] else {
                if required { throw ConfigurationError("\(name).\(key) must be given") }
                return nil
            }
            guard let text = value as? String, !text.isEmpty else {
                throw ConfigurationError("\(name).\(key) must be a non-empty string")
            }
            return text
        }
        guard let endpoint = URL(string: try text("endpoint")!) else {
            throw ConfigurationError("\(name).endpoint must be a URL")
        }
        var partSize = S3Configuration.defaultPartSize
        if let value = settings["partSizeBytes"] {
            guard let bytes = value as? Int else { throw ConfigurationError("\(name).partSizeBytes must be a number") }
            partSize = bytes
        }
        var pathStyle = true
        if let value = settings["pathStyle"] {
            guard let flag = value as? Bool else { throw ConfigurationError("\(name).pathStyle must be true or false") }
            pathStyle = flag
        }
        let configuration = S3Configuration(
            endpoint: endpoint,
            region: try text("region")!,
            bucket: try text("bucket")!,
            keyPrefix: try text("prefix", required: false) ?? "",
            accessKeyID: try text("accessKeyId")!,
            secretAccessKey: try text("secretAccessKey")!,
            pathStyle: pathStyle,
            partSize: partSize
        )
        if let problem = configuration.problem() { throw ConfigurationError("\(name): \(problem)") }
        return configuration
    }

    /// Opens the stores (creating local directories) and gives the data service's configuration.
    public func open() throws -> DataServiceConfiguration {
        DataServiceConfiguration(
            main: try Self.open(main),
            archive: try archive.map(Self.open),
            maximumUploadBytes: maximumUploadBytes,
            icatURL: icatURL,
            sweepInterval: sweepInterval
        )
    }

    private static func open(_ store: Store) throws -> any ObjectStore {
        switch store {
        case .file(let directory): try LocalDiskStore(root: URL(fileURLWithPath: directory))
        case .s3(let configuration): try S3ObjectStore(configuration: configuration)
        }
    }
}
