import Foundation
import NIOCore
import Testing

@testable import DataStore

/// The S3 API server the tests use: `ICAT_TEST_S3_URL`, `http://KEY:SECRET@host:port`, as Tools/s3-test-server.sh
/// prints it (moto_server, checking every request's signature against that key).
enum S3TestServer {
    static let url = ProcessInfo.processInfo.environment["ICAT_TEST_S3_URL"].flatMap { URLComponents(string: $0) }

    /// Whether the S3 tests run: with a server, or on CI, where its absence is a failure.
    static var isRequired: Bool { url != nil || ProcessInfo.processInfo.environment["CI"] == "true" }

    struct Missing: Error, CustomStringConvertible {
        let description =
            "ICAT_TEST_S3_URL is not set (or not http://KEY:SECRET@host:port): start Tools/s3-test-server.sh"
    }

    static func configuration(
        bucket: String,
        keyPrefix: String = "",
        partSize: Int = S3Configuration.minimumPartSize,
        secretAccessKey: String? = nil
    ) throws -> S3Configuration {
        guard let url, let key = url.user, let secret = url.password, let host = url.host, let port = url.port,
            let endpoint = URL(string: "http://\(host):\(port)")
        else { throw Missing() }
        return S3Configuration(
            endpoint: endpoint,
            region: "us-east-1",
            bucket: bucket,
            keyPrefix: keyPrefix,
            accessKeyID: key,
            secretAccessKey: secretAccessKey ?? secret,
            partSize: partSize
        )
    }

    /// A store on a new bucket of its own, shut down afterwards.
    static func withStore(
        keyPrefix: String = "",
        partSize: Int = S3Configuration.minimumPartSize,
        _ body: (S3ObjectStore) async throws -> Void
    ) async throws {
        let bucket = "icat-test-" + UUID().uuidString.lowercased().prefix(23)
        let store = try S3ObjectStore(
            configuration: try configuration(bucket: bucket, keyPrefix: keyPrefix, partSize: partSize)
        )
        do {
            try await store.createBucket()
            try await body(store)
        } catch {
            try await store.shutdown()
            throw error
        }
        try await store.shutdown()
    }

    /// The bucket's objects and the unfinished multipart uploads (as `upload:<key>`).
    static func contents(of store: S3ObjectStore) async throws -> [String] {
        try await store.objectKeys() + store.unfinishedUploads().map { "upload:\($0.key)" }
    }
}

extension S3ObjectStore {
    func createBucket() async throws {
        let response = try await request("create bucket", "PUT", objectKey: nil)
        guard response.status.code == 200 else { throw await failure("create bucket", "", response) }
        await Self.drain(response)
    }

    /// The keys of the bucket's objects (up to 1,000).
    func objectKeys() async throws -> [String] {
        let response = try await request("list", "GET", objectKey: nil, query: [("list-type", "2")])
        guard response.status.code == 200 else { throw await failure("list", "", response) }
        return S3XML.elements("Key", in: try await Self.text(of: response, operation: "list"))
    }
}

/// A body that gives its chunks, tells `consumed` when it is asked for more, then gives nothing until its reader is
/// cancelled: a client that stalls in the middle of an upload.
struct StallingBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let chunks: [ByteBuffer]
    let consumed: AsyncStream<Void>.Continuation

    struct AsyncIterator: AsyncIteratorProtocol {
        var rest: ArraySlice<ByteBuffer>
        let consumed: AsyncStream<Void>.Continuation

        mutating func next() async throws -> ByteBuffer? {
            if let chunk = rest.popFirst() { return chunk }
            consumed.yield()
            try await Task.sleep(for: .seconds(3600))
            return nil
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(rest: chunks[...], consumed: consumed) }
}

/// The S3 store against a real S3 API server: multipart uploads, leftovers, key prefixes, signatures.
@Suite("The S3 object store", .enabled(if: S3TestServer.isRequired, "no ICAT_TEST_S3_URL (Tools/s3-test-server.sh)"))
struct S3ObjectStoreTests {
    static let mebibyte = 1 << 20

