import Foundation

// Money follows Eko, not the browser. Pure: no SQL, no HTTP, no clock of its own.
//
//   (state and what is known) × (what happened) → (next state, a ledger row, a flag, whether to ask Eko)
//
// - A browser's eko-response is a claim anyone can post. With verification on it is recorded and asks Eko
//   (Transaction Inquiry); it never moves the state, never writes money, never closes a transaction.
// - Eko's inquiry answer moves the state, forward only. A withdrawal settles when Eko says success and its amount
//   equals the approved amount: one settlement row. A later refund or failure at Eko writes one reversal row.
// - Every disagreement is flagged with both values: the report against Eko's final answer, Eko's amount against
//   the approval, Eko against its own earlier final answer, a settlement Eko later takes back.
// - With `settlement.verify_with_inquiry` off (the operator's choice), a report is applied as if Eko had said it
//   and every row it writes is marked `eko_response_unverified`.

/// How a ledger row (or a state) was verified.
public enum Verification: String, Sendable, Equatable {
    /// Eko's server-to-server Transaction Inquiry.
    case inquiry
    /// The operator turned verification off: taken from the browser's eko-response alone.
    case ekoResponseUnverified = "eko_response_unverified"
}

/// What one step did to a transaction, for logs, events and tests.
public enum SettlementOutcome: String, Sendable, Equatable {
    /// A settlement row was written (the first and only one).
    case settled
    /// A reversal row was written: Eko took back a settled withdrawal.
    case reversed
    /// Eko says nothing was paid out, or it was not a withdrawal: no money.
    case closed
    /// Moved to `needs_attention`: a person must look.
    case needsAttention = "needs_attention"
    /// Still in progress (pending, hold, refund pending): ask again later.
    case inProgress = "in_progress"
    /// Nothing changed but a disagreement was flagged.
    case flagged
    /// Nothing changed.
    case unchanged
    /// Eko gave no usable answer (envelope status not 0, unknown tx_status, or no answer at all): ask again.
    case noAnswer = "no_answer"
    /// No such transaction, or its debit-hook was refused.
    case notApplicable = "not_applicable"
}

/// A result as the browser's eko-response claims it.
public struct ReportedResult: Sendable, Equatable {
    public var txStatus: Int?
    public var amountPaise: Int64?
    public var tid: String?
    public var bankRefNum: String?

    public init(txStatus: Int?, amountPaise: Int64?, tid: String? = nil, bankRefNum: String? = nil) {
        self.txStatus = txStatus
        self.amountPaise = amountPaise
        self.tid = tid
        self.bankRefNum = bankRefNum
    }
}

/// What is known about a transaction when something happens to it.
public struct SettlementFacts: Sendable, Equatable {
    public var state: TransactionState
    /// 2 cash withdrawal, 3 balance enquiry, 4 mini statement.
    public var type: Int?
    public var approvedAmountPaise: Int64?
    /// The amount of its settlement row, when one exists.
    public var settledPaise: Int64?
    public var hasReversal: Bool
    /// The latest browser report, when one came.
    public var report: ReportedResult?
    /// Whether a final answer from Eko came after that report (it has been compared once; it is not again).
    public var reportChecked: Bool
    /// The latest answer the rules applied (Eko's, or an unverified report's): tx_status and amount.
    public var lastAnswerTxStatus: Int?
    public var lastAnswerAmountPaise: Int64?

    public init(
        state: TransactionState, type: Int?, approvedAmountPaise: Int64?, settledPaise: Int64? = nil,
        hasReversal: Bool = false, report: ReportedResult? = nil, reportChecked: Bool = false,
        lastAnswerTxStatus: Int? = nil, lastAnswerAmountPaise: Int64? = nil
    ) {
        self.state = state
        self.type = type
        self.approvedAmountPaise = approvedAmountPaise
        self.settledPaise = settledPaise
        self.hasReversal = hasReversal
        self.report = report
        self.reportChecked = reportChecked
        self.lastAnswerTxStatus = lastAnswerTxStatus
        self.lastAnswerAmountPaise = lastAnswerAmountPaise
    }

