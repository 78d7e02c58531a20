import Foundation
import GRDB

/// A row of the settlement ledger.
public struct SettlementRecord: StoredRecord, Equatable {
    public var id: Int64?
    /// `settlement` or `reversal`.
    public var kind: String
    public var clientRefId: String
    public var retailerId: Int64?
    public var userCode: String?
    public var ekoTid: String?
    public var bankRefNum: String?
    public var amountPaise: Int64
    public var commissionPaise: Int64?
    public var tdsPaise: Int64?
    public var verifiedBy: String
    public var createdAt: Date

    public static let databaseTableName = "settlement"
}

extension AppDatabase {
    /// Records the result of asking Eko about a transaction (`answer` nil: no usable answer), in one write
    /// transaction: loads the facts, applies ``SettlementRules`` and writes what they say (state, at most one
    /// settlement and one reversal row by a unique key, a flag, the next inquiry). Then the time limits: still
    /// without a final answer after `give_up_after_hours` → `needs_attention`; a settled (or failed) one past its
    /// recheck window is not asked again. Running it twice, or concurrently, writes no row twice.
    public func recordEkoAnswer(
        clientRefID: String, answer: InquiryAnswer?, rules: SettlementRules, schedule: InquirySchedule, now: Date
    ) async throws -> SettlementStep {
        try await writer.write { db in
            guard var transaction = try TransactionRecord.filter(TransactionRecord.Columns.clientRefId == clientRefID)
                .fetchOne(db), transaction.decision == "approved"
            else { return SettlementStep(state: .refused, inquiry: .stop, outcome: .notApplicable) }
            transaction.inquiryAttempts += 1
            transaction.lastInquiryAt = now
            var step = try Self.applySettlement(
                answer.map { .ekoAnswer($0) } ?? .noAnswer, to: &transaction, rules: rules, schedule: schedule, now: now, db: db
            )
            var limit: SettlementEvent?
            if transaction.state.awaitsEko, schedule.hasGivenUp(decidedAt: transaction.decidedAt, now: now) {
                limit = .gaveUp
            } else if [.settled, .failed].contains(transaction.state), (transaction.recheckUntil ?? now) <= now {
                limit = .recheckWindowEnded
            }
            if let limit {
                let then = try Self.applySettlement(limit, to: &transaction, rules: rules, schedule: schedule, now: now, db: db)
                step = SettlementStep(
                    state: then.state, ledger: step.ledger ?? then.ledger, flag: then.flag ?? step.flag, inquiry: then.inquiry,
                    outcome: then.outcome == .unchanged ? step.outcome : then.outcome
                )
            }
            try transaction.update(db)
            return step
        }
    }

    /// Claims the transactions due for an inquiry now (at most `limit`), oldest first: those queued for now or
    /// earlier, and approvals never reported nor asked about once `result_grace_seconds` have passed. Each is
    /// held for ``InquirySchedule/claimLeaseSeconds`` so that another sweeper (another process) leaves it alone;
    /// if this one stops before recording an answer, it is due again then.
    public func claimDueInquiries(now: Date, schedule: InquirySchedule, limit: Int) async throws -> [String] {
        try await writer.write { db in
            let due = try String.fetchAll(db, sql: """
                SELECT client_ref_id FROM aeps_transaction
                WHERE decision = 'approved'
                  AND (next_inquiry_at <= ?
                       OR (next_inquiry_at IS NULL AND state = 'approved' AND decided_at <= ?))
                ORDER BY COALESCE(next_inquiry_at, decided_at) LIMIT ?
                """, arguments: [now, schedule.graceCutoff(now: now), limit])
            guard !due.isEmpty else { return due }  // nothing due: a read, no write lock taken
            try TransactionRecord.filter(due.contains(TransactionRecord.Columns.clientRefId))
                .updateAll(db, Column("next_inquiry_at").set(to: now.addingTimeInterval(Double(InquirySchedule.claimLeaseSeconds))))
            return due
        }
    }

