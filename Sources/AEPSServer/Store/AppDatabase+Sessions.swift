import Foundation
import GRDB

/// Why a partner API key change was not made.
public enum APIKeyError: Error, Equatable, CustomStringConvertible {
    case nameTaken(String)
    case notFound(String)

    public var description: String {
        switch self {
        case .nameTaken(let name): "--name: an API key named \(name) already exists"
        case .notFound(let name): "--name: no active API key named \(name)"
        }
    }
}

extension AppDatabase {
    // MARK: Retailer sign-in

    /// Sets (or replaces) a retailer's page password, given its bcrypt hash.
    public func setRetailerPassword(userCode: String, passwordHash: String, now: Date) async throws {
        try await writer.write { db in
            guard var retailer = try Retailer.filter(Retailer.Columns.userCode == userCode).fetchOne(db) else {
                throw RetailerError.notFound(userCode: userCode)
            }
            retailer.passwordHash = passwordHash
            retailer.updatedAt = now
            // Page sessions carry a stamp of the password they were opened with, so this ends them all.
            try retailer.update(db)
        }
    }

    public func retailer(userCode: String) async throws -> Retailer? {
        try await writer.read { db in try Retailer.filter(Retailer.Columns.userCode == userCode).fetchOne(db) }
    }

    public func retailer(id: Int64) async throws -> Retailer? {
        try await writer.read { db in try Retailer.fetchOne(db, key: id) }
    }

    /// Failed sign-ins since `since`: for the account (after its last success) and from the address.
    public func recentLoginFailures(account: String, remoteAddress: String?, since: Date) async throws
        -> (account: Int, address: Int)
    {
        try await writer.read { db in
            let lastSuccess = try Date.fetchOne(db, sql: """
                SELECT MAX(attempted_at) FROM login_attempt WHERE account = ? AND succeeded
                """, arguments: [account]) ?? since
            let accountFailures = try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM login_attempt WHERE account = ? AND NOT succeeded AND attempted_at > ?
                """, arguments: [account, max(since, lastSuccess)]) ?? 0
            let addressFailures = try remoteAddress.map {
                try Int.fetchOne(db, sql: """
                    SELECT COUNT(*) FROM login_attempt WHERE remote_address = ? AND NOT succeeded AND attempted_at > ?
                    """, arguments: [$0, since]) ?? 0
            } ?? 0
            return (accountFailures, addressFailures)
        }
    }

    public func recordLoginAttempt(account: String, remoteAddress: String?, succeeded: Bool, at: Date) async throws {
        try await writer.write { db in
            try db.execute(sql: """
                INSERT INTO login_attempt (account, remote_address, succeeded, attempted_at) VALUES (?, ?, ?, ?)
                """, arguments: [String(account.prefix(64)), remoteAddress, succeeded, at])
        }
    }

    // MARK: Gateway sessions

    /// Stores a new gateway session (its token's hash) for a retailer.
    public func createGatewaySession(
        retailer: Retailer, tokenHash: String, environment: String, issuedVia: String, language: String? = nil,
        now: Date, ttlSeconds: Int
    ) async throws -> GatewaySession {
        try await writer.write { db in
            var session = GatewaySession(
                id: nil, tokenHash: tokenHash, retailerId: retailer.id!, userCode: retailer.userCode,
                environment: environment, issuedVia: issuedVia, language: language, createdAt: now,
                expiresAt: now.addingTimeInterval(Double(ttlSeconds)), revokedAt: nil
            )
            try session.insert(db)
            return session
        }
    }

    /// Revokes every live gateway session of a retailer (e.g. when it signs out).
    public func revokeGatewaySessions(retailerID: Int64, now: Date) async throws {
        try await writer.write { db in
            try db.execute(
                sql: "UPDATE gateway_session SET revoked_at = ? WHERE retailer_id = ? AND revoked_at IS NULL AND expires_at > ?",
                arguments: [now, retailerID, now]
            )
        }
    }

    // MARK: Partner API keys

    public func createAPIKey(name: String, keyHash: String, now: Date) async throws {
        try await writer.write { db in
            if try APIKey.filter(Column("name") == name).fetchCount(db) > 0 { throw APIKeyError.nameTaken(name) }
            var key = APIKey(id: nil, name: name, keyHash: keyHash, createdAt: now, revokedAt: nil)
            try key.insert(db)
        }
    }

    public func revokeAPIKey(name: String, now: Date) async throws {
        try await writer.write { db in
            guard var key = try APIKey.filter(Column("name") == name && Column("revoked_at") == nil).fetchOne(db) else {
                throw APIKeyError.notFound(name)
            }
            key.revokedAt = now
            try key.update(db)
        }
    }

    public func apiKeys() async throws -> [APIKey] {
        try await writer.read { db in try APIKey.order(Column("name")).fetchAll(db) }
    }

    /// The active key with this hash, if any.
    public func activeAPIKey(keyHash: String) async throws -> APIKey? {
        try await writer.read { db in
            try APIKey.filter(Column("key_hash") == keyHash && Column("revoked_at") == nil).fetchOne(db)
        }
    }
}

// MARK: - Switches and caps

extension AppDatabase {
    /// The global kill switch: while on, every debit-hook is refused. Read on every hook, so no restart is needed.
    public func setServicePaused(_ paused: Bool, now: Date) async throws {
        try await writer.write { db in
            try db.execute(sql: """
                INSERT INTO setting (name, value, updated_at) VALUES ('kill_switch', ?, ?)
                ON CONFLICT(name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                """, arguments: [paused ? "on" : "off", now])
        }
    }

    public func isServicePaused() async throws -> Bool {
        try await writer.read { db in try Self.servicePaused(db) }
    }

    /// A retailer's own kill switch.
    @discardableResult
    public func setRetailerPaused(userCode: String, paused: Bool, now: Date) async throws -> Retailer {
        try await updateRetailer(userCode: userCode, now: now) { $0.paused = paused }
    }

    /// A retailer's daily caps; nil uses the policy's default.
    @discardableResult
    public func setRetailerCaps(userCode: String, dailyCount: Int?, dailyAmountPaise: Int64?, now: Date) async throws -> Retailer {
        try await updateRetailer(userCode: userCode, now: now) {
            $0.dailyCountCap = dailyCount
            $0.dailyAmountCapPaise = dailyAmountPaise
        }
    }

    private func updateRetailer(userCode: String, now: Date, _ change: @escaping @Sendable (inout Retailer) -> Void)
        async throws -> Retailer
    {
        try await writer.write { db in
            guard var retailer = try Retailer.filter(Retailer.Columns.userCode == userCode).fetchOne(db) else {
                throw RetailerError.notFound(userCode: userCode)
            }
            change(&retailer)
            retailer.updatedAt = now
            try retailer.update(db)
            return retailer
        }
    }
}
