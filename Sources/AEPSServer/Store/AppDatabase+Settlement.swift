import Foundation
import GRDB

/// What one verification did to a transaction.
public enum SettlementOutcome: String, Sendable, Equatable {
    /// A settlement row was written (the first and only one).
    case settled
    /// A reversal row was written for a refund after settlement.
    case reversed
    /// Eko confirmed nothing was paid out (or it was not a withdrawal): closed without money.
    case closed
    /// Eko's answer disagrees with the approval or the report: flagged for a person.
    case needsAttention = "needs_attention"
    /// Still in progress (pending, hold, refund pending): ask again later.
    case inProgress = "in_progress"
    /// Already in this state: nothing written.
    case unchanged
    /// No such transaction, or it was refused.
    case notApplicable = "not_applicable"
}

/// How a settlement was verified.
public enum Verification: String, Sendable {
    /// Eko's server-to-server Transaction Inquiry agreed on status and amount.
    case inquiry
    /// The operator turned verification off: settled from the browser's eko-response alone.
    case ekoResponseUnverified = "eko_response_unverified"
}

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
    /// Applies what Eko says about a transaction (`txStatus`, `amountPaise`, ...), in one write transaction:
    /// settle once when success and amount agree with the approval, close on failure, reverse a settled one on
    /// refund, flag any disagreement. Running it twice, or concurrently, writes at most one settlement.
    public func applyEkoAnswer(
        clientRefID: String, answer: InquiryAnswer, verifiedBy: Verification, now: Date
    ) async throws -> SettlementOutcome {
        try await writer.write { db in
            guard var transaction = try TransactionRecord.filter(TransactionRecord.Columns.clientRefId == clientRefID)
                .fetchOne(db), transaction.decision == "approved"
            else { return .notApplicable }
            guard answer.status == nil || answer.status == 0, let txStatus = answer.txStatus,
                let reported = TransactionState(txStatus: txStatus)
            else { return .inProgress }

            func move(_ state: TransactionState, _ outcome: SettlementOutcome) throws -> SettlementOutcome {
                guard transaction.state != state else { return .unchanged }
                guard transaction.state.canMove(to: state) else { return .unchanged }
                transaction.state = state
                transaction.updatedAt = now
                try transaction.update(db)
                return outcome
            }
            func ledger(_ kind: String) throws -> Bool {
                try SettlementRecord.filter(Column("client_ref_id") == clientRefID && Column("kind") == kind).fetchCount(db) > 0
            }

            let isWithdrawal = transaction.type == DebitHook.cashWithdrawal
            switch reported {
            case .success:
                guard isWithdrawal else { return try move(.closed, .closed) }
                if transaction.state == .failed { return try move(.needsAttention, .needsAttention) }
                guard let amount = answer.amountPaise, amount == transaction.amountPaise else {
                    return try move(.needsAttention, .needsAttention)
                }
                if try ledger("settlement") { return .unchanged }
                guard transaction.state.canMove(to: .settled) else { return .unchanged }
                var row = SettlementRecord(
                    id: nil, kind: "settlement", clientRefId: clientRefID, retailerId: transaction.retailerId,
                    userCode: transaction.userCode, ekoTid: answer.tid ?? transaction.ekoTid,
                    bankRefNum: answer.bankRefNum ?? transaction.bankRefNum, amountPaise: amount,
                    commissionPaise: answer.commissionPaise, tdsPaise: answer.tdsPaise, verifiedBy: verifiedBy.rawValue,
                    createdAt: now
                )
                try row.insert(db)
                return try move(.settled, .settled)
            case .failed:
                if transaction.state == .success || transaction.state == .settled {
                    return try move(.needsAttention, .needsAttention)
                }
                return try move(.closed, .closed)
            case .refunded:
                if try ledger("settlement"), try !ledger("reversal") {
                    let settled = try SettlementRecord.filter(Column("client_ref_id") == clientRefID && Column("kind") == "settlement")
                        .fetchOne(db)!
                    var reversal = settled
                    reversal.id = nil
                    reversal.kind = "reversal"
                    reversal.verifiedBy = verifiedBy.rawValue
                    reversal.createdAt = now
                    try reversal.insert(db)
                    _ = try move(.refunded, .reversed)
                    return .reversed
                }
                return try move(.refunded, .closed)
            case .refundPending, .pending, .hold:
                _ = try move(reported, .inProgress)
                return .inProgress
            default:
                return .inProgress
            }
        }
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
