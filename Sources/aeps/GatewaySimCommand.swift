import AEPSServer
import ArgumentParser
import EkoSigning
import Foundation
import Hummingbird
import Logging

/// `aeps gateway-sim`: the local stand-in for Eko's gateway and server APIs (environment `local`).
struct GatewaySimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway-sim",
        abstract: "Run the local stand-in for Eko's AePS gateway and server APIs (environment local).",
        discussion: """
            Accepts the gateway form at POST /v2/aeps and checks it as Eko would (developer_key, initiator_id, \
            secret_key with the same access key as the server: EKO_ACCESS_KEY or access_key_file). Its popup lets \
            you pick the service, amount, customer, bank and outcome, calls callback_url from its own origin with \
            a real fetch, checks request_hash as Eko would, sends the eko-response and posts both events to the \
            opener. It answers Transaction Inquiry and User Services Enquiry under /ekoapi/v1. Settings come from \
            the gateway_sim section of the configuration; flags override them. Transactions are kept in memory.
            """
    )

    @OptionGroup var options: ConfigOptions

    @Option(help: ArgumentHelp("The port (default: gateway_sim.port, 3004, the port Eko's library uses for local).", valueName: "port"))
    var port: Int?

    @Option(help: ArgumentHelp("The address to listen on (default: gateway_sim.host, 127.0.0.1).", valueName: "host"))
    var host: String?

    @Option(name: .customLong("inactive-user-code"), help: ArgumentHelp("A retailer whose AePS service (43) is not activated (repeatable).", valueName: "code"))
    var inactiveUserCodes: [String] = []

    @Option(name: .customLong("pending-seconds"), help: ArgumentHelp("How long a pending or held transaction stays so.", valueName: "seconds"))
    var pendingSeconds: Int?

    @Option(name: .customLong("verification-timeout-ms"), help: ArgumentHelp("How long the popup waits for the debit-hook answer.", valueName: "ms"))
    var verificationTimeout: Int?

    @Option(name: .customLong("custom-delivery"), help: ArgumentHelp("How the page's custom callback data is sent: both, params or headers.", valueName: "mode"))
    var customDelivery: String?

    @Flag(name: .customLong("no-debit-hook-message"), help: "Do not post the debit-hook event to the opener page.")
    var noDebitHookMessage = false

    func validate() throws {
        if let port, !(0...65535).contains(port) { throw ValidationError("--port: expected 0 to 65535, got \(port)") }
        if let pendingSeconds, !(0...86_400).contains(pendingSeconds) {
            throw ValidationError("--pending-seconds: expected 0 to 86400, got \(pendingSeconds)")
        }
        if let verificationTimeout, !(500...120_000).contains(verificationTimeout) {
            throw ValidationError("--verification-timeout-ms: expected 500 to 120000, got \(verificationTimeout)")
        }
        if let customDelivery, GatewaySimSettings.CustomDelivery(rawValue: customDelivery) == nil {
            throw ValidationError("--custom-delivery: expected both, params or headers, got \"\(customDelivery)\"")
        }
    }

    func run() async throws {
        let config = try AppConfig.load(path: options.config)
        guard config.environment != .production else {
            throw CommandError("environment is production: the simulator stands in for Eko only in local (and for trials beside uat)")
        }
        let accessKey = try AccessKeyLoader.load(config: config)
        var settings = config.gatewaySim
        if let port { settings.port = port }
        if let host { settings.host = host }
        settings.inactiveUserCodes += inactiveUserCodes
        if let pendingSeconds { settings.pendingSeconds = pendingSeconds }
        if let verificationTimeout { settings.verificationTimeoutMilliseconds = verificationTimeout }
        if let customDelivery { settings.customDelivery = GatewaySimSettings.CustomDelivery(rawValue: customDelivery)! }
        if noDebitHookMessage { settings.sendDebitHookMessage = false }
        let logger = makeCommandLogger(level: Logger.Level(rawValue: config.logLevel) ?? .info)
        if config.environment != .local {
            logger.warning("environment is \(config.environment.rawValue): the page opens Eko's gateway, not this simulator")
        }
        let app = buildGatewaySimulator(
            config: config, settings: settings, signer: EkoSigner(accessKey: accessKey.key), logger: logger
        )
        try await app.runService()
    }
}
