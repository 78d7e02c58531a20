import Foundation
import GRDB

/// What became of a debit-hook, as recorded.
public struct DebitHookResult: Sendable, Equatable {
    public var decision: PolicyDecision
    /// True when the client_ref_id had been decided before (the same decision is given again).
    public var isRepeat: Bool
    /// The language of the hook's gateway session, when it has one (refusal messages follow it).
    public var language: String? = nil
}

/// What became of an eko-response, as recorded. A report is a claim: on its own it never moves a transaction.
public enum EkoResponseOutcome: String, Sendable, Equatable {
    /// Recorded on its transaction; Eko's Transaction Inquiry is queued to check it.
    case inquiryQueued = "inquiry_queued"
    /// Recorded on its transaction; nothing to ask (it waits for a person: `needs_attention`).
    case recorded
    /// `settlement.verify_with_inquiry` is off: applied as Eko's word, marked `eko_response_unverified`.
    case appliedUnverified = "applied_unverified"
    /// The same eko-response had already been received: nothing changed.
    case duplicate
    /// No debit-hook with this client_ref_id was ever decided here.
    case unknownClientRefID = "unknown_client_ref_id"
    /// The debit-hook for this client_ref_id was refused, yet a result arrived: needs a look.
    case responseForRefusedHook = "response_for_refused_hook"
    /// `tx_status` is missing or not one of Eko's codes (recorded; Eko is asked all the same).
    case unknownTxStatus = "unknown_tx_status"
    /// The body carries no client_ref_id.
    case missingClientRefID = "missing_client_ref_id"
    /// The client_ref_id is not a bounded, printable identifier: kept as no reference at all.
    case invalidClientRefID = "invalid_client_ref_id"
    /// The transaction already holds ``AppDatabase/maxReportsPerTransaction`` distinct reports: counted, not kept.
    case tooManyReports = "too_many_reports"
}

/// One debit-hook waiting for the writer (see ``AppDatabase/decideDebitHook``).
package struct DecisionRequest: Sendable {
    package var hook: DebitHook
    package var sessionToken: String?
    package var policy: DebitHookPolicy
    package var now: Date
    package var log: CallbackLogEntry
    package var latency: @Sendable () -> Double
    package var mayAnswer: @Sendable () -> Bool

    package init(
        hook: DebitHook, sessionToken: String?, policy: DebitHookPolicy, now: Date, log: CallbackLogEntry,
        latency: @escaping @Sendable () -> Double, mayAnswer: @escaping @Sendable () -> Bool = { true }
    ) {
        (self.hook, self.sessionToken, self.policy, self.now, self.log) = (hook, sessionToken, policy, now, log)
        (self.latency, self.mayAnswer) = (latency, mayAnswer)
    }
}

/// Group commit for debit-hook decisions: a hook that finds the writer busy waits in this queue, and when the
/// writer is free it takes everything waiting (up to ``maxBatch``) into one transaction with one synced commit,
/// then answers them all. Nothing waits for company: a lone hook is taken at once, so at low load the latency
/// stays that of one commit; under load, one fsync serves many answers.
actor DecisionQueue {
    static let maxBatch = 64

    private struct Waiting {
        let request: DecisionRequest
        let continuation: CheckedContinuation<DebitHookResult, any Error>
    }

    private var waiting: [Waiting] = []
    private var draining = false
    /// How many hooks each batch held (for the tests and the benchmark).
    private(set) var batchSizes: [Int] = []

    func submit(
        _ request: DecisionRequest,
        run: @escaping @Sendable ([DecisionRequest]) async throws -> [Result<DebitHookResult, any Error>]
    ) async throws -> DebitHookResult {
        try await withCheckedThrowingContinuation { continuation in
            waiting.append(Waiting(request: request, continuation: continuation))
            if !draining {
                draining = true
                Task { await self.drain(run) }
            }
        }
    }

    private func drain(_ run: @Sendable ([DecisionRequest]) async throws -> [Result<DebitHookResult, any Error>]) async {
        while !waiting.isEmpty {
            let batch = Array(waiting.prefix(Self.maxBatch))
            waiting.removeFirst(batch.count)
            if batchSizes.count < 10_000 { batchSizes.append(batch.count) }
            do {
                let results = try await run(batch.map(\.request))
                for (waiter, result) in zip(batch, results) { waiter.continuation.resume(with: result) }
            } catch {
                for waiter in batch { waiter.continuation.resume(throwing: error) }
            }
        }
        draining = false
    }
}

