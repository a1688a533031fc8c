import Foundation

/// What an IDS call is about: datafiles named directly, and those of datasets and investigations. IDS takes each
/// list as comma-separated ids.
public struct DataSelection: Sendable, Equatable {
    public var investigationIds: [Int64]
    public var datasetIds: [Int64]
    public var datafileIds: [Int64]

    public init(investigationIds: [Int64] = [], datasetIds: [Int64] = [], datafileIds: [Int64] = []) {
        self.investigationIds = Self.unique(investigationIds)
        self.datasetIds = Self.unique(datasetIds)
        self.datafileIds = Self.unique(datafileIds)
    }

    /// A selection from IDS's comma-separated parameters (absent or empty: none).
    public init(investigationIds: String?, datasetIds: String?, datafileIds: String?) throws(IDSError) {
        self.init(
            investigationIds: try Self.ids(investigationIds, "investigationIds"),
            datasetIds: try Self.ids(datasetIds, "datasetIds"),
            datafileIds: try Self.ids(datafileIds, "datafileIds")
        )
    }

    public var isEmpty: Bool { investigationIds.isEmpty && datasetIds.isEmpty && datafileIds.isEmpty }

    /// Comma-separated ids, as IDS writes them.
    static func text(_ ids: [Int64]) -> String { ids.map(String.init).joined(separator: ",") }

    static func ids(_ text: String?, _ name: String) throws(IDSError) -> [Int64] {
        guard let text, !text.allSatisfy({ $0 == " " }) else { return [] }
        var ids: [Int64] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            guard let id = Int64(trimmed), id >= 0, trimmed.first != "+" else {
                throw IDSError(.badRequest, "The \(name) parameter is not a comma-separated list of ids: '\(text)'")
            }
            ids.append(id)
        }
        return ids
    }

    private static func unique(_ ids: [Int64]) -> [Int64] {
        var seen: Set<Int64> = []
        return ids.filter { seen.insert($0).inserted }
    }
}
