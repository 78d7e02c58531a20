/// Where a transaction stands. After the debit-hook's decision it follows Eko's own answers (Transaction Inquiry),
/// forward only; a browser's eko-response never moves it (see ``SettlementRules``).
public enum TransactionState: String, Sendable, Codable, CaseIterable {
    /// The debit-hook was refused: nothing may happen after it.
    case refused
    /// The debit-hook was approved; Eko has not given a final answer yet.
    case approved
    /// Eko says "response awaited / initiated" (tx_status 2).
    case pending
    /// Eko says "on hold, inquiry required" (tx_status 5).
    case hold
    /// A reported success not yet confirmed by Eko. Rows written before 2026-11-26 only; a verified success
    /// becomes `settled` (withdrawals) or `closed` in the same step, so nothing moves here any more.
    case success
    /// Eko says the withdrawal failed (tx_status 1): nothing to settle. Asked again within
    /// `settlement.recheck_settled_days`, then `closed`.
    case failed
    /// Eko says "refund pending" (tx_status 3), before or after a settlement.
    case refundPending = "refund_pending"
    /// Eko says "refunded" (tx_status 4). Final; a settled withdrawal gets one reversal row.
    case refunded
    /// Eko's Transaction Inquiry confirmed the success and its amount: one settlement row exists. Asked again
    /// within `settlement.recheck_settled_days`, so that a later refund or failure becomes a reversal row.
    case settled
    /// Final without money: Eko's failure outlived the recheck window, or it was not a withdrawal.
    case closed
    /// Eko's answers contradict each other or the approval, or no final answer came in time: a person must look.
    case needsAttention = "needs_attention"

    /// The state Eko's `tx_status` names (protocol §6), or nil for an unknown code.
    public init?(txStatus: Int) {
        switch txStatus {
        case 0: self = .success
        case 1: self = .failed
        case 2: self = .pending
        case 3: self = .refundPending
        case 4: self = .refunded
        case 5: self = .hold
        default: return nil
        }
    }

    /// Still waiting for Eko's final word: the sweeper asks with backoff and gives up to `needs_attention`.
    public var awaitsEko: Bool {
        [.approved, .success, .pending, .hold, .refundPending].contains(self)
    }
}