extension AppDatabase {
    /// Sizes of the group commits so far (at most the first 10,000), for tests and the benchmark.
    package func decisionBatchSizes() async -> [Int] { await decisions.batchSizes }

    /// Decides a debit-hook and records the decision and the callback in one durable transaction.
    ///
    /// The facts (session, retailer, counters without this client_ref_id, switches, an earlier decision under the
    /// same client_ref_id) are read inside the write transaction, and the pure policy decides; a repeat is
    /// re-decided against the present and never inserts or counts twice. A hook refused before it is bound to a
    /// live session leaves no transaction row and no body: a compact log row (reason, size, digest), written only
    /// while its source is under its hourly allowance, and a per-source count (see ``noteUnbound``).
    /// - Parameters:
    ///   - log: the callback's log row; its outcome, reason and latency are filled in here.
    ///   - latency: milliseconds since the request arrived, read just before the log row is written.
    ///   - mayAnswer: asked once, after the decision and before anything is written: false when the caller has
    ///     already answered (the budget ran out), and the decision is then recorded as `storage_timeout`, never as
    ///     an approval. Once it returns true the caller answers with this transaction's outcome, whatever it is.
    ///
    /// Hooks arriving while the writer is busy are decided together in one transaction and one synced commit
    /// (``DecisionQueue``), in arrival order; each is answered only after that commit.
    public func decideDebitHook(
        _ hook: DebitHook,
        sessionToken: String?,
        policy: DebitHookPolicy,
        now: Date,
        log: CallbackLogEntry,
        latency: @escaping @Sendable () -> Double,
        mayAnswer: @escaping @Sendable () -> Bool = { true }
    ) async throws -> DebitHookResult {
        let request = DecisionRequest(
            hook: hook, sessionToken: sessionToken, policy: policy, now: now, log: log, latency: latency, mayAnswer: mayAnswer
        )
        return try await decisions.submit(request) { batch in try await self.decideBatch(batch) }
    }

    /// Decides hooks one after another inside one write transaction (so each sees the ones before it: caps stay
    /// exact), and commits once. Each hook runs in its own savepoint: one whose statements fail is rolled back and
    /// gets its error, the others go on. If the transaction itself fails (its commit, say), it throws and nothing
    /// of the batch is recorded; the callers then answer refusals.
    package func decideBatch(_ requests: [DecisionRequest]) async throws -> [Result<DebitHookResult, any Error>] {
        try await writer.write { db in
            var results: [Result<DebitHookResult, any Error>] = []
            results.reserveCapacity(requests.count)
            for request in requests {
                var outcome: Result<DebitHookResult, any Error> = .failure(CancellationError())
                do {
                    try db.inSavepoint {
                        outcome = .success(try Self.decideOne(request, db: db))
                        return .commit
                    }
                } catch {
                    outcome = .failure(error)
                }
                results.append(outcome)
            }
            return results
        }
    }