    var isWithdrawal: Bool { type == 2 }
    var hasSettlement: Bool { settledPaise != nil }
}

/// What happened to a transaction.
public enum SettlementEvent: Sendable, Equatable {
    /// The browser posted an eko-response: a claim.
    case report(ReportedResult)
    /// Eko's Transaction Inquiry answered (its envelope may still say the call failed).
    case ekoAnswer(InquiryAnswer)
    /// Eko could not be asked, or gave no answer (down, timeout, 403, not its envelope).
    case noAnswer
    /// `settlement.give_up_after_hours` passed without a final answer.
    case gaveUp
    /// `settlement.recheck_settled_days` passed since the transaction settled (or failed).
    case recheckWindowEnded
}

/// A row for the settlement ledger. Unique per transaction and kind in the store.
public enum LedgerWrite: Sendable, Equatable {
    case settlement(
        amountPaise: Int64, tid: String?, bankRefNum: String?, commissionPaise: Int64?, tdsPaise: Int64?,
        verifiedBy: Verification
    )
    /// Takes back the settlement row's amount.
    case reversal(verifiedBy: Verification)
}

/// Why a transaction needs a person.
public enum FlagReason: String, Sendable, Equatable, CaseIterable {
    /// The browser's report and Eko's final answer disagree on status or amount.
    case reportDisagrees = "report_disagrees"
    /// Eko says success with an amount other than the approved one (or none).
    case amountDisagrees = "amount_disagrees"
    /// Eko refunded a settled withdrawal: a reversal row was written.
    case refundedAfterSettlement = "refunded_after_settlement"
    /// Eko says a settled withdrawal failed: a reversal row was written.
    case failedAfterSettlement = "failed_after_settlement"
    /// Eko's answer goes back on its own earlier final answer.
    case ekoContradictsItself = "eko_contradicts_itself"
    /// No final answer within `settlement.give_up_after_hours`.
    case noFinalAnswer = "no_final_answer"
}

/// A disagreement, with both values as people read them: what our side had (the report, the approval, the ledger
/// or Eko's earlier answer) and what Eko said.
public struct SettlementFlag: Sendable, Equatable {
    public var reason: FlagReason
    public var claimed: String
    public var eko: String

    public init(reason: FlagReason, claimed: String, eko: String) {
        self.reason = reason
        self.claimed = claimed
        self.eko = eko
    }
}

/// Whether, and how soon, to ask Eko about the transaction.
public enum InquiryPlan: String, Sendable, Equatable {
    /// A new claim came: ask at once (but not more often than ``InquirySchedule/reportSpacingSeconds``).
    case now
    /// No final answer yet: ask again with backoff.
    case retry
    /// Final, but asked again within `settlement.recheck_settled_days` in case Eko takes it back.
    case recheck
    /// Final, or a person's to decide: do not ask.
    case stop
}

/// The result of one event.
public struct SettlementStep: Sendable, Equatable {
    public var state: TransactionState
    public var ledger: LedgerWrite?
    public var flag: SettlementFlag?
    public var inquiry: InquiryPlan
    public var outcome: SettlementOutcome
    /// The answer applied (Eko's, or with verification off the report's), to remember as the latest answer.
    public var applied: InquiryAnswer?
}

/// The settlement rules. See the comment at the top of this file.
public struct SettlementRules: Sendable, Equatable {
    /// `settlement.verify_with_inquiry`.
    public var verifyWithInquiry: Bool
    /// Whether settled and failed withdrawals are asked again (`settlement.recheck_settled_days` > 0, and
    /// verification on: without it nobody would be asked).
    public var rechecksFinalAnswers: Bool

    public init(verifyWithInquiry: Bool, recheckSettledDays: Int) {
        self.verifyWithInquiry = verifyWithInquiry
        self.rechecksFinalAnswers = verifyWithInquiry && recheckSettledDays > 0
    }

