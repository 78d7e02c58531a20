import Foundation
import Hummingbird

/// hummingbird-auth's session storage for the retailer page, kept in the database so a restart does not sign
/// retailers out. Keys (which carry the session cookie) are stored as SHA-256 only; values are JSON. A
/// ``LoginSession`` is stored with its retailer, so a new password or disabling the retailer ends it at once.
struct LoginSessionStorage: PersistDriver {
    let database: AppDatabase
    let clock: @Sendable () -> Date

    func create<Object: Codable & Sendable>(key: String, value: Object, expires: Duration?) async throws {
        let created = try await database.createLoginSession(
            keyHash: SecretToken.hash(key), value: JSONEncoder().encode(value), retailerID: Self.retailerID(of: value),
            expiresAt: expiresAt(expires)
        )
        if !created { throw PersistError.duplicate }
    }

    func set<Object: Codable & Sendable>(key: String, value: Object, expires: Duration?) async throws {
        try await database.saveLoginSession(
            keyHash: SecretToken.hash(key), value: JSONEncoder().encode(value), retailerID: Self.retailerID(of: value),
            expiresAt: expiresAt(expires)
        )
    }

    func get<Object: Codable & Sendable>(key: String, as type: Object.Type) async throws -> Object? {
        try await getWithTTL(key: key, as: type)?.object
    }

    func getWithTTL<Object: Codable & Sendable>(key: String, as type: Object.Type) async throws
        -> (object: Object, ttl: Duration?)?
    {
        let now = clock()
        guard let stored = try await database.loginSession(keyHash: SecretToken.hash(key)) else { return nil }
        if let expiresAt = stored.expiresAt, expiresAt <= now {
            try await remove(key: key)
            return nil
        }
        do {
            let object = try JSONDecoder().decode(type, from: stored.value)
            return (object, stored.expiresAt.map { .seconds(Int64($0.timeIntervalSince(now))) })
        } catch {
            throw PersistError.invalidConversion
        }
    }

    func remove(key: String) async throws {
        try await database.deleteLoginSession(keyHash: SecretToken.hash(key))
    }

    private func expiresAt(_ expires: Duration?) -> Date? {
        expires.map { clock().addingTimeInterval(Double($0.components.seconds)) }
    }

    private static func retailerID(of value: some Codable & Sendable) -> Int64? {
        (value as? LoginSession)?.retailerID
    }
}
