import CatalogRPC
import CatalogServer
import Foundation
import Hummingbird
import HummingbirdTesting
import JSONValue
import Metrics
import Prometheus
import Testing

@testable import Catalog

/// Logins under attack: guessing is limited per user name and per address, unknown users cost a hash like known
/// ones, and hashing never holds up other requests.
@Suite("Login hardening")
struct LoginHardeningTests {
    /// The test catalog's users with the given limits on failed logins.
    static func configuration(_ logins: LoginConfiguration) -> CatalogConfiguration {
        var configuration = TestCatalog.configuration
        configuration.logins = logins
        return configuration
    }

    static func login(
        _ catalog: Catalog,
        _ user: String,
        _ password: String,
        from address: String? = nil
    ) async throws -> String {
        try await catalog.login(
            plugin: "simple",
            credentials: ["username": .string(user), "password": .string(password)],
            clientAddress: address
        )
    }

    /// A PBKDF2 hash of `password` that takes about `seconds` to check on this machine.
    static func slowHash(of password: String, seconds: Double) throws -> PasswordHash {
        let probe = 20_000
        let start = ContinuousClock.now
        _ = try PasswordHash.make(password: password, algorithm: .pbkdf2SHA256(iterations: probe))
        let elapsed = (ContinuousClock.now - start) / .seconds(1)
        let iterations = max(probe, Int(Double(probe) * seconds / max(elapsed, 1e-6)))
        return try PasswordHash.make(password: password, algorithm: .pbkdf2SHA256(iterations: iterations))
    }

    @Test(arguments: Backend.allCases)
    func wrongLoginsBeyondTheLimitAreRefusedWithoutHashingAndRecoverAfterTheBackOff(_ backend: Backend) async throws {
        let logins = LoginConfiguration(maxFailures: 3, windowSeconds: 60, backoffSeconds: 2, maxBackoffSeconds: 5)
        try await TestCatalog.with(backend, configuration: Self.configuration(logins)) { catalog in
            let hasher = catalog.logins.hasher
            for _ in 0..<3 {
                let error = await expectCatalogError(.session) { try await Self.login(catalog, "hashed", "wrong") }
                #expect(error?.message == "The username and password do not match")
            }
            #expect(hasher.verifications == 3)
            // The right password too is refused while the user name is throttled, and no hash is checked.
            let refused = await expectCatalogError(.session) {
                try await Self.login(catalog, "hashed", "hashed-secret")
            }
            #expect(refused?.message.hasPrefix("Too many failed logins for simple/hashed; retry in") == true)
            #expect(hasher.verifications == 3)

            try await Task.sleep(for: .milliseconds(2_050))
            let session = try await Self.login(catalog, "hashed", "hashed-secret")
            #expect(try await catalog.userName(sessionId: session) == "simple/hashed")
            #expect(hasher.verifications == 4)

            // The success forgot the failures: three more wrong passwords are checked before the next refusal.
            for _ in 0..<3 {
                let error = await expectCatalogError(.session) { try await Self.login(catalog, "hashed", "wrong") }
                #expect(error?.message == "The username and password do not match")
            }
            #expect(hasher.verifications == 7)
            await expectCatalogError(.session) { try await Self.login(catalog, "hashed", "wrong") }
            #expect(hasher.verifications == 7)
        }
    }

    @Test func refusalPeriodsDoubleWithEachFurtherFailureUpToTheCap() async throws {
        let throttle = LoginThrottle(
            maxFailures: 2,
            window: .seconds(60),
            backoff: .milliseconds(100),
            maxBackoff: .milliseconds(250)
        )
        for _ in 0..<2 {
            #expect(throttle.begin("simple/alice") == nil)
            throttle.failed("simple/alice")
        }
        var previous = try #require(throttle.begin("simple/alice"))
        #expect(previous <= .milliseconds(100))
        for expected in [Duration.milliseconds(200), .milliseconds(250), .milliseconds(250)] {
            try await Task.sleep(for: previous + .milliseconds(20))
            // One failure after a refusal period starts the next one, twice as long up to the cap.
            #expect(throttle.begin("simple/alice") == nil)
            throttle.failed("simple/alice")
            let wait = try #require(throttle.begin("simple/alice"))
            #expect(wait > expected - .milliseconds(90) && wait <= expected)
            previous = wait
        }
        // Another key is not affected, and a success forgets a key's failures.
        #expect(throttle.begin("simple/bob") == nil)
        throttle.succeeded("simple/bob", resetting: true)
        #expect(throttle.count == 1)
    }

    /// Two failures per user name, three per address; refusal periods long enough that none ends while a test's
    /// logins cross a loaded machine.
    static let twoPerUserThreePerAddress = LoginConfiguration(
        maxFailures: 2,
        maxFailuresPerAddress: 3,
        windowSeconds: 60,
        backoffSeconds: 60,
        maxBackoffSeconds: 60
    )

