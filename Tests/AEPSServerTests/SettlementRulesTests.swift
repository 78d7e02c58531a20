import AEPSServer
import Foundation
import Testing

/// The settlement rules over every state × event. Each cell is "next-state ledger flag inquiry": ledger `S` a
/// settlement row, `R` a reversal row, `-` none; flag a ``FlagReason`` or `-`; inquiry an ``InquiryPlan``.
/// `contra` is short for "needs_attention - eko_contradicts_itself stop".
///
/// Every row's facts: a ₹500 cash withdrawal whose browser reported success for ₹500, and Eko's earlier answer
/// where the state implies one (failed and closed: 1, refund_pending: 3, refunded: 4, settled: 0 ₹500).
@Suite struct SettlementRulesTests {
    static let approved: Int64 = 50_000
    static let honestReport = ReportedResult(txStatus: 0, amountPaise: approved)

    static func eko(_ txStatus: Int?, _ amount: Int64? = approved, status: Int? = 0) -> SettlementEvent {
        .ekoAnswer(InquiryAnswer(
            status: status, message: nil, txStatus: txStatus, amountPaise: amount, tid: "3210000000",
            bankRefNum: "412345678901", commissionPaise: 150, tdsPaise: 8
        ))
    }

    static let events: [(String, SettlementEvent)] = [
        ("report 0 ₹500", .report(honestReport)),
        ("report 4 ₹500", .report(ReportedResult(txStatus: 4, amountPaise: approved))),
        ("report 1", .report(ReportedResult(txStatus: 1, amountPaise: nil))),
        ("eko 0 ₹500", eko(0)),
        ("eko 0 ₹5000", eko(0, 500_000)),
        ("eko 0 no amount", eko(0, nil)),
        ("eko 1", eko(1)),
        ("eko 2", eko(2)),
        ("eko 3", eko(3)),
        ("eko 4", eko(4)),
        ("eko 5", eko(5)),
        ("eko status 463", eko(nil, nil, status: 463)),
        ("eko tx 9", eko(9)),
        ("no answer", .noAnswer),
        ("gave up", .gaveUp),
        ("recheck ended", .recheckWindowEnded),
    ]

    static func facts(_ state: TransactionState) -> SettlementFacts {
        var facts = SettlementFacts(state: state, type: 2, approvedAmountPaise: approved, report: honestReport)
        switch state {
        case .failed, .closed: facts.lastAnswerTxStatus = 1
        case .refundPending: facts.lastAnswerTxStatus = 3
        case .refunded: facts.lastAnswerTxStatus = 4
        case .settled:
            facts.settledPaise = approved
            facts.lastAnswerTxStatus = 0
            facts.lastAnswerAmountPaise = approved
        default: break
        }
        // Eko's final answer came after the report, so it was compared then.
        facts.reportChecked = [0, 1, 4].contains(facts.lastAnswerTxStatus)
        return facts
    }

    static let contra = "needs_attention - eko_contradicts_itself stop"
    static let gaveUp = "needs_attention - no_final_answer stop"