    public func apply(_ event: SettlementEvent, to facts: SettlementFacts) -> SettlementStep {
        if facts.state == .refused {
            return SettlementStep(state: .refused, inquiry: .stop, outcome: .notApplicable)
        }
        switch event {
        case .report(let report):
            guard verifyWithInquiry else {
                let answer = InquiryAnswer(
                    status: 0, message: nil, txStatus: report.txStatus, amountPaise: report.amountPaise,
                    tid: report.tid, bankRefNum: report.bankRefNum, commissionPaise: nil, tdsPaise: nil
                )
                return apply(answer, to: facts, verifiedBy: .ekoResponseUnverified)
            }
            // A claim: recorded by the store; only Eko's answer to the inquiry it asks for can move anything.
            let ask: InquiryPlan = facts.state == .needsAttention ? .stop : .now
            return SettlementStep(state: facts.state, inquiry: ask, outcome: .unchanged)
        case .ekoAnswer(let answer):
            return apply(answer, to: facts, verifiedBy: .inquiry)
        case .noAnswer:
            return SettlementStep(state: facts.state, inquiry: resting(facts.state), outcome: .noAnswer)
        case .gaveUp:
            guard facts.state.awaitsEko else { return unchanged(facts) }
            let flag = SettlementFlag(
                reason: .noFinalAnswer, claimed: facts.report.map(Self.describe) ?? "no report",
                eko: facts.lastAnswerTxStatus.map { Self.describe(txStatus: $0, amountPaise: facts.lastAnswerAmountPaise) }
                    ?? "no answer"
            )
            return SettlementStep(state: .needsAttention, flag: flag, inquiry: .stop, outcome: .needsAttention)
        case .recheckWindowEnded:
            switch facts.state {
            case .settled: return SettlementStep(state: .settled, inquiry: .stop, outcome: .unchanged)
            case .failed: return SettlementStep(state: .closed, inquiry: .stop, outcome: .closed)
            default: return unchanged(facts)
            }
        }
    }

    /// Applies an answer taken as Eko's word.
    private func apply(_ answer: InquiryAnswer, to facts: SettlementFacts, verifiedBy: Verification) -> SettlementStep {
        guard answer.status == nil || answer.status == 0, let code = answer.txStatus,
            let said = TransactionState(txStatus: code)
        else {
            return SettlementStep(state: facts.state, inquiry: resting(facts.state), outcome: .noAnswer)
        }
        // A person decides from here; Eko's answer is still recorded (eko_call) for them.
        if facts.state == .needsAttention {
            return SettlementStep(state: .needsAttention, inquiry: .stop, outcome: .unchanged)
        }
        let eko = Self.describe(txStatus: code, amountPaise: answer.amountPaise)
        var step = facts.isWithdrawal
            ? withdrawal(said: said, answer: answer, facts: facts, verifiedBy: verifiedBy, eko: eko)
            : withoutMoney(said: said, facts: facts)
        step.applied = answer
        // A report that disagrees with Eko's final word is flagged (unless it is the answer itself), once.
        if step.flag == nil, verifiedBy == .inquiry, facts.isWithdrawal, !facts.reportChecked, let report = facts.report,
            Self.disagrees(report, said: code, amountPaise: answer.amountPaise)
        {
            step.flag = SettlementFlag(reason: .reportDisagrees, claimed: Self.describe(report), eko: eko)
        }
        if step.flag != nil, step.outcome == .unchanged { step.outcome = .flagged }
        return step
    }