    static func bytes(_ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 13) } }

    @Test func aBodyLargerThanAPartGoesInPartsAndReadsBackByteExactWithTheLocalStoresChecksums() async throws {
        let bytes = Self.bytes(12 * Self.mebibyte + 12_345)
        try await S3TestServer.withStore { store in
            let stored = try await store.put(ObjectStoreTests.chunks(bytes, size: 65_536), maximumBytes: nil)
            try await LocalDiskStoreTests.withStore { local in
                let expected = try await local.put(ObjectStoreTests.chunks(bytes, size: 65_536), maximumBytes: nil)
                #expect(
                    [stored.size, Int64(stored.crc32)] == [expected.size, Int64(expected.crc32)]
                        && stored.sha256 == expected.sha256
                )
            }
            let (read, chunks) = try await ObjectStoreTests.readAll(store, stored.key)
            #expect(read == bytes)
            #expect(chunks > 1)
            let offset = 7 * Self.mebibyte + 3
            #expect(
                try await ObjectStoreTests.readAll(store, stored.key, from: Int64(offset)).bytes
                    == Array(bytes[offset...])
            )
            #expect(try await store.size(of: stored.key) == Int64(bytes.count))
            // S3 gives an object made of parts an ETag ending in -<number of parts>: three parts of 5 MiB at most.
            let head = try await store.request("head", "HEAD", objectKey: store.objectKey(stored.key))
            #expect(head.headers.first(name: "etag")?.hasSuffix("-3\"") == true)
            #expect(try await S3TestServer.contents(of: store) == [stored.key.rawValue])
        }
    }

    @Test func passingTheLimitAfterPartsWereSentLeavesNoObjectAndNoUnfinishedUpload() async throws {
        try await S3TestServer.withStore { store in
            let limit = Int64(8 * Self.mebibyte)
            let refused = await #expect(throws: DataStoreError.self) {
                try await store.put(
                    ObjectStoreTests.chunks(Self.bytes(12 * Self.mebibyte), size: 65_536),
                    maximumBytes: limit
                )
            }
            #expect(refused?.kind == .tooLarge(limit: limit))
            let left = try await S3TestServer.contents(of: store)
            #expect(left == [])
        }
    }

    @Test func aBodyThatFailsAfterPartsWereSentLeavesNothing() async throws {
        struct Broken: Error {}
        try await S3TestServer.withStore { store in
            let failing = AsyncThrowingStream<ByteBuffer, any Error> { continuation in
                for _ in 0..<7 { continuation.yield(ByteBuffer(bytes: Self.bytes(Self.mebibyte))) }
                continuation.finish(throwing: Broken())
            }
            await #expect(throws: Broken.self) { try await store.put(failing, maximumBytes: nil) }
            let left = try await S3TestServer.contents(of: store)
            #expect(left.isEmpty)
        }
    }

    @Test func aPutCancelledWhileItsPartsAreSentLeavesNothing() async throws {
        try await S3TestServer.withStore { store in
            let (consumed, consumedContinuation) = AsyncStream.makeStream(of: Void.self)
            // Past the first part: the multipart upload has begun when the body is asked for more.
            let body = StallingBody(
                chunks: [ByteBuffer(bytes: Self.bytes(5 * Self.mebibyte)), ByteBuffer(bytes: [1])],
                consumed: consumedContinuation
            )
            let put = Task { try await store.put(body, maximumBytes: nil) }
            for await _ in consumed { break }
            #expect(try await store.unfinishedUploads().count == 1)
            put.cancel()
            await #expect(throws: CancellationError.self) { try await put.value }
            let left = try await S3TestServer.contents(of: store)
            #expect(left.isEmpty)
        }
    }

    @Test func objectsGoUnderTheKeyPrefixWhateverCharactersItHas() async throws {
        let prefix = "/icat files/ü+&=$%/"
        try await S3TestServer.withStore(keyPrefix: prefix) { store in
            let bytes = Self.bytes(100_000)
            let stored = try await store.put(ObjectStoreTests.chunks(bytes), maximumBytes: nil)
            #expect(try await store.objectKeys() == ["icat files/ü+&=$%/" + stored.key.rawValue])
            #expect(try await ObjectStoreTests.readAll(store, stored.key, from: 5).bytes == Array(bytes[5...]))
            #expect(try await store.size(of: stored.key) == 100_000)
            #expect(try await store.unfinishedUploads().map(\.key) == [])
            try await store.delete(stored.key)
            #expect(try await store.objectKeys() == [])
        }
    }

    @Test func unfinishedUploadsBegunBeforeTheGivenTimeAreRemoved() async throws {
        try await S3TestServer.withStore(keyPrefix: "icat") { store in
            let objectKey = store.objectKey(StoreKey.make())
            _ = try await store.createMultipartUpload(objectKey)
            // moto says every upload began on 2010-11-10 (AWS's documented example): one begun later is kept.
            #expect(try await store.removeLeftovers(begunBefore: Date(timeIntervalSince1970: 1_200_000_000)) == [])
            #expect(try await store.unfinishedUploads().map(\.key) == [objectKey])
            #expect(try await store.removeLeftovers(begunBefore: Date(timeIntervalSinceNow: 60)) == [objectKey])
            #expect(try await store.unfinishedUploads().map(\.key) == [])
        }
    }

    @Test func requestsSignedWithAnotherSecretAreRefusedWithS3sReasonAndWithoutTheSecret() async throws {
        try await S3TestServer.withStore { store in
            let stored = try await store.put(ObjectStoreTests.chunks([1, 2, 3]), maximumBytes: nil)
            let secret = "not-the-secret-0123456789"
            let wrong = try S3ObjectStore(
                configuration: try S3TestServer.configuration(
                    bucket: store.configuration.bucket,
                    secretAccessKey: secret
                )
            )
            let refusedRead = await #expect(throws: DataStoreError.self) { try await wrong.read(stored.key, from: 0) }
            let refusedPut = await #expect(throws: DataStoreError.self) {
                try await wrong.put(ObjectStoreTests.chunks([4]), maximumBytes: nil)
            }
            try await wrong.shutdown()
            for refused in [refusedRead, refusedPut] {
                #expect(refused?.kind == .storage)
                #expect(refused?.message.contains("SignatureDoesNotMatch") == true)
                #expect(refused?.message.contains(secret) == false)
            }
            #expect(try await store.objectKeys() == [stored.key.rawValue])
        }
    }
}

