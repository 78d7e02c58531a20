import AEPSServer
import EkoSigning
import Foundation
import Testing

@Suite struct ConfigTests {
    func parse(_ overrides: [String: String]) throws(ConfigError) -> AppConfig {
        try AppConfig.parse(Data(configJSON(overrides).utf8))
    }

    /// The committed example must always load, and mean the local gateway simulator beside the server over local
    /// HTTPS (what `make run` shows); UAT is one setting away.
    @Test func theCommittedExampleLoads() throws {
        let exampleURL = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("aeps.config.example")
        let config = try AppConfig.load(path: exampleURL.path)
        #expect(config.environment == .local)
        #expect(config.gatewayOrigin == "http://localhost:3004")
        #expect(config.gatewayURL == "http://localhost:3004/v2/aeps")
        #expect(config.ekoAPIBase == "http://localhost:3004/ekoapi/v1")
        #expect(config.gatewaySim.runWithServer)
        #expect(config.gatewaySim.port == 3004)
        #expect(config.callbackPath == "/aeps/callback")
        #expect(config.tls != nil)
        #expect(config.databasePath == "data/aeps.sqlite")
        #expect(config.recheckSettledDays == 3)

        // One setting away from UAT: the same file with "environment": "uat" loads and points at Eko's UAT.
        let text = try String(contentsOf: exampleURL, encoding: .utf8)
            .replacingOccurrences(of: #""environment": "local""#, with: #""environment": "uat""#)
        let uat = try AppConfig.parse(Data(text.utf8))
        #expect(uat.gatewayURL == "https://stagegateway.eko.in/v2/aeps")
        #expect(uat.ekoAPIBase == "https://staging.eko.in/ekoapi/v1")
    }

    @Test func theRecheckWindowDefaultsToThreeDaysAndMayBeOff() throws {
        #expect(try parse([:]).recheckSettledDays == 3)
        #expect(try parse(["settlement": #"{"recheck_settled_days": 0}"#]).recheckSettledDays == 0)
        #expect(try parse(["settlement": #"{"recheck_settled_days": 30}"#]).recheckSettledDays == 30)
    }

    @Test func defaultsFillWhatIsLeftOut() throws {
        let config = try parse(["eko": "REMOVE", "callback_url": #""https://partner.example""#])
        #expect(config.http.host == "127.0.0.1")
        #expect(config.http.port == 8080)
        #expect(config.tls == nil)
        #expect(config.language == "en")
        #expect(config.logLevel == "info")
        #expect(config.callbackPath == "/aeps/callback")
        #expect(config.allowedOrigins == ["https://stagegateway.eko.in"])
    }

    @Test func environmentsChooseTheirGatewayAndOverridesWin() throws {
        let production = try parse([
            "environment": #""production""#, "developer_key": #""0123456789abcdef0123456789abcdef""#,
        ])
        #expect(production.gatewayOrigin == "https://gateway.eko.in")
        #expect(production.ekoAPIBase == "https://api.eko.in/ekoicici/v1")
        let local = try parse([
            "environment": #""local""#,
            "eko": #"{"gateway_origin": "http://127.0.0.1:3004", "api_base": "http://127.0.0.1:3004/ekoapi/v1/"}"#,
        ])
        #expect(local.gatewayOrigin == "http://127.0.0.1:3004")
        #expect(local.ekoAPIBase == "http://127.0.0.1:3004/ekoapi/v1")
    }

    /// Every invalid or missing key fails with one line naming it.
    @Test(arguments: [
        (["environment": "REMOVE"], "environment"),
        (["environment": #""staging""#], "environment"),
        (["partner_name": "REMOVE"], "partner_name"),
        (["partner_name": #""  ""#], "partner_name"),
        (["initiator_id": #""12345""#], "initiator_id"),
        (["initiator_id": "9962981729"], "initiator_id"),
        (["initiator_logo_url": #""logo.png""#], "initiator_logo_url"),
        (["developer_key": "REMOVE"], "developer_key"),
        (["language": #""fr""#], "language"),
        (["callback_url": #""not a url""#], "callback_url"),
        (["callback_url": #""ftp://x.example/cb""#], "callback_url"),
        (["http": #"{"port": "8080"}"#], "http.port"),
        (["http": #"{"port": 70000}"#], "http.port"),
        (["http": #"{"hostname": "x"}"#], "http.hostname"),
        (["http": "[]"], "http"),
        (["tls": #"{"certificate_chain": "a.pem"}"#], "tls.private_key"),
        (["database": #"{"path": 5}"#], "database.path"),
        (["eko": #"{"extra_origins": ["https://x.example/path"]}"#], "eko.extra_origins"),
        (["eko": #"{"extra_origins": "https://x.example"}"#], "eko.extra_origins"),
        (["eko": #"{"gateway_origin": "gateway.eko.in"}"#], "eko.gateway_origin"),
        (["eko": #"{"api_base": "nope"}"#], "eko.api_base"),
        (["log": #"{"level": "loud"}"#], "log.level"),
        (["settlement": #"{"recheck_settled_days": 31}"#], "settlement.recheck_settled_days"),
        (["settlement": #"{"recheck_settled_days": -1}"#], "settlement.recheck_settled_days"),
        (["settlement": #"{"recheck_settled_days": "3"}"#], "settlement.recheck_settled_days"),
        (["policy": #"{"hash_params": {"2": ["customer_id", "amount", "user_code", "x"]}}"#], "policy.hash_params.2"),
        (["policy": #"{"hash_params": {"2": ["customer_id", "user_code"]}}"#], "policy.hash_params.2"),
        (["policy": #"{"hash_params": {"3": ["customer_id"]}}"#], "policy.hash_params.3"),
        (["policy": #"{"hash_params": {"4": ["customer_id", "user_code", "user_code"]}}"#], "policy.hash_params.4"),
        (["policy": #"{"hash_params": {"4": []}}"#], "policy.hash_params.4"),
        (["policy": #"{"hash_params": {"5": ["user_code"]}}"#], "policy.hash_params.5"),
        (["policy": #"{"hash_params": ["customer_id"]}"#], "policy.hash_params"),
        (["policy": #"{"repeat_window_seconds": 901}"#], "policy.repeat_window_seconds"),
        (["access_key": #""d2fe1d99-6298-4af2-8cc5-d97dcf46df30""#], "access_key"),
        (["calback_url": #""https://x.example""#], "calback_url"),
    ] as [([String: String], String)])
    func badKeysAreNamed(overrides: [String: String], key: String) {
        #expect {
            try parse(overrides)
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.key == key && !error.message.isEmpty && !"\(error)".contains("\n")
        }
    }

    @Test func theHashParameterTableAndRepeatWindowAreRead() throws {
        let config = try parse(["policy": #"{"hash_params": {"3": ["user_code", "customer_id"]}, "repeat_window_seconds": 30}"#])
        #expect(config.policy.hashParams[3] == ["user_code", "customer_id"])
        #expect(config.policy.hashParams[2] == ["customer_id", "amount", "user_code"])  // the others keep Eko's lists
        #expect(config.policy.repeatWindowSeconds == 30)
        let defaults = try parse([:])
        #expect(defaults.policy.hashParams == PolicyConfig.ekoHashParams)
        #expect(defaults.policy.repeatWindowSeconds == 120)
    }

    @Test func notJSONAndMissingFilesAreNamed() {
        #expect(throws: ConfigError(key: "aeps.config", "not valid JSON (unexpected end of input at byte 1)")) {
            try AppConfig.parse(Data("{".utf8))
        }
        #expect {
            try AppConfig.load(path: "/nonexistent/aeps.config")
        } throws: { error in
            (error as? ConfigError)?.key == "--config" && "\(error)".contains("/nonexistent/aeps.config")
        }
    }

    @Test func productionRefusesAnHTTPCallbackAndThePublicDeveloperKey() {
        #expect(throws: ConfigError.self) {
            try parse(["environment": #""production""#, "developer_key": #""0123456789abcdef0123456789abcdef""#,
                       "callback_url": #""http://partner.example/aeps/callback""#])
        }
        #expect {
            try parse(["environment": #""production""#])
        } throws: { error in
            (error as? ConfigError)?.key == "developer_key"
        }
    }

    @Test func theAccessKeyComesFromTheEnvironmentOrItsFile() throws {
        let config = try parse([:])
        let fromEnvironment = try AccessKeyLoader.load(config: config, environment: ["EKO_ACCESS_KEY": uatAccessKey])
        #expect(fromEnvironment.source == "EKO_ACCESS_KEY")
        #expect(fromEnvironment.key.isPublicUATKey)

        let directory = try TemporaryDirectory()
        let keyFile = directory.path("eko.key")
        _ = FileManager.default.createFile(atPath: keyFile, contents: Data("\(uatAccessKey)\n".utf8), attributes: [.posixPermissions: 0o644])
        let withFile = try parse(["access_key_file": "\"\(keyFile)\""])
        let fromFile = try AccessKeyLoader.load(config: withFile, environment: [:])
        #expect(fromFile.source == "access_key_file")
        #expect(fromFile.warnings.count == 1)  // readable by others
        #expect(throws: ConfigError.self) {
            try AccessKeyLoader.load(config: try parse(["access_key_file": #""/nonexistent/key""#]), environment: [:])
        }
        #expect(throws: ConfigError.self) { try AccessKeyLoader.load(config: config, environment: [:]) }
    }

    @Test func productionRefusesAPublicUATKeyOrNoKey() throws {
        let production = try parse([
            "environment": #""production""#, "developer_key": #""0123456789abcdef0123456789abcdef""#,
        ])
        #expect {
            try AccessKeyLoader.load(config: production, environment: ["EKO_ACCESS_KEY": uatAccessKey])
        } throws: { error in
            (error as? ConfigError)?.key == "EKO_ACCESS_KEY" && "\(error)".contains("public UAT")
        }
        #expect {
            try AccessKeyLoader.load(config: production, environment: [:])
        } throws: { error in
            (error as? ConfigError)?.key == "EKO_ACCESS_KEY"
        }
        let own = try AccessKeyLoader.load(
            config: production, environment: ["EKO_ACCESS_KEY": "11111111-2222-3333-4444-555555555555"]
        )
        #expect(!own.key.isPublicUATKey)
    }
}