    /// One row per state (in `TransactionState.allCases` order), one cell per event (in `events` order).
    static let expected: [TransactionState: [String]] = [
        .refused: Array(repeating: "refused - - stop", count: 16),
        .approved: [
            "approved - - now", "approved - - now", "approved - - now",
            "settled S - recheck", "needs_attention - amount_disagrees stop", "needs_attention - amount_disagrees stop",
            "failed - report_disagrees recheck", "pending - - retry", "refund_pending - - retry",
            "refunded - report_disagrees stop", "hold - - retry",
            "approved - - retry", "approved - - retry", "approved - - retry", gaveUp, "approved - - retry",
        ],
        .pending: [
            "pending - - now", "pending - - now", "pending - - now",
            "settled S - recheck", "needs_attention - amount_disagrees stop", "needs_attention - amount_disagrees stop",
            "failed - report_disagrees recheck", "pending - - retry", "refund_pending - - retry",
            "refunded - report_disagrees stop", "hold - - retry",
            "pending - - retry", "pending - - retry", "pending - - retry", gaveUp, "pending - - retry",
        ],
        .hold: [
            "hold - - now", "hold - - now", "hold - - now",
            "settled S - recheck", "needs_attention - amount_disagrees stop", "needs_attention - amount_disagrees stop",
            "failed - report_disagrees recheck", "pending - - retry", "refund_pending - - retry",
            "refunded - report_disagrees stop", "hold - - retry",
            "hold - - retry", "hold - - retry", "hold - - retry", gaveUp, "hold - - retry",
        ],
        .success: [
            "success - - now", "success - - now", "success - - now",
            "settled S - recheck", "needs_attention - amount_disagrees stop", "needs_attention - amount_disagrees stop",
            "failed - report_disagrees recheck", "pending - - retry", "refund_pending - - retry",
            "refunded - report_disagrees stop", "hold - - retry",
            "success - - retry", "success - - retry", "success - - retry", gaveUp, "success - - retry",
        ],
        .failed: [
            "failed - - now", "failed - - now", "failed - - now",
            contra, contra, contra,
            "failed - - recheck", contra, contra,
            "refunded - - stop", contra,
            "failed - - recheck", "failed - - recheck", "failed - - recheck", "failed - - recheck", "closed - - stop",
        ],
        .refundPending: [
            "refund_pending - - now", "refund_pending - - now", "refund_pending - - now",
            contra, contra, contra,
            "failed - report_disagrees recheck", contra, "refund_pending - - retry",
            "refunded - report_disagrees stop", contra,
            "refund_pending - - retry", "refund_pending - - retry", "refund_pending - - retry", gaveUp,
            "refund_pending - - retry",
        ],
        .refunded: [
            "refunded - - now", "refunded - - now", "refunded - - now",
            contra, contra, contra,
            "refunded - - stop", contra, contra,
            "refunded - - stop", contra,
            "refunded - - stop", "refunded - - stop", "refunded - - stop", "refunded - - stop", "refunded - - stop",
        ],
        .settled: [
            "settled - - now", "settled - - now", "settled - - now",
            "settled - - recheck", "needs_attention - amount_disagrees stop", "needs_attention - amount_disagrees stop",
            "needs_attention R failed_after_settlement stop", contra, "refund_pending - - retry",
            "refunded R refunded_after_settlement stop", contra,
            "settled - - recheck", "settled - - recheck", "settled - - recheck", "settled - - recheck", "settled - - stop",
        ],
        .closed: [
            "closed - - now", "closed - - now", "closed - - now",
            contra, contra, contra,
            "closed - - stop", contra, contra,
            "closed - - stop", contra,
            "closed - - stop", "closed - - stop", "closed - - stop", "closed - - stop", "closed - - stop",
        ],
        .needsAttention: Array(repeating: "needs_attention - - stop", count: 16),
    ]

    /// States that exist with other facts: a settled withdrawal later refund-pending or refunded, and a balance
    /// enquiry (no money ever).
    static let variants: [(String, SettlementFacts, [String])] = [
        (
            "refund_pending after settlement",
            SettlementFacts(
                state: .refundPending, type: 2, approvedAmountPaise: approved, settledPaise: approved,
                report: honestReport, lastAnswerTxStatus: 3
            ),
            [
                "refund_pending - - now", "refund_pending - - now", "refund_pending - - now",
                contra, contra, contra,
                "needs_attention R failed_after_settlement stop", "refund_pending - - retry", "refund_pending - - retry",
                "refunded R refunded_after_settlement stop", "refund_pending - - retry",
                "refund_pending - - retry", "refund_pending - - retry", "refund_pending - - retry", gaveUp,
                "refund_pending - - retry",
            ]
        ),
        (
            "refunded after settlement",
            SettlementFacts(
                state: .refunded, type: 2, approvedAmountPaise: approved, settledPaise: approved, hasReversal: true,
                report: honestReport, reportChecked: true, lastAnswerTxStatus: 4
            ),
            [
                "refunded - - now", "refunded - - now", "refunded - - now",
                contra, contra, contra,
                "refunded - - stop", contra, contra,
                "refunded - - stop", contra,
                "refunded - - stop", "refunded - - stop", "refunded - - stop", "refunded - - stop", "refunded - - stop",
            ]
        ),
        (
            "balance enquiry",
            SettlementFacts(state: .approved, type: 3, approvedAmountPaise: nil, report: ReportedResult(txStatus: 1, amountPaise: nil)),
            [
                "approved - - now", "approved - - now", "approved - - now",
                "closed - - stop", "closed - - stop", "closed - - stop",
                "closed - - stop", "pending - - retry", "refund_pending - - retry",
                "closed - - stop", "hold - - retry",
                "approved - - retry", "approved - - retry", "approved - - retry", gaveUp, "approved - - retry",
            ]
        ),
    ]

    static let verified = SettlementRules(verifyWithInquiry: true, recheckSettledDays: 3)

