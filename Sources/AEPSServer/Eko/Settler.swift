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

    public init(
        database: AppDatabase, eko: EkoClient, rules: SettlementRules, schedule: InquirySchedule,
        clock: @escaping @Sendable () -> Date, logger: Logger
    ) {
        self.database = database
        self.eko = eko
        self.rules = rules
        self.schedule = schedule
        self.clock = clock
        self.logger = logger
    }

    /// Asks Eko about one transaction now and records what it says. Returns nil only when the answer could not
    /// be recorded (the transaction stays due and is asked again).
    @discardableResult
    public func verify(clientRefID: String) async -> SettlementStep? {
        var answer: InquiryAnswer?
        if rules.verifyWithInquiry, case .answered(let inquiry) = await eko.inquire(clientRefID: clientRefID) {
            answer = inquiry
        }
        do {
            let step = try await database.recordEkoAnswer(
                clientRefID: clientRefID, answer: answer, rules: rules, schedule: schedule, now: clock()
            )
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
}
