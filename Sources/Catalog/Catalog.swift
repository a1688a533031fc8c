import CatalogQuery
import CatalogSchema
import CatalogStore
import Foundation
import JSONValue
import Logging

/// The catalog's operations, as ICAT 6.2 defines them, for callers identified by a session.
///
/// This type only composes: sessions live in `SessionStore`, access decisions in `Gatekeeper` (which checks each
/// operation needs, in `AccessPlanner`), writes in `EntityWriter`, reads in `EntityReader`. It knows nothing of
/// HTTP or JSON-RPC.
public final class Catalog: Sendable {
    /// The version `getApiVersion` reports: the ICAT API this catalog implements.
    public static let apiVersion = "6.2.0"

    public let model: EntityModel
    public let configuration: CatalogConfiguration
    public let database: any Database
    public let gatekeeper: Gatekeeper
    let sessions: SessionStore
    let writer: EntityWriter
    let bulkWriter: BulkWriter
    let reader: EntityReader
    let codec: EntityCodec
    let accessPlanner: AccessPlanner
    let searcher: Searcher
    let logins: LoginGuard
    let userCalls: UserCallLimit
    let logger: Logger

    /// A catalog over a database whose schema is already migrated (see `Migrator`).
    public init(database: any Database, configuration: CatalogConfiguration, model: EntityModel = .icat, logger: Logger)
    {
        self.model = model
        self.configuration = configuration
        self.database = database
        self.gatekeeper = Gatekeeper(
            rootUserNames: configuration.rootUserNames,
            ruleBook: RuleBook(model: model, logger: logger),
            restrictsJoins: configuration.authorization.restrictJoins
        )
        self.sessions = SessionStore(
            database: database,
            lifetime: TimeInterval(configuration.lifetimeMinutes * 60),
            cacheWindow: .milliseconds(Int64(configuration.sessionCacheSeconds * 1000))
        )
        self.writer = EntityWriter(model: model, logger: logger)
        self.bulkWriter = BulkWriter(writer: writer)
        self.reader = EntityReader(model: model)
        self.codec = EntityCodec(model: model)
        self.accessPlanner = AccessPlanner(model: model)
        self.searcher = Searcher(
            model: model,
            reader: reader,
            maxEntities: configuration.maxEntities,
            logger: logger
        )
        self.logins = LoginGuard(
            configuration: configuration.logins,
            authenticators: configuration.authenticators,
            logger: logger
        )
        self.userCalls = Self.userCallLimit(configuration.database, database: database, logger: logger)
        self.logger = logger
    }

    /// The per-user limit, kept below the database's connections so that other users keep room.
    static func userCallLimit(_ limits: DatabaseLimits, database: any Database, logger: Logger) -> UserCallLimit {
        var limit = limits.queriesPerUser
        if limit > 0, limit >= database.connectionCount {
            limit = max(1, database.connectionCount - 1)
            logger.notice(
                "maxQueriesPerUser \(limits.queriesPerUser) leaves no connection for others: using \(limit)"
            )
        }
        return UserCallLimit(limit: limit, maximumWait: limits.maximumWait)
    }

    // MARK: Sessions

    /// Logs in through the authenticator named `plugin`; returns a new session id. `clientAddress`, when known,
    /// is where the login came from, for the limits on failed logins.
    public func login(
        plugin: String,
        credentials: [String: JSON],
        clientAddress: String? = nil
    ) async throws(CatalogError) -> String {
        guard let authenticator = configuration.authenticators.first(where: { $0.mnemonic == plugin }) else {
            throw CatalogError(.session, "Authenticator mnemonic \(plugin) not recognised")
        }
        let userName: String
        if authenticator.anonymous {
            userName = "\(plugin)/anon"
        } else {
            guard let name = credentials["username"]?.stringValue, let password = credentials["password"]?.stringValue
            else {
                throw CatalogError(.session, "The \(plugin) authenticator needs credentials 'username' and 'password'")
            }
            try StorableText.check(name, "The credential 'username'")
            try StorableText.check(password, "The credential 'password'")
            try await logins.check(password, of: name, in: authenticator, from: clientAddress)
            userName = "\(plugin)/\(name)"
        }
        return try await perform { try await sessions.open(for: userName) }
    }

    public func logout(sessionId: String) async throws(CatalogError) {
        try await perform { try await sessions.close(sessionId) }
    }

    public func refresh(sessionId: String) async throws(CatalogError) {
        try await perform { try await sessions.refresh(sessionId) }
    }

    public func remainingMinutes(sessionId: String) async throws(CatalogError) -> Double {
        let expires = try await perform { try await sessions.lookup(sessionId).expires }
        return max(0, expires.timeIntervalSinceNow / 60)
    }