    /// Applies one event to a loaded transaction inside a write transaction: the rules decide, this writes the
    /// ledger row and changes `transaction` (state, latest answer, flag, next inquiry); the caller saves it.
    static func applySettlement(
        _ event: SettlementEvent, to transaction: inout TransactionRecord, rules: SettlementRules,
        schedule: InquirySchedule, now: Date, db: Database
    ) throws -> SettlementStep {
        let clientRefID = transaction.clientRefId
        // At most two rows (the unique key is client_ref_id and kind), read in the key's order: no sort.
        let ledger = try SettlementRecord.filter(Column("client_ref_id") == clientRefID).fetchAll(db)
        let settlement = ledger.first { $0.kind == "settlement" }
        let facts = SettlementFacts(
            state: transaction.state, type: transaction.type, approvedAmountPaise: transaction.amountPaise,
            settledPaise: settlement?.amountPaise, hasReversal: ledger.contains { $0.kind == "reversal" },
            report: transaction.reportedAt == nil
                ? nil : ReportedResult(txStatus: transaction.reportedTxStatus, amountPaise: transaction.reportedAmountPaise),
            reportChecked: transaction.reportCheckedAt != nil,
            lastAnswerTxStatus: transaction.ekoTxStatus, lastAnswerAmountPaise: transaction.ekoAmountPaise
        )
        let step = rules.apply(event, to: facts)
        var source = Verification.inquiry
        if case .report = event { source = .ekoResponseUnverified }

        switch step.ledger {
        case .settlement(let amount, let tid, let bankRefNum, let commission, let tds, let verifiedBy):
            var row = SettlementRecord(
                id: nil, kind: "settlement", clientRefId: clientRefID, retailerId: transaction.retailerId,
                // Eko's identifiers only (with verification off, the report's): never a claim from another report.
                userCode: transaction.userCode, ekoTid: tid, bankRefNum: bankRefNum,
                amountPaise: amount, commissionPaise: commission, tdsPaise: tds, verifiedBy: verifiedBy.rawValue, createdAt: now
            )
            try row.insert(db)
        case .reversal(let verifiedBy):
            if var reversal = settlement {
                reversal.id = nil
                reversal.kind = "reversal"
                reversal.verifiedBy = verifiedBy.rawValue
                reversal.createdAt = now
                try reversal.insert(db)
            }
        case nil:
            break
        }
        if let applied = step.applied {
            transaction.ekoTxStatus = applied.txStatus
            transaction.ekoAmountPaise = applied.amountPaise
            transaction.ekoAnsweredAt = now
            transaction.ekoAnswerSource = source.rawValue
            if source == .inquiry {
                // Eko's own identifiers replace what the browser claimed.
                transaction.ekoTid = applied.tid ?? transaction.ekoTid
                transaction.bankRefNum = applied.bankRefNum ?? transaction.bankRefNum
                // A final answer has been compared with the report: the report is not compared again.
                if transaction.reportedAt != nil, [0, 1, 4].contains(applied.txStatus) { transaction.reportCheckedAt = now }
            }
        }
        if step.state != transaction.state {
            if step.state == .settled || step.state == .failed { transaction.recheckUntil = schedule.recheckUntil(from: now) }
            transaction.state = step.state
        }
        if let flag = step.flag,
            flag.reason.rawValue != transaction.flagReason || flag.claimed != transaction.flagClaimed || flag.eko != transaction.flagEko
        {
            transaction.flagReason = flag.reason.rawValue
            transaction.flagClaimed = flag.claimed
            transaction.flagEko = flag.eko
            transaction.flaggedAt = now
        }
        let reported: Bool = if case .report = event { true } else { false }
        transaction.nextInquiryAt = schedule.next(
            step.inquiry, attempts: transaction.inquiryAttempts, now: now, lastAskedAt: transaction.lastInquiryAt,
            scheduled: reported ? transaction.nextInquiryAt : nil, recheckUntil: transaction.recheckUntil
        )
        transaction.updatedAt = now
        return step
    }

    /// A retailer's balance: settlements minus reversals, in paise.
    public func retailerBalance(userCode: String) async throws -> Int64 {
        try await writer.read { db in
            try Int64.fetchOne(db, sql: """
                SELECT COALESCE(SUM(CASE kind WHEN 'settlement' THEN amount_paise ELSE -amount_paise END), 0)
                FROM settlement WHERE user_code = ?
                """, arguments: [userCode]) ?? 0
        }
    }

    public func settlements(clientRefID: String) async throws -> [SettlementRecord] {
        try await writer.read { db in
            try SettlementRecord.filter(Column("client_ref_id") == clientRefID).order(Column("id")).fetchAll(db)
        }
    }
}
