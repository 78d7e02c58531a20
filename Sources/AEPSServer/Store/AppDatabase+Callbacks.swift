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
}

extension AppDatabase {
    /// Decides a debit-hook and records the decision and the callback in one durable transaction.
    ///
    /// A client_ref_id decided before gets its stored decision again when the request is the same, and is refused
    /// when it differs; either way the stored transaction is left as it was.
    /// - Parameters:
    ///   - log: the callback's log row; its outcome, reason and latency are filled in here.
    ///   - latency: milliseconds since the request arrived, read just before the log row is written.
    public func recordDebitHook(
        _ hook: DebitHook,
        sessionToken: String?,
        policy: DebitHookPolicy,
        now: Date,
        log: CallbackLogEntry,
        latency: @escaping @Sendable () -> Double,
        deadline: ContinuousClock.Instant? = nil
    ) async throws -> DebitHookResult {
        try await writer.write { db in
            let session: SessionEvidence
            if let sessionToken {
                let found = try GatewaySession.filter(Column("token_hash") == SecretToken.hash(sessionToken)).fetchOne(db)
                session = found.map { .found($0) } ?? .unknown
            } else {
                session = .none
            }
            var sessionID: Int64? = nil
            var language: String? = nil
            if case .found(let found) = session {
                sessionID = found.id
                language = found.language
            }

            let result: DebitHookResult
            if let existing = try TransactionRecord.filter(TransactionRecord.Columns.clientRefId == hook.clientRefID)
                .fetchOne(db)
            {
                if existing.gatewaySessionId != sessionID {
                    // Decided under one gateway session: no other session (or none) may reuse it.
                    result = DebitHookResult(decision: .refuse(.clientRefIDOtherSession), isRepeat: true)
                } else if existing.requestFingerprint == hook.fingerprint {
                    let stored: PolicyDecision =
                        existing.decision == "approved"
                        ? .approve : .refuse(RefusalCode(rawValue: existing.reason) ?? .clientRefIDConflict)
                    result = DebitHookResult(decision: stored, isRepeat: true)
                } else {
                    result = DebitHookResult(decision: .refuse(.clientRefIDConflict), isRepeat: true)
                }
            } else {
                let retailer = try hook.userCode.flatMap {
                    try Retailer.filter(Retailer.Columns.userCode == $0).fetchOne(db)
                }
                let istDay = IndianTime.day(now)
                let decision: PolicyDecision
                if let deadline, ContinuousClock.now > deadline {
                    // The answer (a refusal) has already left: record why, and never as an approval.
                    decision = .refuse(.storageTimeout)
                } else {
                    let facts = DebitHookFacts(
                        retailer: retailer, session: session,
                        counters: try Self.counters(for: hook, retailer: retailer, sessionID: sessionID, day: istDay, db: db),
                        servicePaused: try Self.servicePaused(db), now: now
                    )
                    decision = policy.evaluate(hook, facts: facts)
                }
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
                try record.insert(db)
                result = DebitHookResult(decision: decision, isRepeat: false)
            }
            var answered = result
            answered.language = language
            var entry = log
            entry.outcome = result.decision.isApproved ? "approved" : "refused"
            entry.reason = result.isRepeat ? "repeat:\(result.decision.reasonCode)" : result.decision.reasonCode
            entry.latencyMs = latency()
            try entry.insert(db)
            return answered
        }
    }

    /// The counts the caps compare against, by indexed queries inside the decision's transaction: two hooks
    /// cannot both pass the last place under a cap.
    static func counters(for hook: DebitHook, retailer: Retailer?, sessionID: Int64?, day: String, db: Database) throws
        -> DebitHookCounters
    {
        var counters = DebitHookCounters()
        if let mobile = hook.customerMobile, !mobile.isEmpty {
            counters.customerWithdrawalsToday = try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM aeps_transaction
                WHERE customer_mobile = ? AND ist_day = ? AND type = 2 AND decision = 'approved'
                """, arguments: [mobile, day]) ?? 0
        }
        if let retailerID = retailer?.id {
            let row = try Row.fetchOne(db, sql: """
                SELECT COUNT(*) AS n, COALESCE(SUM(amount_paise), 0) AS total FROM aeps_transaction
                WHERE retailer_id = ? AND ist_day = ? AND type = 2 AND decision = 'approved'
                """, arguments: [retailerID, day])
            counters.retailerWithdrawalsToday = row?["n"] ?? 0
            counters.retailerAmountTodayPaise = row?["total"] ?? 0
        }
        if let sessionID {
            counters.sessionApprovals = try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM aeps_transaction WHERE gateway_session_id = ? AND decision = 'approved'
                """, arguments: [sessionID]) ?? 0
        }
        return counters
    }

    static func servicePaused(_ db: Database) throws -> Bool {
        try String.fetchOne(db, sql: "SELECT value FROM setting WHERE name = 'kill_switch'") == "on"
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
            try entry.insert(db)
            let outcome = try Self.applyEkoResponse(
                response, digest: digest, rules: rules, schedule: schedule, now: now, logID: entry.id!, db: db
            )
            entry.reason = outcome.rawValue
            try entry.update(db, columns: ["reason"])
            return outcome
        }
    }

    private static func applyEkoResponse(
        _ response: EkoResponse,
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

        let transaction = try TransactionRecord.filter(TransactionRecord.Columns.clientRefId == clientRefID)
            .fetchOne(db)
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

    /// Records a callback that was answered with an error (bad content type, oversize, malformed, unknown action).
    public func recordRejectedCallback(_ log: CallbackLogEntry) async throws {
        try await writer.write { db in
            var entry = log
            try entry.insert(db)
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

    /// The retailer-facing message of a refusal.
    public var message: String? {
        switch self {
        case .approve: nil
        case .refuse(let code): code.message
        }
    }
}
