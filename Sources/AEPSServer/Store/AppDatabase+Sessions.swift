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

/// Why a gateway session was not opened.
public enum GatewaySessionError: Error, Equatable {
    case retailerDisabled(userCode: String)
    case apiKeyRevoked
}

extension AppDatabase {
    // MARK: Retailer sign-in

    /// Sets (or replaces) a retailer's page password, given its bcrypt hash. In the same transaction, ends the
    /// retailer's page sign-ins and revokes the gateway sessions the page opened: whoever knew the old password
    /// keeps nothing it gave them.
    public func setRetailerPassword(userCode: String, passwordHash: String, now: Date) async throws {
        try await writer.write { db in
            guard var retailer = try Retailer.filter(Retailer.Columns.userCode == userCode).fetchOne(db) else {
                throw RetailerError.notFound(userCode: userCode)
            }
            retailer.passwordHash = passwordHash
            retailer.updatedAt = now
            try retailer.update(db)
            try Self.endPageSessions(retailerID: retailer.id!, db: db)
            try Self.revokeGatewaySessions(
                db, now: now, where: "retailer_id = ? AND issued_via = 'page'", arguments: [retailer.id!]
            )
        }
    }

    public func retailer(userCode: String) async throws -> Retailer? {
        try await writer.read { db in try Retailer.filter(Retailer.Columns.userCode == userCode).fetchOne(db) }
    }

    public func retailer(id: Int64) async throws -> Retailer? {
        try await writer.read { db in try Retailer.fetchOne(db, key: id) }
    }

    /// Asks the sign-in throttle whether `account` may try a password from `remoteAddress` now and, when it may,
    /// reserves the attempt (stored as pending, which counts as a failure until its outcome is known) in the same
    /// write transaction that counted the earlier ones: parallel guesses cannot all pass.
    /// Nothing is recorded for an attempt that is delayed.
    public func reserveSignInAttempt(
        account: String, remoteAddress: String?, throttle: SignInThrottle, now: Date
    ) async throws -> SignInAdmission {
        let account = String(account.prefix(64))
        return try await writer.write { db in
            // The pair's failures since its last success, within the throttle's memory.
            let lastSuccess = try Int64.fetchOne(db, sql: """
                SELECT MAX(id) FROM login_attempt WHERE account = ? AND remote_address IS ? AND outcome = 'succeeded'
                """, arguments: [account, remoteAddress]) ?? 0
            let pair = try Row.fetchOne(db, sql: """
                SELECT COUNT(*) AS failures, MAX(attempted_at) AS last FROM login_attempt
                WHERE account = ? AND remote_address IS ? AND outcome <> 'succeeded' AND id > ? AND attempted_at > ?
                """, arguments: [account, remoteAddress, lastSuccess, now.addingTimeInterval(-throttle.pairMemory)])
            let pairFailures: Int = pair?["failures"] ?? 0
            let lastPairFailure: Date? = pair?["last"]
            // The address's failures across all accounts, within the window: the one that must age out first.
            let addressLimitStart = try Date.fetchOne(db, sql: """
                SELECT attempted_at FROM login_attempt
                WHERE remote_address IS ? AND outcome <> 'succeeded' AND attempted_at > ?
                ORDER BY attempted_at DESC LIMIT 1 OFFSET ?
                """, arguments: [
                    remoteAddress, now.addingTimeInterval(-throttle.addressWindow), throttle.maxFailuresPerAddress - 1,
                ])
            let waitUntil = [
                lastPairFailure.map { $0.addingTimeInterval(throttle.delay(afterFailures: pairFailures)) },
                addressLimitStart.map { $0.addingTimeInterval(throttle.addressWindow) },
            ].compactMap { $0 }.max()
            if let waitUntil, waitUntil > now { return .delayed(until: waitUntil) }
            try db.execute(sql: """
                INSERT INTO login_attempt (account, remote_address, outcome, attempted_at) VALUES (?, ?, 'pending', ?)
                """, arguments: [account, remoteAddress, now])
            return .admitted(attemptID: db.lastInsertedRowID)
        }
    }

    /// Records how a reserved sign-in attempt ended.
    public func finishSignInAttempt(_ attemptID: Int64, succeeded: Bool) async throws {
        try await writer.write { db in
            try db.execute(
                sql: "UPDATE login_attempt SET outcome = ? WHERE id = ? AND outcome = 'pending'",
                arguments: [succeeded ? "succeeded" : "failed", attemptID]
            )
        }
    }

    // MARK: Page sign-in sessions (hummingbird-auth's session storage; see LoginSessionStorage)

    /// The stored session under a cookie's SHA-256, expired or not.
    public func loginSession(keyHash: String) async throws -> StoredLoginSession? {
        try await writer.read { db in
            try Row.fetchOne(db, sql: "SELECT value, expires_at FROM login_session WHERE key_hash = ?", arguments: [keyHash])
                .map { StoredLoginSession(value: $0["value"], expiresAt: $0["expires_at"]) }
        }
    }