    /// Cash withdrawals: money follows Eko's answer.
    private func withdrawal(
        said: TransactionState, answer: InquiryAnswer, facts: SettlementFacts, verifiedBy: Verification, eko: String
    ) -> SettlementStep {
        let state = facts.state
        let afterFinal = [.failed, .closed, .refunded].contains(state) || (state == .refundPending && !facts.hasSettlement)
        func contradiction() -> SettlementStep {
            let earlier = facts.lastAnswerTxStatus.map { Self.describe(txStatus: $0, amountPaise: facts.lastAnswerAmountPaise) }
                ?? "state \(state.rawValue)"
            return SettlementStep(
                state: .needsAttention, flag: SettlementFlag(reason: .ekoContradictsItself, claimed: "Eko said \(earlier)", eko: eko),
                inquiry: .stop, outcome: .needsAttention
            )
        }
        func reversal(_ reason: FlagReason, to next: TransactionState) -> SettlementStep {
            let settled = "settled ₹\(Paise.format(facts.settledPaise ?? 0))"
            return SettlementStep(
                state: next, ledger: .reversal(verifiedBy: verifiedBy),
                flag: SettlementFlag(reason: reason, claimed: settled, eko: eko), inquiry: .stop, outcome: .reversed
            )
        }
        switch said {
        case .success:
            func amountDisagrees(_ claimed: String) -> SettlementStep {
                SettlementStep(
                    state: .needsAttention, flag: SettlementFlag(reason: .amountDisagrees, claimed: claimed, eko: eko),
                    inquiry: .stop, outcome: .needsAttention
                )
            }
            if state == .settled, let settled = facts.settledPaise {
                return answer.amountPaise == settled ? unchanged(facts) : amountDisagrees("settled ₹\(Paise.format(settled))")
            }
            if afterFinal || facts.hasSettlement || facts.hasReversal { return contradiction() }
            guard let amount = answer.amountPaise, amount == facts.approvedAmountPaise else {
                return amountDisagrees(facts.approvedAmountPaise.map { "approved ₹\(Paise.format($0))" } ?? "approved, no amount")
            }
            return SettlementStep(
                state: .settled,
                ledger: .settlement(
                    amountPaise: amount, tid: answer.tid, bankRefNum: answer.bankRefNum,
                    commissionPaise: answer.commissionPaise, tdsPaise: answer.tdsPaise, verifiedBy: verifiedBy
                ),
                inquiry: rechecksFinalAnswers ? .recheck : .stop, outcome: .settled
            )
        case .failed:
            if facts.hasSettlement && !facts.hasReversal { return reversal(.failedAfterSettlement, to: .needsAttention) }
            if [.failed, .closed, .refunded].contains(state) { return unchanged(facts) }
            return rechecksFinalAnswers
                ? SettlementStep(state: .failed, inquiry: .recheck, outcome: .closed)
                : SettlementStep(state: .closed, inquiry: .stop, outcome: .closed)
        case .refunded:
            if facts.hasSettlement && !facts.hasReversal { return reversal(.refundedAfterSettlement, to: .refunded) }
            if [.closed, .refunded].contains(state) { return unchanged(facts) }
            return SettlementStep(state: .refunded, inquiry: .stop, outcome: .closed)
        case .refundPending:
            if state == .settled { return SettlementStep(state: .refundPending, inquiry: .retry, outcome: .inProgress) }
            if state == .refundPending { return unchanged(facts) }
            if afterFinal || facts.hasReversal { return contradiction() }
            return SettlementStep(state: .refundPending, inquiry: .retry, outcome: .inProgress)
        default:  // pending, hold
            if state == .settled || afterFinal || facts.hasReversal { return contradiction() }
            if state == .refundPending || state == said { return unchanged(facts) }
            return SettlementStep(state: said, inquiry: .retry, outcome: .inProgress)
        }
    }

    /// Balance enquiries and mini statements: no money, closed on Eko's final answer.
    private func withoutMoney(said: TransactionState, facts: SettlementFacts) -> SettlementStep {
        guard facts.state.awaitsEko else { return unchanged(facts) }
        switch said {
        case .success, .failed, .refunded:
            return SettlementStep(state: .closed, inquiry: .stop, outcome: .closed)
        default:
            if facts.state == said || facts.state == .refundPending { return unchanged(facts) }
            return SettlementStep(state: said, inquiry: .retry, outcome: .inProgress)
        }
    }

    private func unchanged(_ facts: SettlementFacts) -> SettlementStep {
        SettlementStep(state: facts.state, inquiry: resting(facts.state), outcome: .unchanged)
    }

    /// How a state is followed up when nothing new is claimed.
    func resting(_ state: TransactionState) -> InquiryPlan {
        if state.awaitsEko { return .retry }
        if state == .settled || state == .failed { return rechecksFinalAnswers ? .recheck : .stop }
        return .stop
    }