/// What the S3 store does without a server: signatures, encodings, configurations.
@Suite("S3 signing and configuration")
struct S3SigningTests {
    @Test func aConfigurationThatCannotWorkIsRefusedAndItsSecretIsNeverShown() throws {
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        let good = S3Configuration(
            endpoint: URL(string: "https://s3.eu-west-1.amazonaws.com")!,
            region: "eu-west-1",
            bucket: "facility-data",
            accessKeyID: "AKIAIOSFODNN7EXAMPLE",
            secretAccessKey: secret
        )
        var wrongPartSize = good
        wrongPartSize.partSize = S3Configuration.minimumPartSize - 1
        var wrongEndpoint = good
        wrongEndpoint.endpoint = URL(string: "ftp://s3.example.org")!
        var endpointWithPath = good
        endpointWithPath.endpoint = URL(string: "https://s3.example.org/bucket")!
        var endpointWithKey = good
        endpointWithKey.endpoint = URL(string: "https://AKIAIOSFODNN7EXAMPLE:s3cr3t@s3.example.org")!
        for configuration in [wrongPartSize, wrongEndpoint, endpointWithPath, endpointWithKey] {
            let refused = #expect(throws: DataStoreError.self) { try S3ObjectStore(configuration: configuration) }
            #expect(refused?.message.hasPrefix("S3 configuration: ") == true)
            #expect(refused?.message.contains("s3cr3t") == false)
        }
        var dumped = ""
        dump(good, to: &dumped)
        #expect(!good.description.contains(secret) && !dumped.contains(secret) && !"\(good)".contains(secret))
        #expect(good.description.contains("facility-data"))
    }

    /// An example AWS documents for S3's SigV4 (access key AKIAIOSFODNN7EXAMPLE, bucket examplebucket, 24 May 2013).
    struct AWSExample: Sendable, CustomTestStringConvertible {
        var method = "GET"
        var path = "/"
        var query: [(name: String, value: String)] = []
        var headers: [(name: String, value: String)] = []
        var payloadHash = SigV4.emptyPayloadHash
        var signedHeaders = "host;x-amz-content-sha256;x-amz-date"
        let signature: String

        var testDescription: String { "\(method) \(path) \(query.map { "\($0.name)=\($0.value)" })" }
    }

    @Test(arguments: [
        AWSExample(
            path: "/test.txt",
            headers: [("Range", "bytes=0-9")],
            signedHeaders: "host;range;x-amz-content-sha256;x-amz-date",
            signature: "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        ),
        AWSExample(
            method: "PUT",
            path: "/test$file.text",
            headers: [("Date", "Fri, 24 May 2013 00:00:00 GMT"), ("x-amz-storage-class", "REDUCED_REDUNDANCY")],
            payloadHash: "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
            signedHeaders: "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
            signature: "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
        ),
        AWSExample(
            query: [("lifecycle", "")],
            signature: "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"
        ),
        AWSExample(
            query: [("prefix", "J"), ("max-keys", "2")],
            signature: "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"
        ),
    ])
    func theSignerGivesTheSignaturesOfAWSsExamples(_ example: AWSExample) {
        let signer = SigV4(
            accessKeyID: "AKIAIOSFODNN7EXAMPLE",
            secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            region: "us-east-1"
        )
        let request = SigV4.Request(
            method: example.method,
            path: example.path,
            query: example.query,
            headers: [("Host", "examplebucket.s3.amazonaws.com")] + example.headers,
            payloadHash: example.payloadHash
        )
        let signing = signer.signingHeaders(for: request, at: Date(timeIntervalSince1970: 1_369_353_600))
        #expect(signing.first { $0.name == "x-amz-date" }?.value == "20130524T000000Z")
        #expect(
            signing.first { $0.name == "authorization" }?.value
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                + "SignedHeaders=\(example.signedHeaders), Signature=\(example.signature)"
        )
    }

    @Test func pathsAndQueriesAreEncodedAsSigV4SignsThem() {
        #expect(SigV4.encode("a b/ü+&=~_-.$", keepingSlashes: true) == "a%20b/%C3%BC%2B%26%3D~_-.%24")
        #expect(SigV4.encode("a/b") == "a%2Fb")
        let request = SigV4.Request(
            method: "GET",
            path: "/",
            query: [("uploads", ""), ("prefix", "x y/"), ("a", "2"), ("a", "1")],
            payloadHash: SigV4.emptyPayloadHash
        )
        #expect(request.encodedQuery == "a=1&a=2&prefix=x%20y%2F&uploads=")
    }
}
