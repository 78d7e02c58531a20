import AEPSServer
import ArgumentParser
import EkoSigning
import Foundation

struct Sign: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print secret_key and request_hash for a timestamp and values (to debug a signature).",
        discussion: """
            Uses the same access key as the server (EKO_ACCESS_KEY, else access_key_file from --config). \
            Give the values of request_hash_params in the order the debit-hook listed them, exactly as sent:

              aeps sign --timestamp 1700000000000 --value 9876543210 --value 500 --value 20810200
            """
    )

    @OptionGroup var options: ConfigOptions

    @Option(help: ArgumentHelp("secret_key_timestamp in milliseconds since the epoch (default: now).", valueName: "ms"))
    var timestamp: String?

    @Option(name: .customLong("value"), help: ArgumentHelp("A request_hash value; repeat in order.", valueName: "v"))
    var values: [String] = []

    func validate() throws {
        if let timestamp, timestamp.isEmpty || !timestamp.allSatisfy({ $0.isASCII && $0.isNumber }) || timestamp.count > 16 {
            throw ValidationError("--timestamp: expected milliseconds since the epoch, e.g. 1700000000000")
        }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let key: EkoAccessKey
        if let text = environment[AccessKeyLoader.environmentVariable], !text.isEmpty {
            guard let parsed = EkoAccessKey(text) else {
                throw CommandError("\(AccessKeyLoader.environmentVariable): is blank (expected Eko's access key)")
            }
            key = parsed
        } else {
            key = try AccessKeyLoader.load(config: AppConfig.load(path: options.config), environment: environment).key
        }
        let signature = EkoSigner(accessKey: key).sign(
            timestamp: timestamp ?? EkoTimestamp.milliseconds(Date()), values: values
        )
        print("secret_key_timestamp: \(signature.timestamp)")
        print("secret_key: \(signature.secretKey)")
        print("request_hash: \(signature.requestHash)")
    }
}