    static func decideOne(_ request: DecisionRequest, db: Database) throws -> DebitHookResult {
        let (hook, now) = (request.hook, request.now)
        let (facts, existing) = try Self.loadFacts(for: hook, sessionToken: request.sessionToken, now: now, db: db)
        var sessionID: Int64? = nil
        var language: String? = nil
        if case .found(let found) = facts.session {
            sessionID = found.id
            language = found.language
        }
        let retailer = facts.retailer
        let istDay = IndianTime.day(now)
        var decision = request.policy.evaluate(hook, facts: facts)
        if !request.mayAnswer() {
            // The answer (a refusal) has already left: record why, and never as an approval.
            decision = .refuse(.storageTimeout)
        }
        let unbound = decision.refusalCode?.isBeforeBinding == true

        if existing == nil, !unbound {
            var record = TransactionRecord(
                id: nil, clientRefId: hook.clientRefID, retailerId: retailer?.id, userCode: hook.userCode,
                type: hook.type, amountRaw: hook.amountRaw, amountPaise: hook.amountPaise,
                customerMobile: hook.customerMobile, bankCode: hook.bankCode,
                requestFingerprint: hook.fingerprint,
                decision: decision.isApproved ? "approved" : "refused",
                reason: decision.reasonCode, message: decision.message,
                state: decision.isApproved ? .approved : .refused,
                reportedTxStatus: nil, reportedAmountPaise: nil, ekoTid: nil, bankRefNum: nil, aadhaarLast4: nil,
                decidedAt: now, reportedAt: nil, gatewaySessionId: sessionID, istDay: istDay, createdAt: now,
                updatedAt: now
            )
            record.hashParamsSent = hook.hashParamsText
            try Self.insertDecision(record, db: db)
            if decision.isApproved { try Self.countApproval(record, db: db) }
        }
        var entry = request.log
        entry.outcome = decision.isApproved ? "approved" : "refused"
        entry.reason = existing != nil ? "repeat:\(decision.reasonCode)" : decision.reasonCode
        entry.latencyMs = request.latency()
        if unbound {
            entry.body = nil
            if try Self.noteUnbound(entry, now: now, db: db) { try Self.insertLog(entry, db: db) }
        } else {
            try Self.insertLog(entry, db: db)
        }
        return DebitHookResult(decision: decision, isRepeat: existing != nil, language: language)
    }

