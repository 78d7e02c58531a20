import AEPSServer
import ArgumentParser
import EkoSigning
import Foundation
import Logging

struct Inquire: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask Eko's Transaction Inquiry about one transaction and print what it says (recorded in eko_call).",
        discussion: "Uses eko.api_base of the configured environment, the developer_key and the access key; nothing is settled."
    )

    @OptionGroup var options: ConfigOptions
    @Argument(help: ArgumentHelp("The transaction's client_ref_id (or Eko's tid with --tid).", valueName: "reference"))
    var reference: String
    @Flag(help: "The reference is Eko's tid, not a client_ref_id.") var tid = false

    func validate() throws {
        guard (1...100).contains(reference.count), !reference.contains(where: { $0.isWhitespace }) else {
            throw ValidationError("reference: expected a client_ref_id or tid without spaces, got \"\(reference)\"")
        }
    }

    func run() async throws {
        let config = try AppConfig.load(path: options.config)
        let key = try AccessKeyLoader.load(config: config).key
        let database = try openDatabase(options)
        let logger = makeCommandLogger(level: .warning)
        let client = buildSettlement(
            config: config, dependencies: AppDependencies(database: database, signer: EkoSigner(accessKey: key), logger: logger)
        ).eko
        let outcome = tid ? await client.inquire(tid: reference) : await client.inquire(clientRefID: reference)
        switch outcome {
        case .unavailable(let reason):
            throw CommandError("no answer from Eko for \(reference): \(reason)")
        case .answered(let answer):
            func rupees(_ paise: Int64?) -> String { paise.map { "₹" + Paise.format($0) } ?? "-" }
            let words = answer.txStatus.flatMap(TransactionState.init(txStatus:))?.rawValue ?? "unknown"
            print("inquiry for \(reference): Eko status \(answer.status.map(String.init) ?? "-") (\(answer.message ?? "no message"))")
            print("tx_status: \(answer.txStatus.map(String.init) ?? "-") (\(words))")
            print("amount \(rupees(answer.amountPaise)), tid \(answer.tid ?? "-"), bank reference \(answer.bankRefNum ?? "-"), "
                + "commission \(rupees(answer.commissionPaise)), TDS \(rupees(answer.tdsPaise))")
        }
    }
}