    public func userName(sessionId: String) async throws(CatalogError) -> String {
        try await perform { try await sessions.lookup(sessionId).userName }
    }

    // MARK: Information

    public var entityNames: [String] { model.entityNames }

    /// ICAT's description of an entity type: its comment, unique keys and fields.
    public func entityInfo(_ name: String) throws(CatalogError) -> JSON {
        guard let entity = model.entity(named: name) else { throw .badParameter("'\(name)' is not an entity type") }
        let fields = entity.fields.map { field -> JSON in
            var info: [String: JSON] = [
                "name": .string(field.name),
                "notNullable": .bool(field.required),
                "comment": .string(field.comment),
            ]
            switch field.kind {
            case .attribute(let type):
                info["type"] = .string(type.icatName)
                info["relType"] = "ATTRIBUTE"
                if let length = type.stringLength { info["stringLength"] = .int(Int64(length)) }
            case .one(let target):
                info["type"] = .string(target)
                info["relType"] = "ONE"
            case .many(let target, _, _):
                info["type"] = .string(target)
                info["relType"] = "MANY"
            }
            return .object(info)
        }
        return [
            "classComment": .string(entity.comment),
            "constraints": .array(entity.uniqueKeys.map { .array($0.map(JSON.string)) }),
            "fields": .array(fields),
        ]
    }

    /// What `getProperties` reports: limits and the authenticators with the credential keys each needs.
    public var properties: JSON {
        let authenticators = configuration.authenticators.map { authenticator -> JSON in
            let keys: [JSON] =
                authenticator.anonymous ? [] : [["name": "username"], ["name": "password", "hide": true]]
            return ["mnemonic": .string(authenticator.mnemonic), "keys": .array(keys)]
        }
        return [
            "maxEntities": .int(Int64(configuration.maxEntities)),
            "lifetimeMinutes": .int(Int64(configuration.lifetimeMinutes)),
            "authenticators": .array(authenticators),
        ]
    }

    // MARK: Catalog

    /// The caller of a request, with the authorization rules that apply to them.
    func caller(sessionId: String) async throws(CatalogError) -> Caller {
        let session = try await perform { try await sessions.lookup(sessionId) }
        return try await perform { try await gatekeeper.caller(session, database: database) }
    }

    /// Creates an object with its children in one transaction; returns its id.
    public func create(sessionId: String, entity: JSON) async throws(CatalogError) -> Int64 {
        try await createMany(sessionId: sessionId, entities: [entity], batch: false)[0]
    }

    /// Creates every object in one transaction; the error of a failing item carries its offset.
    public func createMany(sessionId: String, entities: [JSON]) async throws(CatalogError) -> [Int64] {
        try await createMany(sessionId: sessionId, entities: entities, batch: true)
    }

    private func createMany(sessionId: String, entities: [JSON], batch: Bool) async throws(CatalogError) -> [Int64] {
        let caller = try await caller(sessionId: sessionId)
        var inputs: [EntityInput] = []
        for (offset, json) in entities.enumerated() {
            do throws(CatalogError) {
                let input = try codec.decodeWrapped(json)
                guard caller.mayCreateAny(input.entity) else { throw CatalogError.denied(.create, input.entity.name) }
                inputs.append(input)
            } catch {
                throw batch ? error.at(offset: offset) : error
            }
        }
        let frozen = inputs
        defer { noteWrites(to: frozen.map(\.entity), cascading: false) }
        return try await perform(as: caller) {
            try await database.withTransaction { connection in
                let now = Date()
                var counts: [String: Int] = [:]
                for input in frozen { BulkWriter.count(input, into: &counts) }
                var ids: [Int64] = []
                ids.reserveCapacity(frozen.count)
                if counts.values.reduce(0, +) < BulkWriter.smallestBulk {
                    // A few objects: one INSERT ... RETURNING id each costs less than reserving ids first.
                    for (offset, input) in frozen.enumerated() {
                        do {
                            ids.append(try await writer.create(input, user: caller.userName, now: now, on: connection))
                        } catch let error as CatalogError {
                            throw batch ? error.at(offset: offset) : error
                        }
                    }
                } else {
                    var reservation = BulkWriter.IdReservation()
                    try await reservation.reserve(counts, model: model, on: connection)
                    var objects: [BulkWriter.PlannedObject] = []
                    do {
                        for (offset, input) in frozen.enumerated() {
                            ids.append(
                                try await bulkWriter.plan(
                                    input,
                                    item: offset,
                                    user: caller.userName,
                                    now: now,
                                    ids: &reservation,
                                    into: &objects,
                                    on: connection
                                )
                            )
                        }
                        try await bulkWriter.write(objects, on: connection)
                    } catch let failure as BulkWriter.ItemError {
                        throw batch ? failure.error.at(offset: failure.item) : failure.error
                    }
                }
                let written = frozen.indices.map { (frozen[$0].entity, ids[$0], batch ? $0 : nil) }
                try await caller.check(accessPlanner.created(written), on: connection)
                return ids
            }
        }
    }

