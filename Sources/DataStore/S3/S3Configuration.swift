import Foundation

/// Where an `S3ObjectStore` keeps its objects and how it signs in: any service that speaks the S3 protocol (AWS S3,
/// MinIO, Ceph's RADOS Gateway). The bucket must exist; the store never creates one.
///
/// `description` and reflection leave out the secret key.
public struct S3Configuration: Sendable, CustomStringConvertible, CustomReflectable {
    /// The service's base URL, `http` or `https`, with no path: `https://s3.eu-west-1.amazonaws.com`,
    /// `http://minio.example.org:9000`.
    public var endpoint: URL
    /// The region the requests are signed for (`us-east-1` for MinIO and Ceph unless configured otherwise).
    public var region: String
    public var bucket: String
    /// The folder in the bucket the objects go under (`icat/files` puts them at `icat/files/ab/cd/<hex>`); empty for
    /// the bucket's top. Slashes at its ends are ignored.
    public var keyPrefix: String
    public var accessKeyID: String
    public var secretAccessKey: String
    /// `https://endpoint/bucket/key` when true (MinIO, Ceph, and AWS too); `https://bucket.endpoint/key` when false.
    public var pathStyle: Bool
    /// The size of the parts of a multipart upload, and so the largest body sent in one request; also the memory
    /// a put holds, about twice this. S3 allows at most 10,000 parts, so an object can have up to 10,000 times it.
    public var partSize: Int

    public static let defaultPartSize = 16 << 20
    /// S3's smallest part (but the last).
    public static let minimumPartSize = 5 << 20
    /// S3's largest part.
    public static let maximumPartSize = 5 << 30

    public init(
        endpoint: URL,
        region: String,
        bucket: String,
        keyPrefix: String = "",
        accessKeyID: String,
        secretAccessKey: String,
        pathStyle: Bool = true,
        partSize: Int = defaultPartSize
    ) {
        self.endpoint = endpoint
        self.region = region
        self.bucket = bucket
        self.keyPrefix = keyPrefix
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.pathStyle = pathStyle
        self.partSize = partSize
    }

    public var description: String {
        "S3Configuration(endpoint: \(endpoint.absoluteString), region: \(region), bucket: \(bucket), "
            + "keyPrefix: \(keyPrefix), accessKeyID: \(accessKeyID), pathStyle: \(pathStyle), partSize: \(partSize))"
    }

    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "endpoint": endpoint, "region": region, "bucket": bucket, "keyPrefix": keyPrefix,
                "accessKeyID": accessKeyID, "pathStyle": pathStyle, "partSize": partSize,
            ]
        )
    }

    /// The prefix as it starts object keys: empty, or the folder and a slash.
    var normalizedPrefix: String {
        let trimmed = keyPrefix.split(separator: "/", omittingEmptySubsequences: true).joined(separator: "/")
        return trimmed.isEmpty ? "" : trimmed + "/"
    }

    /// What makes the configuration unusable, in words that never show the secret; nil when it can work.
    public func problem() -> String? {
        // Before anything that shows the endpoint: a password in it must not be shown.
        guard endpoint.user == nil, endpoint.password == nil else {
            return "the endpoint has a user or password; give the key as the access key id and secret key"
        }
        guard let scheme = endpoint.scheme?.lowercased(), scheme == "http" || scheme == "https" else {
            return "the endpoint \(endpoint.absoluteString) is not an http or https URL"
        }
        guard let host = endpoint.host, !host.isEmpty else {
            return "the endpoint \(endpoint.absoluteString) has no host"
        }
        guard endpoint.path.isEmpty || endpoint.path == "/", endpoint.query == nil else {
            return "the endpoint \(endpoint.absoluteString) has a path or query; give the service's base URL"
        }
        guard !region.isEmpty else { return "no region" }
        guard !bucket.isEmpty, !bucket.contains("/") else { return "the bucket name \"\(bucket)\" is not valid" }
        guard !accessKeyID.isEmpty, !secretAccessKey.isEmpty else { return "no access key id or secret key" }
        guard (Self.minimumPartSize...Self.maximumPartSize).contains(partSize) else {
            return "the part size \(partSize) is outside S3's \(Self.minimumPartSize)...\(Self.maximumPartSize)"
        }
        return nil
    }
}
