import Foundation
import GRDB

// MARK: - Records

/// A person who may use the ops console (`aeps ops-user add`).
public struct OpsUser: StoredRecord, Equatable {
    public enum Role: String, Sendable, Codable, CaseIterable {
        /// Reads every page and exports.
        case viewer
        /// Also re-inquires, resolves, enables and disables retailers, revokes sessions, turns the kill switch.
        case `operator`
    }

    public var id: Int64?
    public var name: String
    public var role: Role
    public var passwordHash: String
    public var active: Bool
    public var createdAt: Date

    public static let databaseTableName = "ops_user"
}

/// One row of the console's audit log: who did what, when, to what, why, and how it ended. Never changed.
public struct OpsAuditEntry: StoredRecord, Equatable {
    public var id: Int64?
    public var at: Date
    public var opsUserId: Int64?
    public var actor: String
    /// `sign_in`, `sign_out`, `re_inquire`, `resolve`, `retailer_enable`, `retailer_disable`, `kill_switch_on`,
    /// `kill_switch_off`, `revoke_sessions`, `export_csv`, `export_json`.
    public var action: String
    /// `transaction:<client_ref_id>`, `retailer:<user_code>`, `service`, or a description of an export's filter.
    public var target: String?
    public var note: String?
    public var outcome: String?

    public init(
        at: Date, opsUserId: Int64?, actor: String, action: String, target: String? = nil, note: String? = nil,
        outcome: String? = nil
    ) {
        self.at = at
        self.opsUserId = opsUserId
        self.actor = actor
        self.action = action
        self.target = target
        self.note = note
        self.outcome = outcome
    }

    public static let databaseTableName = "ops_audit"
}

/// Why an ops account change was not made.
public enum OpsUserError: Error, Equatable, CustomStringConvertible {
    case alreadyExists(name: String)

    public var description: String {
        switch self {
        case .alreadyExists(let name): "--name: an ops user named \(name) already exists"
        }
    }
}

/// Why a resolution was not recorded.
public enum OpsActionError: Error, Equatable {
    case transactionNotFound
}

/// The console's list filter (all parts optional; validated by the console before it gets here).
public struct TransactionFilter: Sendable, Equatable {
    /// client_ref_id, Eko tid, bank reference, retailer user_code, or a full 10-digit customer mobile.
    public var query: String?
    public var state: String?
    public var type: Int?
    public var reason: String?
    /// Indian days, inclusive (`YYYY-MM-DD`).
    public var from: String?
    public var to: String?

    public init(
        query: String? = nil, state: String? = nil, type: Int? = nil, reason: String? = nil, from: String? = nil,
        to: String? = nil
    ) {
        self.query = query
        self.state = state
        self.type = type
        self.reason = reason
        self.from = from
        self.to = to
    }
}

/// One transaction of the console's list with its settlement, if any.
public struct TransactionListRow: Sendable, Equatable {
    public var transaction: TransactionRecord
    public var retailerName: String?
    public var settledPaise: Int64?
    public var reversedPaise: Int64?
}

/// Everything the database holds about one transaction, for its timeline.
public struct TransactionHistory: Sendable {
    public var transaction: TransactionRecord
    public var retailerName: String?
    public var callbacks: [CallbackLogEntry]
    public var ekoResponses: [EkoResponseRecord]
    public var ekoCalls: [EkoCallRow]
    public var settlements: [SettlementRecord]
    public var audit: [OpsAuditEntry]
}

/// A call to Eko's server API as recorded in `eko_call` (its body already masked).
public struct EkoCallRow: Sendable, Equatable, FetchableRecord, Decodable {
    public var id: Int64
    public var calledAt: Date
    public var operation: String
    public var reference: String
    public var attempt: Int
    public var httpStatus: Int?
    public var ekoStatus: Int?
    public var txStatus: Int?
    public var outcome: String
    public var note: String?
    public var body: String?
    public var latencyMs: Double

    public static var databaseColumnDecodingStrategy: DatabaseColumnDecodingStrategy { .convertFromSnakeCase }
}

/// Money totals of one group (an Indian day, or a retailer): settlements, reversals, and what remains.
public struct SettlementTotal: Sendable, Equatable {
    public var key: String
    public var label: String?
    public var settlements: Int
    public var settledPaise: Int64
    public var commissionPaise: Int64
    public var tdsPaise: Int64
    public var reversals: Int
    public var reversedPaise: Int64
    public var netPaise: Int64 { settledPaise - reversedPaise }
}

/// A retailer with its open gateway sessions, for the console.
public struct RetailerOverview: Sendable, Equatable {
    public var retailer: Retailer
    public var openGatewaySessions: Int
    public var pageSignIns: Int
    public var balancePaise: Int64
}

