import CatalogDataFormat
import DataFileSamples
import Testing

/// Text a data file may not carry, refused by the readers with the line, before anything reaches a catalog.
@Suite("Data file hygiene")
struct DataFileHygieneTests {
    @Test(arguments: ["\\ud800", "\\udfff"])
    func aLoneSurrogateInADataFileIsMalformed(_ escape: String) throws {
        #expect(try DataFileSamples.readError(.yaml, DataFileSamples.facilityFile(.yaml, name: "a\(escape)")) != nil)
        let reference = "&#x" + escape.dropFirst(2) + ";"
        #expect(try DataFileSamples.readError(.xml, DataFileSamples.facilityFile(.xml, name: "a\(reference)")) != nil)
    }

    @Test func yamlAliasesAreRefusedAtTheirLineAndStarsInTextAreNot() throws {
        let alias = try #require(
            try DataFileSamples.readError(.yaml, "---\nfacility:\n  F1: &f\n    name: F\n  F2:\n    <<: *f\n")
        )
        #expect(alias.line == 6, "\(alias)")
        #expect(alias.message.contains("alias"))
        let starry = """
            ---
            facility:
              F1:
                name: a*b
                fullName: "*quoted*"
                description: '*single* **'
                url: x *y
            """
        let objects = try DataFileSamples.readAll(.yaml, .text(starry))
        #expect(objects.count == 1)
        #expect(DataFileFormatTests.text(objects[0], "fullName") == "*quoted*")
        #expect(DataFileFormatTests.text(objects[0], "url") == "x *y")
    }
}