    @Test(arguments: Backend.allCases)
    func throttlingOneUserOrAddressDoesNotBlockAnotherUserOrAddress(_ backend: Backend) async throws {
        let logins = Self.twoPerUserThreePerAddress
        try await TestCatalog.with(backend, configuration: Self.configuration(logins)) { catalog in
            for _ in 0..<2 {
                await expectCatalogError(.session) { try await Self.login(catalog, "alice", "wrong", from: "10.0.0.1") }
            }
            // alice is throttled wherever she logs in from; root, from the same address, is not.
            let user = await expectCatalogError(.session) {
                try await Self.login(catalog, "alice", "alice-pw", from: "10.0.0.2")
            }
            #expect(user?.message.contains("for simple/alice") == true)
            _ = try await Self.login(catalog, "root", "secret", from: "10.0.0.1")

            // A third failure from 10.0.0.1, for another user, throttles the address; 10.0.0.2 still logs in.
            await expectCatalogError(.session) { try await Self.login(catalog, "mallory", "x", from: "10.0.0.1") }
            let address = await expectCatalogError(.session) {
                try await Self.login(catalog, "root", "secret", from: "10.0.0.1")
            }
            #expect(address?.message.hasPrefix("Too many failed logins from this address; retry in") == true)
            let session = try await Self.login(catalog, "root", "secret", from: "10.0.0.2")
            #expect(try await catalog.userName(sessionId: session) == "simple/root")
        }
    }

