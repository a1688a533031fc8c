/// Text the databases keep exactly as given. PostgreSQL refuses the character U+0000 (NUL) in text, and SQLite,
/// which takes text as C strings, ends the text there; every other Unicode scalar is kept as is. A Swift string
/// holds no lone surrogates: the JSON parser refuses `\ud800` without its pair, libyaml and libxml2 refuse them in
/// data files.
///
/// Each kind of input is checked where it enters the catalog: entity attributes in `EntityCodec`, query text in
/// `Searcher` (and `get`), credentials at login, data files in `DataImporter`; session ids are checked for their
/// exact form by `SessionStore`.
enum StorableText {
    /// Throws BAD_PARAMETER naming `what` when `text` cannot be stored.
    static func check(_ text: String, _ what: @autoclosure () -> String) throws(CatalogError) {
        if text.utf8.contains(0) {
            throw .badParameter("\(what()) contains the character U+0000 (NUL), which the database cannot store")
        }
    }
}