/// The size of the database files on disk.
public struct DatabaseStatus: Sendable, Equatable {
    /// The main file, its write-ahead log, and both together.
    public var fileBytes: Int64
    public var walBytes: Int64
    public var totalBytes: Int64 { fileBytes + walBytes }
}

/// Filters of the callback log page.
public struct CallbackLogFilter: Sendable, Equatable {
    public var origin: String?
    public var action: String?
    public var outcome: String?

    public init(origin: String? = nil, action: String? = nil, outcome: String? = nil) {
        self.origin = origin
        self.action = action
        self.outcome = outcome
    }
}

// MARK: - Accounts and audit

extension AppDatabase {
    /// Adds an ops console account. Fails when the name is taken.
    @discardableResult
    public func addOpsUser(name: String, role: OpsUser.Role, passwordHash: String, now: Date) async throws -> OpsUser {
        try await writer.write { db in
            if try OpsUser.filter(Column("name") == name).fetchCount(db) > 0 { throw OpsUserError.alreadyExists(name: name) }
            var user = OpsUser(id: nil, name: name, role: role, passwordHash: passwordHash, active: true, createdAt: now)
            try user.insert(db)
            return user
        }
    }

    public func opsUser(name: String) async throws -> OpsUser? {
        try await writer.read { db in try OpsUser.filter(Column("name") == name).fetchOne(db) }
    }

    public func opsUser(id: Int64) async throws -> OpsUser? {
        try await writer.read { db in try OpsUser.fetchOne(db, key: id) }
    }

    /// Appends one row to the audit log (synced like every commit).
    public func recordAudit(_ entry: OpsAuditEntry) async throws {
        try await writer.write { db in
            var entry = entry
            try entry.insert(db)
        }
    }

    /// The audit log, newest first; `before` is the id of the last row of the previous page.
    public func auditLog(before: Int64? = nil, limit: Int) async throws -> [OpsAuditEntry] {
        try await writer.read { db in
            var request = OpsAuditEntry.order(Column("id").desc).limit(limit)
            if let before { request = request.filter(Column("id") < before) }
            return try request.fetchAll(db)
        }
    }

    /// Records a person's resolution of a transaction (who, when, the note) and its audit row, in one
    /// transaction. The state and the money rows are left as Eko's answers made them.
    public func resolveTransaction(clientRefID: String, by user: OpsUser, note: String, now: Date) async throws {
        try await writer.write { db in
            try db.execute(sql: """
                UPDATE aeps_transaction SET resolved_at = ?, resolved_by = ?, resolution_note = ? WHERE client_ref_id = ?
                """, arguments: [now, user.name, note, clientRefID])
            guard db.changesCount == 1 else { throw OpsActionError.transactionNotFound }
            var entry = OpsAuditEntry(
                at: now, opsUserId: user.id, actor: user.name, action: "resolve", target: "transaction:\(clientRefID)",
                note: note, outcome: "resolved"
            )
            try entry.insert(db)
        }
    }