    /// What a query in ICAT's language finds among what the caller may read: entities (wrapped), values, or
    /// arrays of several select items.
    public func search(sessionId: String, query: String) async throws(CatalogError) -> JSON {
        let caller = try await caller(sessionId: sessionId)
        return try await perform(as: caller) {
            try await database.withConnection { connection in
                try await searcher.search(
                    query,
                    userName: caller.userName,
                    restriction: caller.readRestriction,
                    caller: caller,
                    on: connection
                )
            }
        }
    }

    /// One object by id, with what the query's INCLUDE asks for (of what the caller may read).
    public func get(sessionId: String, query: String, id: Int64) async throws(CatalogError) -> JSON {
        let caller = try await caller(sessionId: sessionId)
        try StorableText.check(query, "The query")
        let resolved: (entity: EntityDefinition, include: IncludeTree)
        do {
            resolved = try QueryCompiler(model: model, dialect: database.dialect).resolveGet(query)
        } catch {
            throw CatalogError(.badParameter, error.description)
        }
        return try await perform(as: caller) {
            try await database.withConnection { connection in
                try await reader.get(resolved.entity, id: id, include: resolved.include, caller: caller, on: connection)
            }
        }
    }

    /// Changes the fields the entity gives on the object its id names.
    ///
    /// Needs UPDATE (an update rule that selects an attribute allows changing that attribute); when a relation
    /// that is part of a unique key changes, DELETE before and CREATE after instead, as in ICAT.
    public func update(sessionId: String, entity: JSON) async throws(CatalogError) {
        let caller = try await caller(sessionId: sessionId)
        let input = try codec.decodeWrapped(entity)
        guard let id = input.id else { throw .badParameter("The \(input.entity.name) to update needs its id") }
        defer { noteWrites(to: [input.entity], cascading: false) }
        try await perform(as: caller) {
            try await database.withTransaction { connection in
                let entity = input.entity
                let fields = input.values.keys
                if !caller.isRoot {
                    guard try await writer.exists(entity, id: id, on: connection) else {
                        throw CatalogError.notFound(entity.name, id)
                    }
                    try await caller.check(accessPlanner.updating(entity, id: id, fields: fields), on: connection)
                }
                let created = try await writer.update(input, user: caller.userName, now: Date(), on: connection)
                try await caller.check(
                    accessPlanner.updated(entity, id: id, fields: fields, children: created),
                    on: connection
                )
            }
        }
    }

    /// Deletes an object and everything that cascades from it.
    public func delete(sessionId: String, entity: JSON) async throws(CatalogError) {
        try await deleteMany(sessionId: sessionId, entities: [entity], batch: false)
    }

    /// Deletes every object in one transaction; the error of a failing item carries its offset.
    public func deleteMany(sessionId: String, entities: [JSON]) async throws(CatalogError) {
        try await deleteMany(sessionId: sessionId, entities: entities, batch: true)
    }

    private func deleteMany(sessionId: String, entities: [JSON], batch: Bool) async throws(CatalogError) {
        let caller = try await caller(sessionId: sessionId)
        var targets: [(EntityDefinition, Int64)] = []
        for (offset, json) in entities.enumerated() {
            do throws(CatalogError) {
                let input = try codec.decodeWrapped(json)
                guard let id = input.id else {
                    throw CatalogError.badParameter("The \(input.entity.name) to delete needs its id")
                }
                targets.append((input.entity, id))
            } catch {
                throw batch ? error.at(offset: offset) : error
            }
        }
        let frozen = targets
        defer { noteWrites(to: frozen.map(\.0), cascading: true) }
        try await perform(as: caller) {
            try await database.withTransaction { connection in
                for (offset, (entity, id)) in frozen.enumerated() {
                    do {
                        if !caller.isRoot {
                            guard try await writer.exists(entity, id: id, on: connection) else {
                                throw CatalogError.notFound(entity.name, id)
                            }
                            var cascaded: [String: [Int64]] = [:]
                            if caller.restricts(.delete, anyOf: writer.cascadeReachable(from: entity)) {
                                cascaded = try await writer.cascadeDescendants(of: entity, id: id, on: connection)
                            }
                            try await caller.check(
                                accessPlanner.deleting(entity, id: id, cascaded: cascaded),
                                on: connection
                            )
                        }
                        try await writer.delete(entity, id: id, on: connection)
                    } catch let error as CatalogError {
                        throw batch ? error.at(offset: offset) : error
                    }
                }
            }
        }
    }

