import Foundation
import GRDB

/// How long what retention may prune is kept (`retention.*`). Transactions, settlements, eko-responses, calls to
/// Eko and audit rows are never pruned: they are the record of what happened to money.
public struct RetentionPolicy: Sendable, Equatable {
    /// Raw callback bodies (`callback_log.body`) older than this are dropped; the rows stay.
    public var callbackBodyDays = 90
    /// Sign-in attempts (`login_attempt`) older than this are deleted.
    public var loginAttemptDays = 30
    /// Gateway sessions expired or revoked this long ago, that no transaction references, are deleted.
    public var gatewaySessionDays = 30
    /// Per-source hourly counts of unbound callbacks (`callback_source`) older than this are deleted.
    public var callbackSourceDays = 30

    public init() {}

    static func cutoff(_ now: Date, days: Int) -> Date { now.addingTimeInterval(-Double(days) * 86_400) }
}

/// How much one retention run removed, per table.
public struct RetentionRemoved: Sendable, Equatable {
    /// Expired page sign-ins.
    public var loginSessions = 0
    public var loginAttempts = 0
    public var gatewaySessions = 0
    public var callbackSources = 0
    /// Callback bodies set to NULL (the rows, their digest and size stay).
    public var callbackBodies = 0

    public init() {}

    /// The names used for each count (metrics labels, the console), in this order.
    public static let tables = ["login_session", "login_attempt", "gateway_session", "callback_source", "callback_log_body"]

    public var byTable: [(table: String, count: Int)] {
        Array(zip(Self.tables, [loginSessions, loginAttempts, gatewaySessions, callbackSources, callbackBodies]))
            .map { (table: $0.0, count: $0.1) }
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.byTable.map(\.count) == rhs.byTable.map(\.count) }
}

/// One recorded retention run.
public struct RetentionRun: Sendable, Equatable {
    /// The time the run pruned against (the injected clock's).
    public var ranAt: Date
    /// How long it took, in milliseconds.
    public var durationMilliseconds: Double
    public var removed: RetentionRemoved
}

/// What the console shows about storage: the database's size on disk and the last retention run.
public struct RetentionStatus: Sendable, Equatable {
    /// The main database file, its write-ahead log (`-wal`) and the two together, in bytes.
    public var databaseBytes: Int64
    public var walBytes: Int64
    public var totalBytes: Int64 { databaseBytes + walBytes }
    /// Bytes of free pages inside the file (reused by new rows; the file itself does not shrink).
    public var freeBytes: Int64
    /// nil until retention has run once.
    public var lastRun: RetentionRun?
}

extension AppDatabase {
    /// Prunes what `policy` allows, in small write transactions (`batchSize` rows each) so that a debit-hook never
    /// waits long for the write lock, then records the run in `retention_run`. Never touches `aeps_transaction`,
    /// `settlement`, `eko_response`, `eko_call` or any audit table; a gateway session that a transaction references
    /// is kept however old it is.
    @discardableResult
    public func applyRetention(_ policy: RetentionPolicy, now: Date, batchSize: Int = 500) async throws -> RetentionRun {
        let start = ContinuousClock.now
        var removed = RetentionRemoved()
        removed.loginSessions = try await inBatches(batchSize, sql: """
            DELETE FROM login_session WHERE rowid IN (
              SELECT rowid FROM login_session WHERE expires_at IS NOT NULL AND expires_at <= ? LIMIT ?)
            """, now)
        removed.loginAttempts = try await inBatches(batchSize, sql: """
            DELETE FROM login_attempt WHERE id IN (SELECT id FROM login_attempt WHERE attempted_at < ? LIMIT ?)
            """, RetentionPolicy.cutoff(now, days: policy.loginAttemptDays))
        removed.gatewaySessions = try await inBatches(batchSize, sql: """
            DELETE FROM gateway_session WHERE id IN (
              SELECT g.id FROM gateway_session g
              WHERE (g.expires_at < ?1 OR g.revoked_at < ?1)
                AND NOT EXISTS (SELECT 1 FROM aeps_transaction t WHERE t.gateway_session_id = g.id)
              LIMIT ?2)
            """, RetentionPolicy.cutoff(now, days: policy.gatewaySessionDays))
        // `hour` is the UTC hour as ISO 8601 text (`2026-11-27T10`): compared as text.
        let sourceHour = String(ISO8601DateFormatter().string(from: RetentionPolicy.cutoff(now, days: policy.callbackSourceDays)).prefix(13))
        removed.callbackSources = try await inBatches(batchSize, sql: """
            DELETE FROM callback_source WHERE rowid IN (SELECT rowid FROM callback_source WHERE hour < ? LIMIT ?)
            """, sourceHour)
        removed.callbackBodies = try await inBatches(batchSize, sql: """
            UPDATE callback_log SET body = NULL WHERE id IN (
              SELECT id FROM callback_log WHERE body IS NOT NULL AND received_at < ? LIMIT ?)
            """, RetentionPolicy.cutoff(now, days: policy.callbackBodyDays))
        let elapsed = (ContinuousClock.now - start).components
        let run = RetentionRun(
            ranAt: now, durationMilliseconds: Double(elapsed.seconds) * 1000 + Double(elapsed.attoseconds) / 1e15,
            removed: removed
        )
        let counts = run.removed
        try await writer.write { db in
            try db.execute(sql: """
                INSERT INTO retention_run (ran_at, duration_ms, login_sessions, login_attempts, gateway_sessions,
                                           callback_sources, callback_bodies)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """, arguments: [
                    run.ranAt, run.durationMilliseconds, counts.loginSessions, counts.loginAttempts, counts.gatewaySessions,
                    counts.callbackSources, counts.callbackBodies,
                ])
        }
        return run
    }

    /// Runs `sql` (with `cutoff` and the batch size as its two arguments) until it changes fewer rows than a batch;
    /// each batch is its own write transaction. Returns the rows changed.
    private func inBatches(_ batchSize: Int, sql: String, _ cutoff: some DatabaseValueConvertible & Sendable) async throws -> Int {
        var total = 0
        while true {
            let changed = try await writer.write { db in
                try db.execute(sql: sql, arguments: [cutoff, batchSize])
                return db.changesCount
            }
            total += changed
            if changed < batchSize { return total }
        }
    }

    /// The database's size on disk (main file and WAL), its free space, and the last retention run, for the console.
    public func retentionStatus() async throws -> RetentionStatus {
        let (free, last) = try await writer.read { db -> (Int64, RetentionRun?) in
            let pageSize = try Int64.fetchOne(db, sql: "PRAGMA page_size") ?? 0
            let freePages = try Int64.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0
            let row = try Row.fetchOne(db, sql: "SELECT * FROM retention_run ORDER BY id DESC LIMIT 1")
            let run = row.map { row in
                var removed = RetentionRemoved()
                removed.loginSessions = row["login_sessions"]
                removed.loginAttempts = row["login_attempts"]
                removed.gatewaySessions = row["gateway_sessions"]
                removed.callbackSources = row["callback_sources"]
                removed.callbackBodies = row["callback_bodies"]
                return RetentionRun(ranAt: row["ran_at"], durationMilliseconds: row["duration_ms"], removed: removed)
            }
            return (pageSize * freePages, run)
        }
        func size(_ path: String) -> Int64 {
            ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
        }
        return RetentionStatus(databaseBytes: size(path), walBytes: size(path + "-wal"), freeBytes: free, lastRun: last)
    }
}
