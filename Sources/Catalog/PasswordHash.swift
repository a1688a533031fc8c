import Crypto
import CryptoExtras
import Foundation

/// A password hash in PHC string format: `$pbkdf2-sha256$i=600000$<salt>$<hash>` or
/// `$scrypt$ln=15,r=8,p=1$<salt>$<hash>`, salt and hash in unpadded base64 (standard or passlib's `./` variant).
public struct PasswordHash: Sendable {
    public enum Algorithm: Sendable, Equatable {
        case pbkdf2SHA256(iterations: Int)
        case scrypt(logN: Int, r: Int, p: Int)
    }

    public let algorithm: Algorithm
    public let salt: [UInt8]
    public let hash: [UInt8]

    public init?(phc: String) {
        let parts = phc.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0].isEmpty,
            let salt = Self.decodeBase64(String(parts[3])), let hash = Self.decodeBase64(String(parts[4])),
            !hash.isEmpty
        else { return nil }
        var parameters: [String: Int] = [:]
        for item in parts[2].split(separator: ",") {
            let pair = item.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, let value = Int(pair[1]) else { return nil }
            parameters[String(pair[0])] = value
        }
        switch parts[1] {
        case "pbkdf2-sha256":
            // passlib writes the bare iteration count instead of i=N.
            guard let iterations = parameters["i"] ?? Int(parts[2]), iterations > 0 else { return nil }
            algorithm = .pbkdf2SHA256(iterations: iterations)
        case "scrypt":
            guard let logN = parameters["ln"], let r = parameters["r"], let p = parameters["p"],
                (1...30).contains(logN),
                r > 0, p > 0
            else { return nil }
            algorithm = .scrypt(logN: logN, r: r, p: p)
        default:
            return nil
        }
        self.salt = salt
        self.hash = hash
    }

    init(algorithm: Algorithm, salt: [UInt8], hash: [UInt8]) {
        self.algorithm = algorithm
        self.salt = salt
        self.hash = hash
    }

    /// A new hash of `password` with a random salt, for the configuration file.
    public static func make(
        password: String,
        algorithm: Algorithm = .pbkdf2SHA256(iterations: 600_000)
    ) throws
        -> PasswordHash
    {
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return PasswordHash(
            algorithm: algorithm,
            salt: salt,
            hash: try derive(password, salt: salt, algorithm, count: 32)
        )
    }

    public var phcString: String {
        let salt = Data(salt).base64EncodedString().replacingOccurrences(of: "=", with: "")
        let hash = Data(hash).base64EncodedString().replacingOccurrences(of: "=", with: "")
        switch algorithm {
        case .pbkdf2SHA256(let iterations): return "$pbkdf2-sha256$i=\(iterations)$\(salt)$\(hash)"
        case .scrypt(let logN, let r, let p): return "$scrypt$ln=\(logN),r=\(r),p=\(p)$\(salt)$\(hash)"
        }
    }

    public func verify(_ password: String) -> Bool {
        guard let derived = try? Self.derive(password, salt: salt, algorithm, count: hash.count) else { return false }
        return constantTimeEqual(derived, hash)
    }

    static func derive(_ password: String, salt: [UInt8], _ algorithm: Algorithm, count: Int) throws -> [UInt8] {
        let key: SymmetricKey
        switch algorithm {
        case .pbkdf2SHA256(let iterations):
            key = try KDF.Insecure.PBKDF2.deriveKey(
                from: Array(password.utf8),
                salt: salt,
                using: .sha256,
                outputByteCount: count,
                unsafeUncheckedRounds: iterations
            )
        case .scrypt(let logN, let r, let p):
            key = try KDF.Scrypt.deriveKey(
                from: Array(password.utf8),
                salt: salt,
                outputByteCount: count,
                rounds: 1 << logN,
                blockSize: r,
                parallelism: p,
                maxMemory: 1 << 30
            )
        }
        return key.withUnsafeBytes { Array($0) }
    }

    static func decodeBase64(_ text: String) -> [UInt8]? {
        var standard = text.replacingOccurrences(of: ".", with: "+")
        while standard.count % 4 != 0 { standard += "=" }
        return Data(base64Encoded: standard).map { Array($0) }
    }
}
