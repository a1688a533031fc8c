import CatalogDataFormat
import CatalogSchema
import Foundation

/// Data files for tests: python-icat's example files, a one-facility file, and reading as the catalog reads.
/// Shared by the data-file format's own tests and the behaviour suite.
public enum DataFileSamples {
    /// python-icat's example files: `$ICAT_TEST_EXAMPLES`, else what `Tools/fetch-examples.sh` fetched.
    public static let examples: URL = {
        if let directory = ProcessInfo.processInfo.environment["ICAT_TEST_EXAMPLES"], !directory.isEmpty {
            return URL(fileURLWithPath: directory)
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/python-icat-examples")
    }()

    /// A missing example file, with what to do about it.
    public struct MissingExample: Error, CustomStringConvertible {
        public let description: String
    }

    /// The path of the example file `name`.
    public static func example(_ name: String) throws -> String {
        let path = examples.appendingPathComponent(name).path
        guard FileManager.default.fileExists(atPath: path) else {
            throw MissingExample(
                description: "missing example \(path); run Tools/fetch-examples.sh or set ICAT_TEST_EXAMPLES"
            )
        }
        return path
    }

    /// Every top-level object of a data file, read with the ICAT model.
    public static func readAll(_ format: DataFileFormat, _ source: DataFileSource) throws -> [DataFileObject] {
        var reader = try makeDataFileReader(format, source, model: .icat)
        var objects: [DataFileObject] = []
        while let object = try reader.next() {
            objects.append(object)
        }
        return objects
    }

    /// The error reading `text` gives, nil if it reads without one; any other error is thrown.
    public static func readError(_ format: DataFileFormat, _ text: String) throws -> DataFileError? {
        do {
            _ = try readAll(format, .text(text))
            return nil
        } catch let error as DataFileError {
            return error
        }
    }

    /// A data file of one facility named `name` (written into the file as it is: escapes included).
    public static func facilityFile(_ format: DataFileFormat, name: String) -> String {
        switch format {
        case .xml:
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<icatdata>\n<data>\n"
                + "<facility id=\"F1\"><name>\(name)</name></facility>\n</data>\n</icatdata>\n"
        case .yaml:
            "---\nfacility:\n  F1:\n    name: \"\(name)\"\n"
        }
    }
}