    /// Stores a new session; false (and nothing written) when one exists under that key already.
    public func createLoginSession(keyHash: String, value: Data, retailerID: Int64?, expiresAt: Date?) async throws -> Bool {
        try await writer.write { db in
            let exists = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM login_session WHERE key_hash = ?", arguments: [keyHash]) ?? 0
            guard exists == 0 else { return false }
            try db.execute(
                sql: "INSERT INTO login_session (key_hash, value, retailer_id, expires_at) VALUES (?, ?, ?, ?)",
                arguments: [keyHash, value, retailerID, expiresAt]
            )
            return true
        }
    }

    /// Stores or replaces a session; a nil `expiresAt` keeps the expiry it had.
    public func saveLoginSession(keyHash: String, value: Data, retailerID: Int64?, expiresAt: Date?) async throws {
        try await writer.write { db in
            if let expiresAt {
                try db.execute(sql: """
                    INSERT INTO login_session (key_hash, value, retailer_id, expires_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT(key_hash) DO UPDATE SET
                        value = excluded.value, retailer_id = excluded.retailer_id, expires_at = excluded.expires_at
                    """, arguments: [keyHash, value, retailerID, expiresAt])
            } else {
                try db.execute(sql: """
                    INSERT INTO login_session (key_hash, value, retailer_id, expires_at) VALUES (?, ?, ?, NULL)
                    ON CONFLICT(key_hash) DO UPDATE SET value = excluded.value, retailer_id = excluded.retailer_id
                    """, arguments: [keyHash, value, retailerID])
            }
        }
    }

    public func deleteLoginSession(keyHash: String) async throws {
        try await writer.write { db in
            try db.execute(sql: "DELETE FROM login_session WHERE key_hash = ?", arguments: [keyHash])
        }
    }

    /// Ends every page sign-in of a retailer (inside a caller's transaction).
    static func endPageSessions(retailerID: Int64, db: Database) throws {
        try db.execute(sql: "DELETE FROM login_session WHERE retailer_id = ?", arguments: [retailerID])
    }

    // MARK: Gateway sessions

    /// Stores a new gateway session (its token's hash) for a retailer; `apiKeyID` is the partner API key that
    /// asked for it, if any (revoking that key revokes the session).
    public func createGatewaySession(
        retailer: Retailer, tokenHash: String, environment: String, issuedVia: String, apiKeyID: Int64? = nil,
        language: String? = nil, now: Date, ttlSeconds: Int
    ) async throws -> GatewaySession {
        try await writer.write { db in
            // Checked again here, so a session cannot be opened just after the retailer or the key was shut off.
            guard try Retailer.fetchOne(db, key: retailer.id!)?.active == true else {
                throw GatewaySessionError.retailerDisabled(userCode: retailer.userCode)
            }
            if let apiKeyID, try APIKey.fetchOne(db, key: apiKeyID)?.revokedAt != nil {
                throw GatewaySessionError.apiKeyRevoked
            }
            var session = GatewaySession(
                id: nil, tokenHash: tokenHash, retailerId: retailer.id!, userCode: retailer.userCode,
                environment: environment, issuedVia: issuedVia, language: language, createdAt: now,
                expiresAt: now.addingTimeInterval(Double(ttlSeconds)), revokedAt: nil, apiKeyId: apiKeyID
            )
            try session.insert(db)
            return session
        }
    }

    /// Revokes every live gateway session of a retailer (e.g. when it signs out).
    public func revokeGatewaySessions(retailerID: Int64, now: Date) async throws {
        try await writer.write { db in
            try Self.revokeGatewaySessions(db, now: now, where: "retailer_id = ?", arguments: [retailerID])
        }
    }

    /// Revokes the gateway sessions that match `condition` and are not revoked yet (inside a caller's transaction).
    /// Expired ones too: whether a session has expired is the callback's clock to decide, not the caller's (the CLI
    /// runs in another process).
    static func revokeGatewaySessions(_ db: Database, now: Date, where condition: String, arguments: StatementArguments) throws {
        try db.execute(
            sql: "UPDATE gateway_session SET revoked_at = ? WHERE revoked_at IS NULL AND \(condition)",
            arguments: [now] + arguments
        )
    }

    // MARK: Partner API keys

    public func createAPIKey(name: String, keyHash: String, now: Date) async throws {
        try await writer.write { db in
            if try APIKey.filter(Column("name") == name).fetchCount(db) > 0 { throw APIKeyError.nameTaken(name) }
            var key = APIKey(id: nil, name: name, keyHash: keyHash, createdAt: now, revokedAt: nil)
            try key.insert(db)
        }
    }

    /// Revokes a partner API key and, in the same transaction, the gateway sessions opened with it.
    public func revokeAPIKey(name: String, now: Date) async throws {
        try await writer.write { db in
            guard var key = try APIKey.filter(Column("name") == name && Column("revoked_at") == nil).fetchOne(db) else {
                throw APIKeyError.notFound(name)
            }
            key.revokedAt = now
            try key.update(db)
            // Whatever the key opened closes with it.
            try Self.revokeGatewaySessions(db, now: now, where: "api_key_id = ?", arguments: [key.id!])
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