    @Test(arguments: Backend.allCases)
    func anUnknownUserIsCheckedAgainstAHashLikeTheAuthenticatorsOwn(_ backend: Backend) async throws {
        try await TestCatalog.with(backend) { catalog in
            let hasher = catalog.logins.hasher
            let wrong = await expectCatalogError(.session) { try await Self.login(catalog, "hashed", "wrong") }
            #expect(hasher.verifications == 1)
            let unknown = await expectCatalogError(.session) { try await Self.login(catalog, "mallory", "wrong") }
            #expect(hasher.verifications == 2)
            #expect(unknown?.message == wrong?.message)
            // A name no user can have is refused before any hash, and the throttle keeps nothing of it.
            let long = await expectCatalogError(.session) {
                try await Self.login(catalog, String(repeating: "m", count: 100_000), "x")
            }
            #expect(long?.message == "A username has at most 255 bytes")
            #expect(hasher.verifications == 2)
            #expect(catalog.logins.users.count == 2)
            // An authenticator with plain passwords only has no hash to imitate.
            await expectCatalogError(.session) {
                try await catalog.login(plugin: "db", credentials: ["username": "mallory", "password": "x"])
            }
            #expect(hasher.verifications == 2)
        }
        // The dummy has the algorithm, cost and lengths most of the authenticator's hashes have.
        let common = try PasswordHash.make(password: "a", algorithm: .scrypt(logN: 5, r: 8, p: 1))
        let other = try PasswordHash.make(password: "b", algorithm: .pbkdf2SHA256(iterations: 1000))
        let dummy = try #require(
            LoginGuard.dummy(like: ["a": .hashed(common), "b": .hashed(other), "c": .hashed(common), "d": .plain("d")])
        )
        #expect(dummy.algorithm == common.algorithm)
        #expect(dummy.salt.count == common.salt.count && dummy.hash.count == common.hash.count)
        #expect(LoginGuard.dummy(like: ["d": .plain("d")]) == nil)
    }

    @Test(arguments: Backend.allCases)
    func concurrentWrongLoginsWithAnExpensiveHashDoNotStallOtherRequests(_ backend: Backend) async throws {
        var configuration = Self.configuration(
            LoginConfiguration(maxFailures: 0, maxFailuresPerAddress: 0, hashThreads: 2, maxQueuedHashes: 64)
        )
        configuration.authenticators[0].users["slow"] = .hashed(try Self.slowHash(of: "right", seconds: 0.15))
        let attempts = 40
        try await TestCatalog.with(backend, configuration: configuration) { catalog in
            let root = try await Self.login(catalog, "root", "secret")
            let hasher = catalog.logins.hasher
            try await withThrowingTaskGroup(of: CatalogError?.self) { group in
                for index in 0..<attempts {
                    group.addTask {
                        do {
                            _ = try await Self.login(catalog, index.isMultiple(of: 2) ? "slow" : "nobody\(index)", "x")
                            return nil
                        } catch let error as CatalogError {
                            return error
                        }
                    }
                }
                // 40 checks of 0.15 s on 2 threads keep the hash threads busy for 3 s or more; searches are
                // answered meanwhile.
                var verifiedAtFirstAnswer: Int?
                for _ in 0..<3 {
                    let start = ContinuousClock.now
                    let count = try await catalog.search(sessionId: root, query: "SELECT COUNT(f) FROM Facility f")
                    let elapsed = ContinuousClock.now - start
                    verifiedAtFirstAnswer = verifiedAtFirstAnswer ?? hasher.verifications
                    #expect(count == [0])
                    #expect(elapsed < .seconds(2), "a search took \(elapsed) while logins were checked")
                }
                #expect(
                    (verifiedAtFirstAnswer ?? attempts) < attempts,
                    "the first search was answered only after the logins"
                )
                var failures = 0
                for try await error in group {
                    #expect(error?.message == "The username and password do not match")
                    failures += 1
                }
                #expect(failures == attempts)
            }
            #expect(hasher.verifications == attempts)
        }
    }

    @Test(arguments: Backend.allCases)
    func loginsBeyondTheHashQueueFailFastWithAClearError(_ backend: Backend) async throws {
        var configuration = Self.configuration(
            LoginConfiguration(maxFailures: 0, maxFailuresPerAddress: 0, hashThreads: 1, maxQueuedHashes: 1)
        )
        configuration.authenticators[0].users["slow"] = .hashed(try Self.slowHash(of: "right", seconds: 0.1))
        try await TestCatalog.with(backend, configuration: configuration) { catalog in
            let messages = await withTaskGroup(of: String.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        do {
                            _ = try await Self.login(catalog, "slow", "x")
                            return "logged in"
                        } catch {
                            return (error as? CatalogError).map { "\($0.type.rawValue): \($0.message)" } ?? "\(error)"
                        }
                    }
                }
                return await group.reduce(into: [String]()) { $0.append($1) }
            }
            let busy = "SESSION: Too many logins are being checked at once; retry in a moment"
            let wrong = "SESSION: The username and password do not match"
            #expect(Set(messages).isSubset(of: [busy, wrong]))
            #expect(messages.contains(busy))
            // Only the logins that were let in were hashed.
            #expect(catalog.logins.hasher.verifications == messages.count(where: { $0 == wrong }))
            // Nothing is left waiting: the next login is checked.
            _ = try await Self.login(catalog, "slow", "right")
        }
    }

    @Test(arguments: Backend.allCases)
    func theClientAddressReachesLoginOverHTTPAndMetricsCountFailuresAndRefusals(_ backend: Backend) async throws {
        let registry = PrometheusCollectorRegistry()
        let logins = Self.twoPerUserThreePerAddress
        // The catalog's counters go to this test's registry, which its server's /metrics shows.
        try await withMetricsFactory(PrometheusMetricsFactory(registry: registry)) {
            try await TestCatalog.with(backend, configuration: Self.configuration(logins)) { catalog in
                let app = CatalogServer.application(
                    catalog: catalog,
                    service: CatalogService.make(catalog: catalog),
                    configuration: ServerConfiguration(),
                    metrics: registry,
                    logger: TestCatalog.logger
                )
                try await app.test(.live) { client in
                    func login(_ user: String, _ password: String) async throws -> JSON {
                        let params: JSON = [
                            "plugin": "simple",
                            "credentials": ["username": .string(user), "password": .string(password)],
                        ]
                        return try await RPCTests.call(client, "login", params)
                    }
                    func message(_ reply: JSON) -> String? { reply["error"]?["message"]?.stringValue }
                    #expect(message(try await login("alice", "wrong")) == "The username and password do not match")
                    _ = try await login("alice", "wrong")
                    #expect(message(try await login("alice", "alice-pw"))?.contains("for simple/alice") == true)
                    _ = try await login("mallory", "wrong")
                    // Three failures came from this client's address: now it is refused, whoever logs in.
                    let refused = try await login("root", "secret")
                    #expect(message(refused)?.contains("from this address") == true)
                    #expect(refused["error"]?["data"]?["type"] == "SESSION")

                    let metrics = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
                    let lines = Set(metrics.split(separator: "\n").map(String.init))
                    #expect(lines.contains("icat_login_failures_total 3"), "\(metrics)")
                    #expect(lines.contains(#"icat_login_throttled_total{by="user"} 1"#), "\(metrics)")
                    #expect(lines.contains(#"icat_login_throttled_total{by="address"} 1"#), "\(metrics)")
                }
            }
        }
    }

    @Test func loginsConfigurationIsOptionalAndCheckedStrictly() throws {
        let base = "authenticators: [{mnemonic: simple, users: {root: {password: secret}}}]\n"
        #expect(try CatalogConfiguration(yaml: base).logins == LoginConfiguration())
        let configured = try CatalogConfiguration(
            yaml: base + "logins: {maxFailures: 3, windowSeconds: 0.5, maxBackoffSeconds: 60, hashThreads: 4}"
        )
        #expect(
            configured.logins
                == LoginConfiguration(maxFailures: 3, windowSeconds: 0.5, maxBackoffSeconds: 60, hashThreads: 4)
        )
        for bad in [
            "logins: 5", "logins: {maxFailures: -1}", "logins: {hashThreads: 0}", "logins: {windowSeconds: 0}",
            "logins: {maxFailure: 5}", "logins: {backoffSeconds: 10, maxBackoffSeconds: 5}",
        ] {
            #expect(throws: ConfigurationError.self, "\(bad)") { try CatalogConfiguration(yaml: base + bad) }
        }
    }
}