    static func cell(_ step: SettlementStep) -> String {
        let ledger: String =
            switch step.ledger {
            case .settlement: "S"
            case .reversal: "R"
            case nil: "-"
            }
        return "\(step.state.rawValue) \(ledger) \(step.flag?.reason.rawValue ?? "-") \(step.inquiry.rawValue)"
    }

    @Test func everyStateTimesEveryEventMatchesTheTable() {
        #expect(Set(Self.expected.keys) == Set(TransactionState.allCases), "every state has a row")
        for state in TransactionState.allCases {
            let row = Self.expected[state] ?? []
            #expect(row.count == Self.events.count, "row \(state.rawValue) has a cell per event")
            for (index, (name, event)) in Self.events.enumerated() where index < row.count {
                let step = Self.verified.apply(event, to: Self.facts(state))
                #expect(Self.cell(step) == row[index], "\(state.rawValue) × \(name)")
            }
        }
        for (label, facts, row) in Self.variants {
            for (index, (name, event)) in Self.events.enumerated() {
                #expect(Self.cell(Self.verified.apply(event, to: facts)) == row[index], "\(label) × \(name)")
            }
        }
    }

    /// Every fact combination the store can hold, for the invariants below.
    static var allFacts: [SettlementFacts] {
        var all: [SettlementFacts] = []
        let reports: [ReportedResult?] = [nil, honestReport, ReportedResult(txStatus: 4, amountPaise: approved), ReportedResult(txStatus: 0, amountPaise: 1)]
        for state in TransactionState.allCases {
            for type in [2, 3, 4] {
                for (settled, reversed) in [(false, false), (true, false), (true, true)] {
                    for report in reports {
                        for last in [nil, 0, 1, 2, 3, 4, 5] as [Int?] {
                            for checked in [false, true] {
                                all.append(SettlementFacts(
                                    state: state, type: type, approvedAmountPaise: type == 2 ? approved : nil,
                                    settledPaise: settled ? approved : nil, hasReversal: reversed, report: report,
                                    reportChecked: checked, lastAnswerTxStatus: last,
                                    lastAnswerAmountPaise: last == 0 ? approved : nil
                                ))
                            }
                        }
                    }
                }
            }
        }
        return all
    }

    @Test func withVerificationOnAReportNeverMovesAnythingAndMoneyOnlyFollowsEko() {
        var settlements = 0
        var reversals = 0
        for facts in Self.allFacts {
            for (name, event) in Self.events {
                let step = Self.verified.apply(event, to: facts)
                let label = "\(facts) × \(name)"
                if case .report = event {
                    #expect(step.state == facts.state && step.ledger == nil && step.flag == nil, "a report moved: \(label)")
                    #expect(step.inquiry == (facts.state == .refused || facts.state == .needsAttention ? .stop : .now), "\(label)")
                }
                if facts.state == .refused || facts.state == .needsAttention {
                    #expect(step.state == facts.state && step.ledger == nil, "\(label)")
                }
                switch step.ledger {
                case .settlement(let amount, _, _, _, _, let verifiedBy):
                    settlements += 1
                    guard case .ekoAnswer(let answer) = event else {
                        Issue.record("a settlement not from Eko's answer: \(label)")
                        continue
                    }
                    #expect(answer.status == 0 && answer.txStatus == 0 && amount == facts.approvedAmountPaise, "\(label)")
                    #expect(facts.type == 2 && facts.settledPaise == nil && !facts.hasReversal, "\(label)")
                    #expect(verifiedBy == .inquiry && step.state == .settled && step.outcome == .settled, "\(label)")
                case .reversal(let verifiedBy):
                    reversals += 1
                    guard case .ekoAnswer(let answer) = event else {
                        Issue.record("a reversal not from Eko's answer: \(label)")
                        continue
                    }
                    #expect([1, 4].contains(answer.txStatus) && facts.settledPaise != nil && !facts.hasReversal, "\(label)")
                    #expect(verifiedBy == .inquiry && step.flag != nil && step.outcome == .reversed, "\(label)")
                case nil:
                    break
                }
                if facts.type != 2 {
                    #expect(step.ledger == nil && (step.state != .settled || facts.state == .settled), "money without a withdrawal: \(label)")
                }
            }
        }
        // The invariants above are not vacuous.
        #expect(settlements > 0 && reversals > 0)
    }

