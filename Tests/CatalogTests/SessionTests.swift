import Foundation
import JSONValue
import Testing

@testable import Catalog

@Suite("Sessions and authenticators")
struct SessionTests {
    @Test(arguments: Backend.allCases)
    func loginWithPlainPasswordGivesSessionOfMnemonicUser(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let session = try await catalog.login(
                plugin: "simple",
                credentials: ["username": "alice", "password": "alice-pw"]
            )
            #expect(session.count == 64)
            #expect(session.allSatisfy { $0.isHexDigit })
            #expect(try await catalog.userName(sessionId: session) == "simple/alice")
        }
    }

    @Test(arguments: Backend.allCases)
    func loginWithPBKDF2AndScryptHashesWorks(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let pbkdf2 = try await catalog.login(
                plugin: "simple",
                credentials: ["username": "hashed", "password": "hashed-secret"]
            )
            #expect(try await catalog.userName(sessionId: pbkdf2) == "simple/hashed")
            let scrypt = try await catalog.login(
                plugin: "simple",
                credentials: ["username": "scrypted", "password": "scrypt-secret"]
            )
            #expect(try await catalog.userName(sessionId: scrypt) == "simple/scrypted")
            await expectCatalogError(.session) {
                try await catalog.login(plugin: "simple", credentials: ["username": "hashed", "password": "wrong"])
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func wrongPasswordUnknownUserAndUnknownPluginGiveSession(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            await expectCatalogError(.session) {
                try await catalog.login(plugin: "simple", credentials: ["username": "root", "password": "nope"])
            }
            await expectCatalogError(.session) {
                try await catalog.login(plugin: "simple", credentials: ["username": "mallory", "password": "x"])
            }
            let error = await expectCatalogError(.session) {
                try await catalog.login(plugin: "ldap", credentials: ["username": "root", "password": "secret"])
            }
            #expect(error?.message.contains("ldap") == true)
        }
    }

    @Test(arguments: Backend.allCases)
    func anonymousAuthenticatorAcceptsAnyCredentials(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let session = try await catalog.login(plugin: "anon", credentials: [:])
            #expect(try await catalog.userName(sessionId: session) == "anon/anon")
        }
    }

    @Test(arguments: Backend.allCases)
    func unknownAndLoggedOutSessionsGiveSession(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            await expectCatalogError(.session) { try await catalog.userName(sessionId: "no-such-session") }
            let session = try await catalog.login(plugin: "anon", credentials: [:])
            try await catalog.logout(sessionId: session)
            await expectCatalogError(.session) { try await catalog.userName(sessionId: session) }
            await expectCatalogError(.session) { try await catalog.logout(sessionId: session) }
            await expectCatalogError(.session) { try await catalog.refresh(sessionId: session) }
        }
    }

    @Test(arguments: Backend.allCases)
    func sessionsExpireAfterTheirLifetimeUnlessRefreshed(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let sessions = catalog.sessions
            let longAgo = Date().addingTimeInterval(-3 * 3600)
            let expired = try await sessions.open(for: "simple/alice", now: longAgo)
            await expectCatalogError(.session) { try await catalog.userName(sessionId: expired) }
            await expectCatalogError(.session) { try await catalog.refresh(sessionId: expired) }

            let live = try await sessions.open(for: "simple/alice", now: Date().addingTimeInterval(-100 * 60))
            let before = try await catalog.remainingMinutes(sessionId: live)
            #expect(before > 19 && before < 21)
            try await catalog.refresh(sessionId: live)
            let after = try await catalog.remainingMinutes(sessionId: live)
            #expect(after > 119 && after <= 120)
        }
    }

    @Test(arguments: Backend.allCases)
    func sessionsAreSharedThroughTheDatabase(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let session = try await catalog.login(
                plugin: "simple",
                credentials: ["username": "root", "password": "secret"]
            )
            // A second server over the same database sees the session.
            let other = Catalog(
                database: catalog.database,
                configuration: catalog.configuration,
                logger: TestCatalog.logger
            )
            #expect(try await other.userName(sessionId: session) == "simple/root")
            try await other.logout(sessionId: session)
            await expectCatalogError(.session) { try await catalog.userName(sessionId: session) }
        }
    }
}

@Suite("Password hashes")
struct PasswordHashTests {
    @Test func phcStringsRoundTripAndVerify() throws {
        for algorithm in [PasswordHash.Algorithm.pbkdf2SHA256(iterations: 1000), .scrypt(logN: 4, r: 8, p: 1)] {
            let hash = try PasswordHash.make(password: "correct horse", algorithm: algorithm)
            let parsed = try #require(PasswordHash(phc: hash.phcString))
            #expect(parsed.algorithm == algorithm)
            #expect(parsed.verify("correct horse"))
            #expect(!parsed.verify("correct horsf"))
        }
    }

    @Test func knownPBKDF2VectorVerifies() throws {
        // RFC 7914 section 11: PBKDF2-HMAC-SHA256, P="passwd", S="salt", c=1, first 32 bytes.
        let hash = try #require(
            PasswordHash(phc: "$pbkdf2-sha256$i=1$c2FsdA$VawEblbjCJ/sFpHCJUS2BflBhSFt3gRl5oudV8INrLw")
        )
        #expect(hash.verify("passwd"))
    }

    @Test(arguments: ["", "$md5$x$y$z", "$pbkdf2-sha256$i=0$c2FsdA$AAAA", "$scrypt$ln=99,r=8,p=1$c2FsdA$AAAA", "plain"])
    func malformedHashesAreRefused(_ text: String) {
        #expect(PasswordHash(phc: text) == nil)
    }

    @Test func configurationFileReadsUsersAndRefusesBadHashes() throws {
        let configuration = try CatalogConfiguration(
            yaml: """
                rootUserNames: [simple/root]
                lifetimeMinutes: 30
                maxEntities: 500
                authenticators:
                  - mnemonic: simple
                    users:
                      root: {password: "secret"}
                  - mnemonic: anon
                    anonymous: true
                """
        )
        #expect(configuration.rootUserNames == ["simple/root"])
        #expect(configuration.lifetimeMinutes == 30)
        #expect(configuration.maxEntities == 500)
        #expect(configuration.authenticators.map(\.mnemonic) == ["simple", "anon"])
        #expect(throws: ConfigurationError.self) {
            try CatalogConfiguration(
                yaml: "authenticators: [{mnemonic: simple, users: {root: {passwordHash: \"$md5$x\"}}}]"
            )
        }
    }
}