    /// A transaction's resolution, if a person recorded one.
    public func resolution(clientRefID: String) async throws -> (at: Date, by: String, note: String)? {
        try await writer.read { db in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT resolved_at, resolved_by, resolution_note FROM aeps_transaction
                WHERE client_ref_id = ? AND resolved_at IS NOT NULL
                """, arguments: [clientRefID])
            else { return nil }
            return (row["resolved_at"], row["resolved_by"] ?? "", row["resolution_note"] ?? "")
        }
    }

    /// The database files' sizes (the ops console's overview; retention adds what it removed).
    public func databaseStatus() async throws -> DatabaseStatus {
        func size(_ path: String) -> Int64 {
            ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? 0
        }
        return DatabaseStatus(fileBytes: size(path), walBytes: size(path + "-wal"))
    }
}

// MARK: - Transactions

extension AppDatabase {
    /// The console's list: newest first by (decided_at, id), filtered; `after` is the id of the last row of the
    /// previous page (keyset pagination, so a page costs the same however deep it is).
    public func searchTransactions(_ filter: TransactionFilter, after: Int64?, limit: Int) async throws -> [TransactionListRow] {
        try await writer.read { db in try Self.searchTransactions(db, filter, after: after, limit: limit) }
    }

    static func searchTransactions(_ db: Database, _ filter: TransactionFilter, after: Int64?, limit: Int) throws
        -> [TransactionListRow]
    {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let query = filter.query {
            var alternatives = ["t.client_ref_id = ?", "t.eko_tid = ?", "t.bank_ref_num = ?", "t.user_code = ?"]
            arguments += [query, query, query, query]
            if query.count == 10, query.allSatisfy(\.isASCIIDigit) {
                alternatives.append("t.customer_mobile = ?")
                arguments += [query]
            }
            conditions.append("(" + alternatives.joined(separator: " OR ") + ")")
        }
        if let state = filter.state {
            conditions.append("t.state = ?")
            arguments += [state]
        }
        if let type = filter.type {
            conditions.append("t.type = ?")
            arguments += [type]
        }
        if let reason = filter.reason {
            conditions.append("t.reason = ?")
            arguments += [reason]
        }
        if let from = filter.from {
            conditions.append("t.ist_day >= ?")
            arguments += [from]
        }
        if let to = filter.to {
            conditions.append("t.ist_day <= ?")
            arguments += [to]
        }
        if let after {
            conditions.append("(t.decided_at, t.id) < (SELECT decided_at, id FROM aeps_transaction WHERE id = ?)")
            arguments += [after]
        }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let rows = try Row.fetchAll(db, sql: """
            SELECT t.*, r.name AS retailer_name,
                   (SELECT amount_paise FROM settlement s WHERE s.client_ref_id = t.client_ref_id AND s.kind = 'settlement') AS settled_paise,
                   (SELECT amount_paise FROM settlement s WHERE s.client_ref_id = t.client_ref_id AND s.kind = 'reversal') AS reversed_paise
            FROM aeps_transaction t LEFT JOIN retailer r ON r.id = t.retailer_id
            \(whereClause)
            ORDER BY t.decided_at DESC, t.id DESC
            LIMIT ?
            """, arguments: arguments + [limit])
        return try rows.map { row in
            TransactionListRow(
                transaction: try TransactionRecord(row: row), retailerName: row["retailer_name"],
                settledPaise: row["settled_paise"], reversedPaise: row["reversed_paise"]
            )
        }
    }

    /// Everything recorded about one transaction: its row, every callback and eko-response under its
    /// client_ref_id, every call to Eko about it (by client_ref_id or its tid), its settlement rows and the
    /// console's actions on it.
    public func transactionHistory(clientRefID: String) async throws -> TransactionHistory? {
        try await writer.read { db in
            guard let transaction = try TransactionRecord.filter(TransactionRecord.Columns.clientRefId == clientRefID)
                .fetchOne(db)
            else { return nil }
            let retailerName = try String.fetchOne(
                db, sql: "SELECT name FROM retailer WHERE id = ?", arguments: [transaction.retailerId]
            )
            let callbacks = try CallbackLogEntry.filter(Column("client_ref_id") == clientRefID)
                .order(Column("received_at"), Column("id")).fetchAll(db)
            let responses = try EkoResponseRecord.filter(Column("client_ref_id") == clientRefID)
                .order(Column("received_at"), Column("id")).fetchAll(db)
            let references = [clientRefID] + (transaction.ekoTid.map { [$0] } ?? [])
            let calls = try EkoCallRow.fetchAll(db, sql: """
                SELECT * FROM eko_call WHERE reference IN (\(references.map { _ in "?" }.joined(separator: ", ")))
                ORDER BY called_at, id
                """, arguments: StatementArguments(references))
            let settlements = try SettlementRecord.filter(Column("client_ref_id") == clientRefID)
                .order(Column("created_at"), Column("id")).fetchAll(db)
            let audit = try OpsAuditEntry.filter(Column("target") == "transaction:\(clientRefID)").order(Column("id"))
                .fetchAll(db)
            return TransactionHistory(
                transaction: transaction, retailerName: retailerName, callbacks: callbacks, ekoResponses: responses,
                ekoCalls: calls, settlements: settlements, audit: audit
            )
        }
    }

    /// What needs a person or Eko: approvals without a final answer, pending / hold / refund pending,
    /// needs_attention and flagged transactions not yet resolved. Oldest first.
    public func stuckTransactions(limit: Int) async throws -> [TransactionListRow] {
        try await writer.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT t.*, r.name AS retailer_name FROM aeps_transaction t LEFT JOIN retailer r ON r.id = t.retailer_id
                WHERE t.resolved_at IS NULL
                  AND (t.state IN ('approved', 'success', 'pending', 'hold', 'refund_pending', 'needs_attention')
                       OR t.flag_reason IS NOT NULL)
                ORDER BY t.decided_at, t.id
                LIMIT ?
                """, arguments: [limit])
            return try rows.map {
                TransactionListRow(transaction: try TransactionRecord(row: $0), retailerName: $0["retailer_name"])
            }
        }
    }

    /// How many transactions wait for Eko or a person (the overview's count), and how many are flagged.
    public func attentionCounts() async throws -> (stuck: Int, flagged: Int) {
        try await writer.read { db in
            let stuck = try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM aeps_transaction WHERE resolved_at IS NULL
                  AND (state IN ('approved', 'success', 'pending', 'hold', 'refund_pending', 'needs_attention')
                       OR flag_reason IS NOT NULL)
                """) ?? 0
            let flagged = try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM aeps_transaction WHERE flag_reason IS NOT NULL AND resolved_at IS NULL"
            ) ?? 0
            return (stuck, flagged)
        }
    }
}

// MARK: - Settlements, retailers, callbacks

extension AppDatabase {
    /// Settlement and reversal totals per Indian day (of the row's time) or per retailer, newest day first,
    /// between two Indian days inclusive.
    public func settlementTotals(byRetailer: Bool, from: String?, to: String?) async throws -> [SettlementTotal] {
        try await writer.read { db in
            let day = "date(s.created_at, '+330 minutes')"
            let key = byRetailer ? "COALESCE(s.user_code, '')" : day
            let rows = try Row.fetchAll(db, sql: """
                SELECT \(key) AS key, \(byRetailer ? "MAX(r.name)" : "NULL") AS label,
                       SUM(s.kind = 'settlement') AS settlements,
                       COALESCE(SUM(CASE WHEN s.kind = 'settlement' THEN s.amount_paise END), 0) AS settled,
                       COALESCE(SUM(CASE WHEN s.kind = 'settlement' THEN s.commission_paise END), 0) AS commission,
                       COALESCE(SUM(CASE WHEN s.kind = 'settlement' THEN s.tds_paise END), 0) AS tds,
                       SUM(s.kind = 'reversal') AS reversals,
                       COALESCE(SUM(CASE WHEN s.kind = 'reversal' THEN s.amount_paise END), 0) AS reversed
                FROM settlement s LEFT JOIN retailer r ON r.id = s.retailer_id
                WHERE (? IS NULL OR \(day) >= ?) AND (? IS NULL OR \(day) <= ?)
                GROUP BY \(key)
                ORDER BY \(byRetailer ? "key" : "key DESC")
                """, arguments: [from, from, to, to])
            return rows.map { row in
                SettlementTotal(
                    key: row["key"], label: row["label"], settlements: row["settlements"], settledPaise: row["settled"],
                    commissionPaise: row["commission"], tdsPaise: row["tds"], reversals: row["reversals"],
                    reversedPaise: row["reversed"]
                )
            }
        }
    }

    /// Every retailer with its live gateway sessions, page sign-ins and balance (settlements minus reversals).
    public func retailerOverviews(now: Date) async throws -> [RetailerOverview] {
        try await writer.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT r.*,
                  (SELECT COUNT(*) FROM gateway_session g WHERE g.retailer_id = r.id AND g.revoked_at IS NULL
                     AND g.expires_at > ?) AS open_sessions,
                  (SELECT COUNT(*) FROM login_session l WHERE l.retailer_id = r.id AND (l.expires_at IS NULL OR l.expires_at > ?))
                     AS page_sign_ins,
                  (SELECT COALESCE(SUM(CASE s.kind WHEN 'settlement' THEN s.amount_paise ELSE -s.amount_paise END), 0)
                     FROM settlement s WHERE s.retailer_id = r.id) AS balance
                FROM retailer r ORDER BY r.user_code
                """, arguments: [now, now])
            return try rows.map { row in
                RetailerOverview(
                    retailer: try Retailer(row: row), openGatewaySessions: row["open_sessions"],
                    pageSignIns: row["page_sign_ins"], balancePaise: row["balance"]
                )
            }
        }
    }

    /// Ends a retailer's page sign-ins and revokes its gateway sessions (the console's "revoke sessions").
    /// Returns how many gateway sessions were still open.
    @discardableResult
    public func revokeRetailerSessions(userCode: String, now: Date) async throws -> Int {
        try await writer.write { db in
            guard let retailer = try Retailer.filter(Retailer.Columns.userCode == userCode).fetchOne(db) else {
                throw RetailerError.notFound(userCode: userCode)
            }
            let open = try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM gateway_session WHERE retailer_id = ? AND revoked_at IS NULL AND expires_at > ?
                """, arguments: [retailer.id!, now]) ?? 0
            try Self.endPageSessions(retailerID: retailer.id!, db: db)
            try Self.revokeGatewaySessions(db, now: now, where: "retailer_id = ?", arguments: [retailer.id!])
            return open
        }
    }

    /// The callback log, newest first; `before` is the id of the last row of the previous page.
    public func callbackLog(_ filter: CallbackLogFilter, before: Int64?, limit: Int) async throws -> [CallbackLogEntry] {
        try await writer.read { db in
            var request = CallbackLogEntry.order(Column("id").desc).limit(limit)
            if let origin = filter.origin { request = request.filter(Column("origin") == origin) }
            if let action = filter.action { request = request.filter(Column("action") == action) }
            if let outcome = filter.outcome { request = request.filter(Column("outcome") == outcome) }
            if let before { request = request.filter(Column("id") < before) }
            return try request.fetchAll(db)
        }
    }
}
