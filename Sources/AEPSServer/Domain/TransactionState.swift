/// Where a transaction stands. It only moves forward: a repeat or an older report never undoes a newer one.
public enum TransactionState: String, Sendable, Codable, CaseIterable {
    /// The debit-hook was refused: nothing may happen after it.
    case refused
    /// The debit-hook was approved; no result yet.
    case approved
    /// Eko reported "response awaited / initiated" (tx_status 2).
    case pending
    /// Eko reported "on hold, inquiry required" (tx_status 5).
    case hold
    /// Eko reported success (tx_status 0). Reported, not settled: settlement needs Eko's own inquiry.
    case success
    /// Eko reported failure (tx_status 1). Final.
    case failed
    /// Eko reported "refund pending" (tx_status 3).
    case refundPending = "refund_pending"
    /// Eko reported "refunded" (tx_status 4). Final.
    case refunded
    /// Eko's own Transaction Inquiry confirmed the success and its amount: one settlement row exists. Final but for
    /// a later refund (which adds a reversal row).
    case settled
    /// Eko's inquiry confirmed that nothing was paid out (failed), or it was not a withdrawal. Final.
    case closed
    /// Eko's answers disagree with each other or with the approval (status or amount): a person must look.
    case needsAttention = "needs_attention"

    /// The state an eko-response's `tx_status` reports (protocol §6), or nil for an unknown code.
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

    /// Whether a report may move a transaction from this state to `next`. Moving to the same state is not a move.
    public func canMove(to next: TransactionState) -> Bool {
        switch self {
        case .refused, .refunded, .closed, .needsAttention:
            false
        case .failed:
            next == .closed || next == .needsAttention
        case .settled:
            next == .refunded || next == .refundPending
        case .approved:
            next != .approved && next != .refused
        case .pending, .hold:
            [.pending, .hold, .success, .failed, .refundPending, .refunded, .settled, .closed, .needsAttention]
                .contains(next) && next != self
        case .success:
            [.refundPending, .refunded, .settled, .closed, .needsAttention].contains(next)
        case .refundPending:
            next == .refunded || next == .needsAttention
        }
    }
}
