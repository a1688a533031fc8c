import CatalogQuery
import CatalogSchema
import CatalogStore
import Foundation
import JSONValue
import Logging

/// The catalog's operations, as ICAT 6.2 defines them, for callers identified by a session.
///
/// This type only composes: sessions live in `SessionStore`, access decisions in `Gatekeeper`, writes in
/// `EntityWriter`, reads in `EntityReader`. It knows nothing of HTTP or JSON-RPC.
public final class Catalog: Sendable {
    /// The version `getApiVersion` reports: the ICAT API this catalog implements.
    public static let apiVersion = "6.2.0"

    public let model: EntityModel
    public let configuration: CatalogConfiguration
    public let database: any Database
    public let gatekeeper: Gatekeeper
    let sessions: SessionStore
    let writer: EntityWriter
    let reader: EntityReader
    let codec: EntityCodec
    let searcher: Searcher
    let logger: Logger

    /// A catalog over a database whose schema is already migrated (see `Migrator`).
    public init(database: any Database, configuration: CatalogConfiguration, model: EntityModel = .icat, logger: Logger)
    {
        self.model = model
        self.configuration = configuration
        self.database = database
        self.gatekeeper = Gatekeeper(rootUserNames: configuration.rootUserNames)
        self.sessions = SessionStore(database: database, lifetime: TimeInterval(configuration.lifetimeMinutes * 60))
        self.writer = EntityWriter(model: model, logger: logger)
        self.reader = EntityReader(model: model)
        self.codec = EntityCodec(model: model)
        self.searcher = Searcher(
            model: model,
            reader: reader,
            maxEntities: configuration.maxEntities,
            logger: logger
        )
        self.logger = logger
    }

    // MARK: Sessions

    /// Logs in through the authenticator named `plugin`; returns a new session id.
    public func login(plugin: String, credentials: [String: JSON]) async throws(CatalogError) -> String {
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
            guard let credential = authenticator.users[name], credential.verify(password) else {
                throw CatalogError(.session, "The username and password do not match")
            }
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

    /// Creates an object with its children in one transaction; returns its id.
    public func create(sessionId: String, entity: JSON) async throws(CatalogError) -> Int64 {
        try await createMany(sessionId: sessionId, entities: [entity], batch: false)[0]
    }

    /// Creates every object in one transaction; the error of a failing item carries its offset.
    public func createMany(sessionId: String, entities: [JSON]) async throws(CatalogError) -> [Int64] {
        try await createMany(sessionId: sessionId, entities: entities, batch: true)
    }

    private func createMany(sessionId: String, entities: [JSON], batch: Bool) async throws(CatalogError) -> [Int64] {
        let user = try await userName(sessionId: sessionId)
        var inputs: [EntityInput] = []
        for (offset, json) in entities.enumerated() {
            do throws(CatalogError) {
                let input = try codec.decodeWrapped(json)
                try checkCreate(input, by: user)
                inputs.append(input)
            } catch {
                throw batch ? error.at(offset: offset) : error
            }
        }
        let frozen = inputs
        return try await perform {
            try await database.withTransaction { connection in
                let now = Date()
                var ids: [Int64] = []
                ids.reserveCapacity(frozen.count)
                for (offset, input) in frozen.enumerated() {
                    do {
                        ids.append(try await writer.create(input, user: user, now: now, on: connection))
                    } catch let error as CatalogError {
                        throw batch ? error.at(offset: offset) : error
                    }
                }
                return ids
            }
        }
    }

    private func checkCreate(_ input: EntityInput, by user: String) throws(CatalogError) {
        try gatekeeper.check(.create, to: input.entity.name, by: user)
        for (_, items) in input.children {
            for item in items { try checkCreate(item, by: user) }
        }
    }

    /// What a query in ICAT's language finds: entities (wrapped), values, or arrays of several select items.
    public func search(sessionId: String, query: String) async throws(CatalogError) -> JSON {
        let user = try await userName(sessionId: sessionId)
        return try await perform {
            try await database.withConnection { connection in
                try await searcher.search(query, userName: user, on: connection)
            }
        }
    }

    /// One object by id, with what the query's INCLUDE asks for.
    public func get(sessionId: String, query: String, id: Int64) async throws(CatalogError) -> JSON {
        let user = try await userName(sessionId: sessionId)
        let resolved: (entity: EntityDefinition, include: IncludeTree)
        do {
            resolved = try QueryCompiler(model: model, dialect: database.dialect).resolveGet(query)
        } catch {
            throw CatalogError(.badParameter, error.description)
        }
        try gatekeeper.check(.read, to: resolved.entity.name, by: user)
        return try await perform {
            try await database.withConnection { connection in
                try await reader.get(resolved.entity, id: id, include: resolved.include, on: connection)
            }
        }
    }

    /// Changes the fields the entity gives on the object its id names.
    public func update(sessionId: String, entity: JSON) async throws(CatalogError) {
        let user = try await userName(sessionId: sessionId)
        let input = try codec.decodeWrapped(entity)
        try gatekeeper.check(.update, to: input.entity.name, by: user)
        try await perform {
            try await database.withTransaction { connection in
                try await writer.update(input, user: user, now: Date(), on: connection)
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
        let user = try await userName(sessionId: sessionId)
        var targets: [(EntityDefinition, Int64)] = []
        for (offset, json) in entities.enumerated() {
            do throws(CatalogError) {
                let input = try codec.decodeWrapped(json)
                guard let id = input.id else {
                    throw CatalogError.badParameter("The \(input.entity.name) to delete needs its id")
                }
                try gatekeeper.check(.delete, to: input.entity.name, by: user)
                targets.append((input.entity, id))
            } catch {
                throw batch ? error.at(offset: offset) : error
            }
        }
        let frozen = targets
        try await perform {
            try await database.withTransaction { connection in
                for (offset, (entity, id)) in frozen.enumerated() {
                    do {
                        try await writer.delete(entity, id: id, on: connection)
                    } catch let error as CatalogError {
                        throw batch ? error.at(offset: offset) : error
                    }
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
        let user = try await userName(sessionId: sessionId)
        guard let entity = model.entity(named: name) else { throw .badParameter("'\(name)' is not an entity type") }
        let overrides = try codec.decode(keys, as: entity)
        guard overrides.id == nil, overrides.children.isEmpty else {
            throw .badParameter("cloneEntity keys may set attributes and references, not id or collections")
        }
        try gatekeeper.check(.create, to: entity.name, by: user)
        return try await perform {
            try await database.withTransaction { connection in
                try await writer.clone(
                    entity,
                    id: id,
                    keys: overrides.values,
                    user: user,
                    now: Date(),
                    on: connection
                )
            }
        }
    }

    // MARK: Errors

    /// Runs `body`, letting catalog errors through and turning anything else into `INTERNAL` (logged, not shown).
    func perform<R>(_ body: () async throws -> R) async throws(CatalogError) -> R {
        do {
            return try await body()
        } catch let error as CatalogError {
            throw error
        } catch let error as DatabaseError {
            throw writer.internalError(error)
        } catch {
            logger.error("unexpected error: \(String(reflecting: error))")
            throw CatalogError(.internal, "Unexpected error; the server log has the details")
        }
    }
}
