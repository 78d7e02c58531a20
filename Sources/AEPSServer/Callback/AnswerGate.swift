import NIOConcurrencyHelpers

/// Decides, once, who gives a debit-hook's answer: the decision (which may then commit an approval and be
/// answered with it, however long the commit takes) or the budget's timer (which answers "try again"; the decision
/// then records itself as `storage_timeout`). So an approval is committed only if it is the answer sent.
final class AnswerGate: Sendable {
    private enum State { case open, decided, timedOut }
    private let state = NIOLockedValueBox(State.open)

    /// Called by the decision inside its write transaction, before it writes: true when the answer is still its
    /// to give (and from now on the timer cannot take it), false when the timer already answered.
    func claimForDecision() -> Bool {
        state.withLockedValue { state in
            if state == .open { state = .decided }
            return state == .decided
        }
    }

    /// Called when the budget runs out: true when the timer answers (the decision had not claimed it yet), false
    /// when the decision claimed it and its outcome must be awaited.
    func claimForTimeout() -> Bool {
        state.withLockedValue { state in
            if state == .open { state = .timedOut }
            return state == .timedOut
        }
    }
}
