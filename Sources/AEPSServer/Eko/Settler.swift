import Foundation
import Logging

/// Turns Eko's word into money: asks Transaction Inquiry about a transaction and applies the answer to the ledger
/// (see ``AppDatabase/applyEkoAnswer(clientRefID:answer:verifiedBy:now:)``). With `settlement.verify_with_inquiry`
/// off, the browser's eko-response is applied instead and the settlement is marked unverified.
public struct Settler: Sendable {
    let database: AppDatabase
    let eko: EkoClient
    let verifyWithInquiry: Bool
    let clock: @Sendable () -> Date
    let logger: Logger

    public init(database: AppDatabase, eko: EkoClient, verifyWithInquiry: Bool, clock: @escaping @Sendable () -> Date, logger: Logger) {
        self.database = database
        self.eko = eko
        self.verifyWithInquiry = verifyWithInquiry
        self.clock = clock
        self.logger = logger
    }

    /// Verifies one transaction now. Returns nil when Eko gave no usable answer (ask again later).
    @discardableResult
    public func verify(clientRefID: String, reported: EkoResponse? = nil) async -> SettlementOutcome? {
        let answer: InquiryAnswer
        let verification: Verification
        if verifyWithInquiry {
            guard case .answered(let inquiry) = await eko.inquire(clientRefID: clientRefID) else { return nil }
            answer = inquiry
            verification = .inquiry
        } else {
            guard let reported else { return nil }
            answer = InquiryAnswer(
                status: 0, message: nil, txStatus: reported.txStatus, amountPaise: reported.amountPaise, tid: reported.tid,
                bankRefNum: reported.bankRefNum, commissionPaise: nil, tdsPaise: nil
            )
            verification = .ekoResponseUnverified
        }
        do {
            let outcome = try await database.applyEkoAnswer(
                clientRefID: clientRefID, answer: answer, verifiedBy: verification, now: clock()
            )
            logger.info(
                "settlement check",
                metadata: ["client_ref_id": "\(clientRefID)", "outcome": "\(outcome.rawValue)", "verified_by": "\(verification.rawValue)"]
            )
            return outcome
        } catch {
            logger.error("could not apply Eko's answer", metadata: ["client_ref_id": "\(clientRefID)", "error": "\(error)"])
            return nil
        }
    }
}