    @Test func withVerificationOffTheReportIsAppliedAsEkosWordAndMarked() {
        let rules = SettlementRules(verifyWithInquiry: false, recheckSettledDays: 3)
        let approved = Self.facts(.approved)
        let settle = rules.apply(.report(Self.honestReport), to: approved)
        #expect(Self.cell(settle) == "settled S - stop")
        guard case .settlement(_, _, _, _, _, let verifiedBy) = settle.ledger else { Issue.record("no settlement"); return }
        #expect(verifiedBy == .ekoResponseUnverified)
        #expect(Self.cell(rules.apply(.report(ReportedResult(txStatus: 1, amountPaise: nil)), to: approved)) == "closed - - stop")
        #expect(Self.cell(rules.apply(.report(ReportedResult(txStatus: 2, amountPaise: nil)), to: approved)) == "pending - - retry")
        #expect(
            Self.cell(rules.apply(.report(ReportedResult(txStatus: 0, amountPaise: 1)), to: approved))
                == "needs_attention - amount_disagrees stop"
        )
        let reversal = rules.apply(.report(ReportedResult(txStatus: 4, amountPaise: Self.approved)), to: Self.facts(.settled))
        #expect(Self.cell(reversal) == "refunded R refunded_after_settlement stop")
        #expect(reversal.ledger == .reversal(verifiedBy: .ekoResponseUnverified))
    }

    @Test func withoutARecheckWindowFinalAnswersAreFinalAtOnce() {
        let rules = SettlementRules(verifyWithInquiry: true, recheckSettledDays: 0)
        #expect(Self.cell(rules.apply(Self.eko(0), to: Self.facts(.approved))) == "settled S - stop")
        #expect(Self.cell(rules.apply(Self.eko(1), to: Self.facts(.approved))) == "closed - report_disagrees stop")
    }

    @Test func aFlagCarriesBothValues() {
        let forged = SettlementFacts(
            state: .approved, type: 2, approvedAmountPaise: Self.approved, report: ReportedResult(txStatus: 4, amountPaise: Self.approved)
        )
        let step = Self.verified.apply(Self.eko(0), to: forged)
        #expect(step.flag == SettlementFlag(reason: .reportDisagrees, claimed: "report tx_status 4 (refunded) ₹500.00", eko: "tx_status 0 (success) ₹500.00"))
        let amount = Self.verified.apply(Self.eko(0, 500_000), to: Self.facts(.approved))
        #expect(amount.flag == SettlementFlag(reason: .amountDisagrees, claimed: "approved ₹500.00", eko: "tx_status 0 (success) ₹5000.00"))
    }

    @Test func theScheduleBacksOffSpacesReportsAndEndsRechecksOnTime() {
        let schedule = InquirySchedule(resultGraceSeconds: 120, giveUpAfterHours: 48, recheckSettledDays: 3)
        let now = pinnedNow
        func after(_ date: Date?) -> Double? { date.map { $0.timeIntervalSince(now) } }
        #expect(after(schedule.next(.retry, attempts: 1, now: now, lastAskedAt: nil, scheduled: nil, recheckUntil: nil)) == 30)
        #expect(after(schedule.next(.retry, attempts: 2, now: now, lastAskedAt: nil, scheduled: nil, recheckUntil: nil)) == 60)
        #expect(after(schedule.next(.retry, attempts: 30, now: now, lastAskedAt: nil, scheduled: nil, recheckUntil: nil)) == 3600)
        #expect(after(schedule.next(.stop, attempts: 1, now: now, lastAskedAt: nil, scheduled: nil, recheckUntil: nil)) == nil)
        // A report asks at once, but not within 15 s of the last inquiry, and never later than already due.
        #expect(after(schedule.next(.now, attempts: 0, now: now, lastAskedAt: nil, scheduled: nil, recheckUntil: nil)) == 0)
        #expect(after(schedule.next(.now, attempts: 1, now: now, lastAskedAt: now.addingTimeInterval(-5), scheduled: nil, recheckUntil: nil)) == 10)
        #expect(after(schedule.next(.now, attempts: 1, now: now, lastAskedAt: now, scheduled: now.addingTimeInterval(3), recheckUntil: nil)) == 3)
        // Rechecks back off up to six hours, and the last one is at the window's end.
        #expect(after(schedule.next(.recheck, attempts: 30, now: now, lastAskedAt: nil, scheduled: nil, recheckUntil: now.addingTimeInterval(86_400))) == 21_600)
        #expect(after(schedule.next(.recheck, attempts: 30, now: now, lastAskedAt: nil, scheduled: nil, recheckUntil: now.addingTimeInterval(60))) == 60)
        #expect(schedule.hasGivenUp(decidedAt: now, now: now.addingTimeInterval(48 * 3600 + 1)))
        #expect(!schedule.hasGivenUp(decidedAt: now, now: now.addingTimeInterval(48 * 3600)))
    }
}