    /// Whether the caller may create the given object, or read, update or delete the object its id names. Changes
    /// nothing: a CREATE is tried in a transaction that is rolled back.
    public func isAccessAllowed(sessionId: String, entity: JSON, access: AccessType) async throws(CatalogError) -> Bool
    {
        let caller = try await caller(sessionId: sessionId)
        let input = try codec.decodeWrapped(entity)
        if caller.isRoot { return true }
        switch access {
        case .create:
            do throws(CatalogError) {
                return try await perform(as: caller) {
                    try await database.withTransaction(ending: .rollBack) { connection in
                        let id = try await writer.create(input, user: caller.userName, now: Date(), on: connection)
                        let plan = accessPlanner.created([(input.entity, id, nil)])
                        return try await caller.firstRefused(plan, on: connection) == nil
                    }
                }
            } catch let error where error.type == .insufficientPrivileges {
                return false
            }
        case .read, .update, .delete:
            guard let id = input.id else { throw .badParameter("The \(input.entity.name) needs its id") }
            return try await perform(as: caller) {
                try await database.withConnection { connection in
                    guard try await writer.exists(input.entity, id: id, on: connection) else {
                        throw CatalogError.notFound(input.entity.name, id)
                    }
                    let plan = accessPlanner.accessing(access, input.entity, id: id)
                    return try await caller.firstRefused(plan, on: connection) == nil
                }
            }
        }
    }

    /// Copies an object and its cascaded descendants, setting `keys` on the copy; returns the copy's id.
    public func cloneEntity(
        sessionId: String,
        name: String,
        id: Int64,
        keys: [String: JSON]
    ) async throws(CatalogError)
        -> Int64
    {
        let caller = try await caller(sessionId: sessionId)
        guard let entity = model.entity(named: name) else { throw .badParameter("'\(name)' is not an entity type") }
        let overrides = try codec.decode(keys, as: entity)
        guard overrides.id == nil, overrides.children.isEmpty else {
            throw .badParameter("cloneEntity keys may set attributes and references, not id or collections")
        }
        defer { noteWrites(to: [entity], cascading: true) }
        return try await perform(as: caller) {
            try await database.withTransaction { connection in
                if !caller.isRoot {
                    guard try await writer.exists(entity, id: id, on: connection) else {
                        throw CatalogError.notFound(entity.name, id)
                    }
                    try await caller.check(accessPlanner.accessing(.read, entity, id: id), on: connection)
                }
                let copy = try await writer.clone(
                    entity,
                    id: id,
                    keys: overrides.values,
                    user: caller.userName,
                    now: Date(),
                    on: connection
                )
                try await caller.check(accessPlanner.created([(entity, copy, nil)]), on: connection)
                return copy
            }
        }
    }

    /// The entities whose rows decide authorization (through rules, public steps and group membership).
    static let authorizationEntities: Set<String> = ["Rule", "PublicStep", "Grouping", "UserGroup", "User"]

    /// After a write (successful or not) to these entities, or to what cascades to them, this server checks
    /// sessions and the rules version afresh, so that its own changes take effect at once.
    func noteWrites(to entities: [EntityDefinition], cascading: Bool) {
        let touched = entities.contains { entity in
            Self.authorizationEntities.contains(entity.name)
                || (cascading && !writer.cascadeReachable(from: entity).isDisjoint(with: Self.authorizationEntities))
        }
        if touched { sessions.cache.removeAll() }
    }

    // MARK: Errors

    /// Runs `body` in one of the caller's turns at the database (root users are not limited), as `perform`.
    func perform<R>(as caller: Caller, _ body: () async throws -> R) async throws(CatalogError) -> R {
        if caller.isRoot { return try await perform(body) }
        return try await perform { try await userCalls.run(for: caller.userName, body) }
    }

    /// Runs `body`, letting catalog errors through and turning anything else into `INTERNAL` (logged, not shown).
    func perform<R>(_ body: () async throws -> R) async throws(CatalogError) -> R {
        do {
            return try await body()
        } catch let error as CatalogError {
            throw error
        } catch let error as DatabaseError {
            throw writer.internalError(error)
        } catch is CancellationError {
            throw writer.internalError(DatabaseError(.cancelled, "the call was cancelled"))
        } catch {
            logger.error("unexpected error: \(String(reflecting: error))")
            throw CatalogError(.internal, "Unexpected error; the server log has the details")
        }
    }
}