    /// Whether a report disagrees with Eko's answer. Only final answers (success, failed, refunded) are compared,
    /// and only with a report that claims an outcome; "refund pending" then "refunded" agree.
    static func disagrees(_ report: ReportedResult, said: Int, amountPaise: Int64?) -> Bool {
        guard [0, 1, 4].contains(said) else { return false }
        guard let claimed = report.txStatus, claimed != 2, claimed != 5 else { return false }
        if claimed == 3 && said == 4 { return false }
        if claimed != said { return true }
        return said == 0 && report.amountPaise != amountPaise
    }

    static func describe(_ report: ReportedResult) -> String {
        "report " + (report.txStatus.map { describe(txStatus: $0, amountPaise: report.amountPaise) } ?? "without tx_status")
    }

    static func describe(txStatus: Int, amountPaise: Int64?) -> String {
        let name = TransactionState(txStatus: txStatus).map { $0 == .success ? "success" : $0.rawValue } ?? "unknown"
        return "tx_status \(txStatus) (\(name))" + (amountPaise.map { " ₹\(Paise.format($0))" } ?? "")
    }
}

extension SettlementStep {
    public init(
        state: TransactionState, ledger: LedgerWrite? = nil, flag: SettlementFlag? = nil, inquiry: InquiryPlan,
        outcome: SettlementOutcome
    ) {
        self.state = state
        self.ledger = ledger
        self.flag = flag
        self.inquiry = inquiry
        self.outcome = outcome
        self.applied = nil
    }
}

/// When to ask Eko next. Pure: every time is computed from the `now` it is given.
public struct InquirySchedule: Sendable, Equatable {
    /// A report pulls the next inquiry forward to now, but never closer than this to the previous one: a flood of
    /// posted reports cannot turn into a flood of calls to Eko.
    public static let reportSpacingSeconds = 15
    /// How long a sweeper holds what it claimed; after a crash the transaction is due again then.
    public static let claimLeaseSeconds = 120

    /// `settlement.result_grace_seconds`: an approval without any report is chased after this.
    public var resultGraceSeconds: Int
    /// `settlement.give_up_after_hours`, counted from the decision.
    public var giveUpAfterHours: Int
    /// `settlement.recheck_settled_days`, counted from the settlement (or failure).
    public var recheckSettledDays: Int

    public init(resultGraceSeconds: Int, giveUpAfterHours: Int, recheckSettledDays: Int) {
        self.resultGraceSeconds = resultGraceSeconds
        self.giveUpAfterHours = giveUpAfterHours
        self.recheckSettledDays = recheckSettledDays
    }

    /// The next inquiry after `plan`; nil: none.
    /// - Parameters:
    ///   - attempts: inquiries made so far (the backoff grows with them).
    ///   - scheduled: the inquiry already due, if any (a report never postpones it).
    public func next(
        _ plan: InquiryPlan, attempts: Int, now: Date, lastAskedAt: Date?, scheduled: Date?, recheckUntil: Date?
    ) -> Date? {
        switch plan {
        case .stop:
            return nil
        case .now:
            var at = now
            if let lastAskedAt { at = max(at, lastAskedAt.addingTimeInterval(Double(Self.reportSpacingSeconds))) }
            if let scheduled { at = min(at, max(scheduled, now)) }
            return at
        case .retry:
            return now.addingTimeInterval(Double(Self.backoffSeconds(attempts: attempts, cap: 3600)))
        case .recheck:
            let at = now.addingTimeInterval(Double(Self.backoffSeconds(attempts: attempts, cap: 6 * 3600)))
            guard let recheckUntil else { return at }
            return min(at, max(recheckUntil, now))
        }
    }

    /// 30 s after the first inquiry, doubling, at most `cap`.
    static func backoffSeconds(attempts: Int, cap: Int) -> Int {
        min(cap, 30 * (1 << min(max(attempts - 1, 0), 20)))
    }

    public func hasGivenUp(decidedAt: Date, now: Date) -> Bool {
        now.timeIntervalSince(decidedAt) > Double(giveUpAfterHours) * 3600
    }

    public func recheckUntil(from now: Date) -> Date {
        now.addingTimeInterval(Double(recheckSettledDays) * 86_400)
    }

    /// Approvals decided at or before this, never reported nor asked about, are due.
    public func graceCutoff(now: Date) -> Date {
        now.addingTimeInterval(-Double(resultGraceSeconds))
    }
}
