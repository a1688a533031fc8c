import ArgumentParser
import Catalog

/// `icat hash-password`: prints a PHC hash of a password read from standard input, for `passwordHash:`.
struct HashPassword: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Hash a password (read from standard input).")

    @Flag(help: "Use scrypt instead of PBKDF2-SHA256.")
    var scrypt = false

    func run() throws {
        guard let password = readLine(strippingNewline: true), !password.isEmpty else {
            throw ValidationError("give the password on standard input")
        }
        let algorithm: PasswordHash.Algorithm =
            scrypt ? .scrypt(logN: 15, r: 8, p: 1) : .pbkdf2SHA256(iterations: 600_000)
        print(try PasswordHash.make(password: password, algorithm: algorithm).phcString)
    }
}
