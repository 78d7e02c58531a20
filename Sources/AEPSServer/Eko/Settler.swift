import Foundation
import Logging

/// Turns Eko's word into money: asks Transaction Inquiry about one transaction and records the answer through the
/// settlement rules (``AppDatabase/recordEkoAnswer(clientRefID:answer:rules:schedule:now:)``). With
/// `settlement.verify_with_inquiry` off nobody is asked (reports were applied as they came, marked unverified);
/// the time limits still apply.
public struct Settler: Sendable {
    let database: AppDatabase
    let eko: EkoClient
    let rules: SettlementRules
    let schedule: InquirySchedule
    let clock: @Sendable () -> Date
    let logger: Logger
    let metrics: AppMetrics

    public init(
        database: AppDatabase, eko: EkoClient, rules: SettlementRules, schedule: InquirySchedule,
        clock: @escaping @Sendable () -> Date, logger: Logger, metrics: AppMetrics = AppMetrics()
    ) {
        self.database = database
        self.eko = eko
        self.rules = rules
        self.schedule = schedule
        self.clock = clock
        self.logger = logger
        self.metrics = metrics
    }

    /// Asks Eko about one transaction now and records what it says. Returns nil only when the answer could not
    /// be recorded (the transaction stays due and is asked again).
    @discardableResult
    public func verify(clientRefID: String) async -> SettlementStep? {
        var answer: InquiryAnswer?
        if rules.verifyWithInquiry {
            switch await eko.inquire(clientRefID: clientRefID) {
            case .answered(let inquiry):
                answer = inquiry
                metrics.inquiry(inquiry.status == nil || inquiry.status == 0 ? .answered : .ekoError)
            case .unavailable:
                metrics.inquiry(.unavailable)
            }
        }
        do {
            let step = try await database.recordEkoAnswer(
                clientRefID: clientRefID, answer: answer, rules: rules, schedule: schedule, now: clock()
            )
            await recordMetrics(step, clientRefID: clientRefID)
            var metadata: Logger.Metadata = [
                "client_ref_id": "\(clientRefID)", "outcome": "\(step.outcome.rawValue)", "state": "\(step.state.rawValue)",
            ]
            if let flag = step.flag {
                metadata["flag"] = "\(flag.reason.rawValue)"
                metadata["claimed"] = "\(flag.claimed)"
                metadata["eko"] = "\(flag.eko)"
                logger.warning("settlement needs attention", metadata: metadata)
            } else {
                logger.info("settlement check", metadata: metadata)
            }
            return step
        } catch {
            logger.error("could not record Eko's answer", metadata: ["client_ref_id": "\(clientRefID)", "error": "\(error)"])
            return nil
        }
    }

    /// Counts the step; a reversal's amount is its row's (the settlement's amount, which the step does not carry).
    private func recordMetrics(_ step: SettlementStep, clientRefID: String) async {
        var ledger: (AppMetrics.LedgerKind, Int64)?
        switch step.ledger {
        case .settlement(let amount, _, _, _, _, _)?:
            ledger = (.settlement, amount)
        case .reversal?:
            let rows = try? await database.settlements(clientRefID: clientRefID)
            ledger = (.reversal, rows?.last { $0.kind == "reversal" }?.amountPaise ?? 0)
        case nil:
            break
        }
        metrics.settlementStep(outcome: step.outcome, flag: step.flag?.reason, ledger: ledger)
    }
}
