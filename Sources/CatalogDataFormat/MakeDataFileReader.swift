import CatalogSchema

/// A reader of `source` in `format`: an `XMLDataFileReader` or a `YAMLDataFileReader`.
public func makeDataFileReader(
    _ format: DataFileFormat,
    _ source: DataFileSource,
    model: EntityModel,
    limits: DataFileLimits = .standard
) throws(DataFileError) -> any DataFileReader {
    switch format {
    case .xml: try XMLDataFileReader(source, model: model, limits: limits)
    case .yaml: try YAMLDataFileReader(source, model: model, limits: limits)
    }
}