    /// A new decision's row, by a cached statement with its values: the record's Codable encoding (with the column
    /// names converted to snake case on every insert) was a fifth of a decision's CPU under load.
    static func insertDecision(_ record: TransactionRecord, db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO aeps_transaction (client_ref_id, retailer_id, user_code, type, amount_raw, amount_paise,
              customer_mobile, bank_code, request_fingerprint, decision, reason, message, state, decided_at,
              gateway_session_id, ist_day, inquiry_attempts, created_at, updated_at, hash_params_sent)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [
                record.clientRefId, record.retailerId, record.userCode, record.type, record.amountRaw, record.amountPaise,
                record.customerMobile, record.bankCode, record.requestFingerprint, record.decision, record.reason,
                record.message, record.state.rawValue, record.decidedAt, record.gatewaySessionId, record.istDay,
                record.inquiryAttempts, record.createdAt, record.updatedAt, record.hashParamsSent,
            ])
    }

    /// A callback's log row, the same way.
    static func insertLog(_ entry: CallbackLogEntry, db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO callback_log (received_at, request_id, remote_address, origin, action, client_ref_id, http_status,
              outcome, reason, body, body_bytes, latency_ms, body_digest)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [
                entry.receivedAt, entry.requestId, entry.remoteAddress, entry.origin, entry.action, entry.clientRefId,
                entry.httpStatus, entry.outcome, entry.reason, entry.body, entry.bodyBytes, entry.latencyMs, entry.bodyDigest,
            ])
    }

    /// What a hook is decided on, read in the caller's transaction: its session, its retailer, the counters
    /// (without its own client_ref_id), the kill switch, and the decision already stored under its client_ref_id.
    static func loadFacts(for hook: DebitHook, sessionToken: String?, now: Date, db: Database) throws
        -> (DebitHookFacts, TransactionRecord?)
    {
        let session: SessionEvidence
        if let sessionToken {
            let found = try GatewaySession.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM gateway_session WHERE token_hash = ?"),
                arguments: [SecretToken.hash(sessionToken)]
            )
            session = found.map { .found($0) } ?? .unknown
        } else {
            session = .none
        }
        var sessionID: Int64? = nil
        if case .found(let found) = session { sessionID = found.id }
        // Cached statements: the callback's look-ups are compiled once per connection, not once per hook.
        let existing = try TransactionRecord.fetchOne(
            db.cachedStatement(sql: "SELECT * FROM aeps_transaction WHERE client_ref_id = ?"), arguments: [hook.clientRefID]
        )
        let earlier = existing.map { stored in
            EarlierDecision(
                approved: stored.decision == "approved", reason: stored.reason,
                sameRequest: stored.requestFingerprint == hook.fingerprint, sameSession: stored.gatewaySessionId == sessionID,
                decidedAt: stored.decidedAt, resultReported: stored.reportedAt != nil || stored.state != .approved
            )
        }
        let retailer = try hook.userCode.flatMap {
            try Retailer.fetchOne(db.cachedStatement(sql: "SELECT * FROM retailer WHERE user_code = ?"), arguments: [$0])
        }
        let facts = DebitHookFacts(
            retailer: retailer, session: session,
            counters: try counters(
                for: hook, retailer: retailer, sessionID: sessionID, day: IndianTime.day(now), existing: existing, db: db
            ),
            servicePaused: try servicePaused(db), now: now, earlier: earlier
        )
        return (facts, existing)
    }

    /// What `aeps policy check` needs: the facts a hook would be decided on now, read without writing anything.
    public func facts(for hook: DebitHook, sessionToken: String?, now: Date) async throws -> DebitHookFacts {
        try await writer.read { db in try Self.loadFacts(for: hook, sessionToken: sessionToken, now: now, db: db).0 }
    }

    /// The counts the caps compare against, read inside the decision's transaction (two hooks cannot both pass the
    /// last place under a cap) from the counter rows the same transactions keep (``countApproval(_:db:)``): three
    /// primary-key reads, whatever the day's or the history's size. The hook's own client_ref_id is never counted,
    /// so a repeat is judged against the others only: an earlier approval under it is taken back out of the
    /// counts it is in.
    static func counters(
        for hook: DebitHook, retailer: Retailer?, sessionID: Int64?, day: String, existing: TransactionRecord?, db: Database
    ) throws -> DebitHookCounters {
        var counters = DebitHookCounters()
        let own = existing.flatMap { $0.decision == "approved" ? $0 : nil }
        let ownWithdrawal = own.flatMap { $0.type == 2 && $0.istDay == day ? $0 : nil }
        if let mobile = hook.customerMobile, !mobile.isEmpty {
            let (approvals, _) = try counter("customer", mobile, day, db: db)
            counters.customerWithdrawalsToday = approvals - (ownWithdrawal?.customerMobile == mobile ? 1 : 0)
        }
        if let retailerID = retailer?.id {
            let (approvals, amount) = try counter("retailer", String(retailerID), day, db: db)
            let mine = ownWithdrawal?.retailerId == retailerID ? ownWithdrawal : nil
            counters.retailerWithdrawalsToday = approvals - (mine == nil ? 0 : 1)
            counters.retailerAmountTodayPaise = amount - (mine?.amountPaise ?? 0)
        }
        if let sessionID {
            let (approvals, _) = try counter("session", String(sessionID), "", db: db)
            counters.sessionApprovals = approvals - (own?.gatewaySessionId == sessionID ? 1 : 0)
        }
        return counters
    }

    private static func counter(_ scope: String, _ key: String, _ day: String, db: Database) throws -> (Int, Int64) {
        let statement = try db.cachedStatement(
            sql: "SELECT approvals, amount_paise FROM approval_counter WHERE scope = ? AND key = ? AND day = ?"
        )
        guard let row = try Row.fetchOne(statement, arguments: [scope, key, day]) else { return (0, 0) }
        return (row[0], row[1])
    }

    /// Counts a newly recorded approval where the caps look (``counters(for:retailer:sessionID:day:existing:db:)``):
    /// the customer's and the retailer's withdrawals that day (count and amount), and the session's approvals.
    static func countApproval(_ record: TransactionRecord, db: Database) throws {
        let statement = try db.cachedStatement(sql: """
            INSERT INTO approval_counter (scope, key, day, approvals, amount_paise) VALUES (?, ?, ?, 1, ?)
            ON CONFLICT(scope, key, day) DO UPDATE SET approvals = approvals + 1, amount_paise = amount_paise + excluded.amount_paise
            """)
        let amount = record.amountPaise ?? 0
        if record.type == 2 {
            if let mobile = record.customerMobile, !mobile.isEmpty {
                try statement.execute(arguments: ["customer", mobile, record.istDay ?? "", amount])
            }
            if let retailerID = record.retailerId {
                try statement.execute(arguments: ["retailer", String(retailerID), record.istDay ?? "", amount])
            }
        }
        if let sessionID = record.gatewaySessionId {
            try statement.execute(arguments: ["session", String(sessionID), "", amount])
        }
    }

    static func servicePaused(_ db: Database) throws -> Bool {
        try String.fetchOne(db.cachedStatement(sql: "SELECT value FROM setting WHERE name = 'kill_switch'")) == "on"
    }

    /// Compact log rows a source may leave per hour, and all sources together, for requests not bound to a live
    /// session; past these only the counts grow.
    public static let unboundRowsPerSourcePerHour = 100
    public static let unboundRowsPerHour = 5_000

    /// Counts a request that no live session vouches for (a refused unbound hook, a malformed or unknown request)
    /// under its source and hour, and says whether a compact log row may still be written for it.
    /// A source is the client's address; IPv6 addresses count by their /64, which one client usually holds whole.
    static func noteUnbound(_ entry: CallbackLogEntry, now: Date, db: Database) throws -> Bool {
        let hour = String(ISO8601DateFormatter().string(from: now).prefix(13))
        let source = CallbackSource.key(entry.remoteAddress)
        var allowed = true
        for (key, cap) in [(source, unboundRowsPerSourcePerHour), ("*", unboundRowsPerHour)] {
            let logged = try Int.fetchOne(db, sql: """
                INSERT INTO callback_source (source, hour, requests, bytes, logged) VALUES (?, ?, 1, ?, 0)
                ON CONFLICT(source, hour) DO UPDATE SET requests = requests + 1, bytes = bytes + excluded.bytes
                RETURNING logged
                """, arguments: [key, hour, entry.bodyBytes]) ?? 0
            if logged >= cap { allowed = false }
        }
        if allowed {
            try db.execute(
                sql: "UPDATE callback_source SET logged = logged + 1 WHERE hour = ? AND source IN (?, '*')",
                arguments: [hour, source]
            )
        }
        return allowed
    }

    /// Records an eko-response in one transaction: the callback, the response (once per digest), and what it
    /// claims on its transaction (`reported_*`, tid, bank reference, Aadhaar's last four). The claim moves nothing:
    /// it queues Eko's Transaction Inquiry (``SettlementRules``); with verification off it is applied as Eko's word.
    /// - Parameter digest: identifies the response's content; the same digest again is a duplicate.
    public func recordEkoResponse(
        _ response: EkoResponse,
        digest: String,
        rules: SettlementRules,
        schedule: InquirySchedule,
        now: Date,
        log: CallbackLogEntry,
        latency: @escaping @Sendable () -> Double
    ) async throws -> EkoResponseOutcome {
        try await writer.write { db in
            var entry = log
            entry.outcome = "received"
            entry.latencyMs = latency()
            let transaction = try response.clientRefID.flatMap {
                try TransactionRecord.filter(TransactionRecord.Columns.clientRefId == $0).fetchOne(db)
            }
            let reports = try transaction.map {
                try EkoResponseRecord.filter(Column("client_ref_id") == $0.clientRefId).fetchCount(db)
            } ?? 0
            let tooMany = reports >= Self.maxReportsPerTransaction
            if transaction == nil || tooMany {
                // Nothing decided here vouches for this sender, or its transaction has had its fill of reports: a
                // compact row (size and digest, no body) while the source is under its allowance, and a count.
                entry.body = nil
                let outcome: EkoResponseOutcome =
                    tooMany ? .tooManyReports
                    : response.invalidReference ? .invalidClientRefID
                    : response.clientRefID == nil ? .missingClientRefID : .unknownClientRefID
                entry.reason = outcome.rawValue
                guard try Self.noteUnbound(entry, now: now, db: db) else { return outcome }
                if outcome != .unknownClientRefID {
                    try entry.insert(db)
                    return outcome
                }
            }
            try entry.insert(db)
            let outcome = try Self.applyEkoResponse(
                response, to: transaction, digest: digest, rules: rules, schedule: schedule, now: now, logID: entry.id!,
                db: db
            )
            entry.reason = outcome.rawValue
            try entry.update(db, columns: ["reason"])
            return outcome
        }
    }

    /// Distinct eko-responses kept per transaction (Eko sends one; a browser may repeat it). Past this, a report
    /// is counted under its source like an unbound request, so nobody can grow one transaction's history at will.
    public static let maxReportsPerTransaction = 20

    /// - Parameter transaction: the transaction under the response's client_ref_id, as the caller loaded it in this
    ///   same write transaction (nil: none).
    private static func applyEkoResponse(
        _ response: EkoResponse,
        to transaction: TransactionRecord?,
        digest: String,
        rules: SettlementRules,
        schedule: InquirySchedule,
        now: Date,
        logID: Int64,
        db: Database
    ) throws -> EkoResponseOutcome {
        guard let clientRefID = response.clientRefID else { return .missingClientRefID }
        let alreadySeen = try EkoResponseRecord
            .filter(Column("client_ref_id") == clientRefID && Column("digest") == digest)
            .fetchCount(db) > 0
        if alreadySeen { return .duplicate }

        var stored = EkoResponseRecord(
            id: nil, callbackLogId: logID, clientRefId: clientRefID, digest: digest, matched: transaction != nil,
            txStatus: response.txStatus, ekoTid: response.tid, amountPaise: response.amountPaise, receivedAt: now
        )
        try stored.insert(db)

        guard var current = transaction else { return .unknownClientRefID }
        guard current.decision == "approved" else { return .responseForRefusedHook }
        // What the browser claims, as it claims it (the latest report wins).
        current.reportedTxStatus = response.txStatus
        current.reportedAmountPaise = response.amountPaise
        current.ekoTid = response.tid ?? current.ekoTid
        current.bankRefNum = response.bankRefNum ?? current.bankRefNum
        current.aadhaarLast4 = response.aadhaarLast4 ?? current.aadhaarLast4
        current.reportedAt = now
        current.reportCheckedAt = nil
        let report = ReportedResult(
            txStatus: response.txStatus, amountPaise: response.amountPaise, tid: response.tid, bankRefNum: response.bankRefNum
        )
        let before = current.state
        let step = try applySettlement(.report(report), to: &current, rules: rules, schedule: schedule, now: now, db: db)
        try current.update(db)
        if response.txStatus.flatMap(TransactionState.init(txStatus:)) == nil { return .unknownTxStatus }
        if !rules.verifyWithInquiry {
            return step.state != before || step.ledger != nil ? .appliedUnverified : .recorded
        }
        return step.inquiry == .now ? .inquiryQueued : .recorded
    }

    /// Records a callback that was answered with an error (bad content type, oversize, malformed, unknown action,
    /// a bad field): nothing vouches for its sender, so it leaves a compact row (no body: its size and digest) and
    /// a count under its source, like an unbound hook.
    public func recordRejectedCallback(_ log: CallbackLogEntry) async throws {
        try await writer.write { db in
            var entry = log
            entry.body = nil
            if try Self.noteUnbound(entry, now: entry.receivedAt, db: db) { try entry.insert(db) }
        }
    }

    /// Per source and hour, the requests no live session vouched for: how many, their bytes, and how many left a
    /// log row. The biggest senders first.
    public func unboundSources(since: Date, limit: Int = 20) async throws -> [CallbackSource] {
        let hour = String(ISO8601DateFormatter().string(from: since).prefix(13))
        return try await writer.read { db in
            try CallbackSource.fetchAll(db, sql: """
                SELECT source, SUM(requests) AS requests, SUM(bytes) AS bytes, SUM(logged) AS logged FROM callback_source
                WHERE hour >= ? AND source <> '*' GROUP BY source ORDER BY SUM(requests) DESC LIMIT ?
                """, arguments: [hour, limit])
        }
    }
}

extension PolicyDecision {
    /// `approved`, or the refusal's code.
    public var reasonCode: String {
        switch self {
        case .approve: "approved"
        case .refuse(let code): code.rawValue
        }
    }

    public var refusalCode: RefusalCode? {
        if case .refuse(let code) = self { return code }
        return nil
    }

    /// The retailer-facing message of a refusal.
    public var message: String? {
        switch self {
        case .approve: nil
        case .refuse(let code): code.message
        }
    }
}
