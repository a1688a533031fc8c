import Crypto
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// AWS Signature Version 4 with one access key, for one service in one region: signs a request's method, path,
/// query, headers and payload hash. The secret key stays inside: no description, error or log shows it.
struct SigV4: Sendable, CustomStringConvertible {
    let accessKeyID: String
    private let secretAccessKey: String
    let region: String
    let service: String

    init(accessKeyID: String, secretAccessKey: String, region: String, service: String = "s3") {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.region = region
        self.service = service
    }

    var description: String { "SigV4(\(accessKeyID), \(region), \(service))" }

    /// A request as it is signed and sent. `path` and the query's names and values are raw text: `encodedPath` and
    /// `encodedQuery` percent-encode them the one way S3 signs them, so what is signed is what goes on the wire.
    struct Request: Sendable {
        var method: String
        var path: String
        var query: [(name: String, value: String)] = []
        /// The headers to sign, `host` among them; names in any case.
        var headers: [(name: String, value: String)] = []
        /// The SHA-256 of the body in lowercase hexadecimal (`SigV4.emptyPayloadHash` for none).
        var payloadHash: String

        var encodedPath: String { SigV4.encode(path, keepingSlashes: true) }

        var encodedQuery: String {
            let pairs: [(name: String, value: String)] = query.map { (SigV4.encode($0.name), SigV4.encode($0.value)) }
            let sorted = pairs.sorted { $0.name == $1.name ? $0.value < $1.value : $0.name < $1.name }
            return sorted.map { $0.name + "=" + $0.value }.joined(separator: "&")
        }
    }

    static let emptyPayloadHash = hex(SHA256.hash(data: [UInt8]()))

    /// The headers that sign `request` at `date`: `x-amz-date`, `x-amz-content-sha256` and `authorization`, to be
    /// sent along with the request's own.
    func signingHeaders(for request: Request, at date: Date) -> [(name: String, value: String)] {
        let timestamp = Self.timestamp(date)
        var signed = request
        signed.headers += [("x-amz-date", timestamp), ("x-amz-content-sha256", request.payloadHash)]
        let (_, signedHeaders) = Self.canonicalHeaders(signed.headers)
        let signature = Self.hex(
            HMAC<SHA256>.authenticationCode(
                for: Array(stringToSign(signed, timestamp: timestamp).utf8),
                using: signingKey(day: String(timestamp.prefix(8)))
            )
        )
        let authorization =
            "AWS4-HMAC-SHA256 Credential=\(accessKeyID)/\(scope(day: String(timestamp.prefix(8)))), "
            + "SignedHeaders=\(signedHeaders), Signature=\(signature)"
        return [
            ("x-amz-date", timestamp), ("x-amz-content-sha256", request.payloadHash), ("authorization", authorization),
        ]
    }

    /// The canonical request of SigV4: method, path, query, headers, the signed headers' names and the payload hash.
    static func canonicalRequest(_ request: Request) -> String {
        let (headers, signedHeaders) = canonicalHeaders(request.headers)
        return [
            request.method, request.encodedPath, request.encodedQuery, headers, signedHeaders, request.payloadHash,
        ]
        .joined(separator: "\n")
    }

    func stringToSign(_ request: Request, timestamp: String) -> String {
        let hash = Self.hex(SHA256.hash(data: Array(Self.canonicalRequest(request).utf8)))
        return "AWS4-HMAC-SHA256\n\(timestamp)\n\(scope(day: String(timestamp.prefix(8))))\n\(hash)"
    }

    private func scope(day: String) -> String { "\(day)/\(region)/\(service)/aws4_request" }

    private func signingKey(day: String) -> SymmetricKey {
        var key = SymmetricKey(data: Array("AWS4\(secretAccessKey)".utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key))
        }
        return key
    }

    /// Each header as `name:value\n` (name in lowercase, value trimmed, inner runs of spaces made one; values of a
    /// repeated name joined by commas), sorted by name; and the names joined by `;`.
    private static func canonicalHeaders(_ headers: [(name: String, value: String)]) -> (String, String) {
        var values: [String: [String]] = [:]
        for (name, value) in headers {
            let trimmed = value.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
            values[name.lowercased(), default: []].append(trimmed)
        }
        let names = values.keys.sorted()
        let text = names.map { "\($0):\(values[$0]!.joined(separator: ","))\n" }.joined()
        return (text, names.joined(separator: ";"))
    }

    /// Percent-encodes every byte of the UTF-8 but the unreserved characters (`A-Z a-z 0-9 - . _ ~`), as SigV4
    /// wants, with uppercase hexadecimal digits; `/` is kept in a path.
    static func encode(_ text: String, keepingSlashes: Bool = false) -> String {
        var encoded = ""
        encoded.reserveCapacity(text.utf8.count)
        let digits = Array("0123456789ABCDEF")
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: "/") where keepingSlashes:
                encoded.append("/")
            default:
                encoded += "%\(digits[Int(byte >> 4)])\(digits[Int(byte & 15)])"
            }
        }
        return encoded
    }

    /// `yyyyMMdd'T'HHmmss'Z'` in UTC.
    static func timestamp(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))T"
            + "\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))Z"
    }

    static func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}
