import Foundation
import GRDB
import Hummingbird

/// hummingbird-auth's session storage in the SQLite file, so a restart does not sign retailers out.
/// Keys (which carry the session cookie) are stored as SHA-256 only; values are JSON.
public struct SQLitePersistDriver: PersistDriver {
    let database: AppDatabase
    let clock: @Sendable () -> Date

    public init(database: AppDatabase, clock: @escaping @Sendable () -> Date) {
        self.database = database
        self.clock = clock
    }

    public func create<Object: Codable & Sendable>(key: String, value: Object, expires: Duration?) async throws {
        let data = try JSONEncoder().encode(value)
        let expiresAt = expires.map { clock().addingTimeInterval(Double($0.components.seconds)) }
        try await database.writer.write { db in
            let exists = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM login_session WHERE key_hash = ?", arguments: [SecretToken.hash(key)]) ?? 0
            if exists > 0 { throw PersistError.duplicate }
            try db.execute(
                sql: "INSERT INTO login_session (key_hash, value, expires_at) VALUES (?, ?, ?)",
                arguments: [SecretToken.hash(key), data, expiresAt]
            )
        }
    }

    public func set<Object: Codable & Sendable>(key: String, value: Object, expires: Duration?) async throws {
        let data = try JSONEncoder().encode(value)
        let expiresAt = expires.map { clock().addingTimeInterval(Double($0.components.seconds)) }
        try await database.writer.write { db in
            if let expiresAt {
                try db.execute(sql: """
                    INSERT INTO login_session (key_hash, value, expires_at) VALUES (?, ?, ?)
                    ON CONFLICT(key_hash) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at
                    """, arguments: [SecretToken.hash(key), data, expiresAt])
            } else {
                try db.execute(sql: """
                    INSERT INTO login_session (key_hash, value, expires_at) VALUES (?, ?, NULL)
                    ON CONFLICT(key_hash) DO UPDATE SET value = excluded.value
                    """, arguments: [SecretToken.hash(key), data])
            }
        }
    }

    public func get<Object: Codable & Sendable>(key: String, as type: Object.Type) async throws -> Object? {
        try await getWithTTL(key: key, as: type)?.object
    }

    public func getWithTTL<Object: Codable & Sendable>(key: String, as type: Object.Type) async throws
        -> (object: Object, ttl: Duration?)?
    {
        let now = clock()
        let row: (Data, Date?)? = try await database.writer.read { db in
            try Row.fetchOne(db, sql: "SELECT value, expires_at FROM login_session WHERE key_hash = ?", arguments: [SecretToken.hash(key)])
                .map { ($0["value"], $0["expires_at"]) }
        }
        guard let (data, expiresAt) = row else { return nil }
        if let expiresAt, expiresAt <= now {
            try await remove(key: key)
            return nil
        }
        do {
            let object = try JSONDecoder().decode(type, from: data)
            return (object, expiresAt.map { .seconds(Int64($0.timeIntervalSince(now))) })
        } catch {
            throw PersistError.invalidConversion
        }
    }

    public func remove(key: String) async throws {
        try await database.writer.write { db in
            try db.execute(sql: "DELETE FROM login_session WHERE key_hash = ?", arguments: [SecretToken.hash(key)])
        }
    }
}
