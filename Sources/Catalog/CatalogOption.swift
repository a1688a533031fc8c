import CatalogDataFormat

/// An enumerated option a client passes by name (`duplicate: "IGNORE"`, `format: "icatdata-xml"`), read the same
/// way wherever it arrives: absent means the default, anything else not among the values is `BAD_PARAMETER`.
public protocol CatalogOption: RawRepresentable, CaseIterable where RawValue == String {}

extension CatalogOption {
    /// The option `raw` names; `fallback` when it is absent (required when there is no fallback).
    public static func parse(_ raw: String?, name: String, default fallback: Self?) throws(CatalogError) -> Self {
        guard let raw else {
            if let fallback { return fallback }
            throw CatalogError(.badParameter, "\(name) is required")
        }
        guard let value = Self(rawValue: raw) else {
            throw CatalogError(
                .badParameter,
                "\(name) must be one of \(allCases.map(\.rawValue).joined(separator: ", ")), not '\(raw)'"
            )
        }
        return value
    }
}

extension DuplicateAction: CatalogOption {}
extension AttributeSelection: CatalogOption {}
extension DataFileFormat: CatalogOption {}
