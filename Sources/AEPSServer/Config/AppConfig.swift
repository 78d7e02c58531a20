import EkoSigning
import Foundation

/// The server's configuration, read from `aeps.config` (JSON) and validated as a whole before anything starts.
///
/// Keys (dotted names are nested objects; see the README's configuration table):
/// - `environment` (required): `uat`, `production` or `local`.
/// - `partner_name`, `initiator_logo_url`, `initiator_id`, `developer_key` (required): Eko's gateway fields.
/// - `language` (default `en`): `en`, `hi`, `mr`, `gu`, `kn` or `ta`.
/// - `callback_url` (required): the public URL Eko's gateway calls; its path is the callback route
///   (`/aeps/callback` when the URL has no path). `https://` is required in `production`.
/// - `access_key_file` (optional): a file holding the access key; `EKO_ACCESS_KEY` wins over it.
///   The key itself is never read from this file.
/// - `http.host` (default `127.0.0.1`), `http.port` (default `8080`), `http.trust_forwarded_for` (default `false`:
///   set it only behind a reverse proxy that sets `X-Forwarded-For`).
/// - `tls.certificate_chain`, `tls.private_key`: PEM paths. No `tls` section = plain HTTP behind a proxy.
/// - `database.path` (default `data/aeps.sqlite`).
/// - `eko.gateway_origin`, `eko.api_base`: overrides of the environment's values; `eko.extra_origins`: more
///   origins allowed to call the callback.
/// - `policy.*`: the debit-hook rules, see ``PolicyConfig`` (`require_session` false falls back to retailer-only
///   binding, with a startup warning).
/// - `sessions.login_ttl_seconds` (default 43200): how long a retailer stays signed in on the page.
/// - `metrics.allowed_addresses` (default loopback: `127.0.0.0/8`, `::1`), `metrics.bearer_token_file` (optional):
///   who may read `GET /metrics`.
/// - `retention.*`: what the sweeper prunes and how often, see ``RetentionPolicy``.
/// - `ops.session_ttl_seconds` (default 28800): how long an ops console sign-in lasts.
/// - `gateway_sim.*`: the local stand-in for Eko (`aeps gateway-sim`), see ``GatewaySimSettings``;
///   `gateway_sim.run_with_server` makes `aeps serve` run it too when the environment is `local`.
/// - `log.level` (default `info`).
public struct AppConfig: Sendable, Equatable {
    public enum Environment: String, Sendable, CaseIterable {
        case uat, production, local
    }

    public struct HTTP: Sendable, Equatable {
        public var host: String
        public var port: Int
        /// Take the client's address from the last `X-Forwarded-For` entry (set by a reverse proxy in front).
        public var trustForwardedFor = false
    }

    /// Who may read `GET /metrics`: a client whose address is in `allowed_addresses`, or a request carrying the
    /// token held in `bearer_token_file` (read when the application is built).
    public struct Metrics: Sendable, Equatable {
        public var allowedAddresses: [IPAddressRange] = IPAddressRange.loopback
        public var bearerTokenFile: String?
    }

    public struct TLS: Sendable, Equatable {
        public var certificateChain: String
        public var privateKey: String
    }

    public var environment: Environment
    public var partnerName: String
    public var initiatorLogoURL: String
    public var initiatorID: String
    public var developerKey: String
    public var language: String
    public var callbackURL: String
    /// The path of `callback_url`: the route that answers the gateway.
    public var callbackPath: String
    public var accessKeyFile: String?
    public var http: HTTP
    public var tls: TLS?
    public var databasePath: String
    /// The origin of Eko's gateway pages (CORS origin) for this environment.
    public var gatewayOrigin: String
    /// Eko's server API base (v1) for this environment.
    public var ekoAPIBase: String
    public var extraOrigins: [String]
    public var logLevel: String
    /// Settle only on Eko's own Transaction Inquiry (`settlement.verify_with_inquiry`, default true).
    public var verifyWithInquiry = true
    /// The sweeper: how long after approval a missing result is chased (`settlement.result_grace_seconds`), how
    /// often it looks (`settlement.sweep_interval_seconds`), when it gives up (`settlement.give_up_after_hours`).
    public var resultGraceSeconds = 120
    public var sweepIntervalSeconds = 30
    public var giveUpAfterHours = 48
    /// How many days a settled (or failed) withdrawal is asked about again, so that a later refund or failure at
    /// Eko becomes a reversal row (`settlement.recheck_settled_days`, 0 to 30; 0: never).
    public var recheckSettledDays = 3
    /// How long one call to Eko's server API may wait for its answer (`eko.read_timeout_ms`).
    public var ekoReadTimeoutMilliseconds = 10_000
    /// The debit-hook rules (`policy.*`).
    public var policy = PolicyConfig()
    /// Lifetime of a retailer's sign-in on the page (`sessions.login_ttl_seconds`).
    public var loginTTLSeconds: Int = 43_200
    /// Access to `GET /metrics` (`metrics.*`).
    public var metrics = Metrics()
    /// What retention prunes (`retention.*_days`) and how often the sweeper runs it (`retention.interval_minutes`).
    public var retention = RetentionPolicy()
    public var retentionIntervalMinutes = 60
    /// Lifetime of an ops console sign-in (`ops.session_ttl_seconds`).
    public var opsSessionTTLSeconds: Int = 28_800
    /// The gateway simulator (`gateway_sim.*`).
    public var gatewaySim = GatewaySimSettings()

    /// Whether cookies get `Secure`: when this server or its public URL speaks HTTPS.
    public var usesHTTPS: Bool { tls != nil || callbackURL.hasPrefix("https://") }

    /// Every origin whose calls to the callback get CORS headers: the gateway's, then the extra ones.
    public var allowedOrigins: [String] {
        var origins = [gatewayOrigin]
        for origin in extraOrigins where !origins.contains(origin) { origins.append(origin) }
        return origins
    }

    /// The gateway form's action URL (protocol §8).
    public var gatewayURL: String { gatewayOrigin + "/v2/aeps" }

    public static let languages = ["en", "hi", "mr", "gu", "kn", "ta"]
    public static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
    public static let defaultCallbackPath = "/aeps/callback"
    /// The developer key every UAT integrator shares (protocol §2).
    public static let publicUATDeveloperKey = "becbbce45f79c6f5109f848acd540567"

    static func defaultGatewayOrigin(_ environment: Environment) -> String {
        switch environment {
        case .uat: "https://stagegateway.eko.in"
        case .production: "https://gateway.eko.in"
        case .local: "http://localhost:3004"
        }
    }

    static func defaultAPIBase(_ environment: Environment) -> String {
        switch environment {
        case .uat: "https://staging.eko.in/ekoapi/v1"
        case .production: "https://api.eko.in/ekoicici/v1"
        case .local: "http://localhost:3004/ekoapi/v1"
        }
    }
}

// MARK: - Loading

extension AppConfig {
    /// Reads and validates a configuration file. Every problem is a ``ConfigError`` naming the key.
    public static func load(path: String) throws(ConfigError) -> AppConfig {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let exists = FileManager.default.fileExists(atPath: path)
            throw ConfigError(
                key: "--config",
                exists ? "cannot read \(path)" : "\(path) does not exist (copy aeps.config.example to start)"
            )
        }
        return try parse(data)
    }

    /// Validates configuration JSON text.
    public static func parse(_ data: Data) throws(ConfigError) -> AppConfig {
        let root: JSONValue
        do {
            root = try JSONValue.parse(data)
        } catch {
            throw ConfigError(key: "aeps.config", "not valid JSON (\(error))")
        }
        guard case .object(let object) = root else { throw ConfigError(key: "aeps.config", "expected a JSON object") }
        var reader = ConfigReader(object: object, prefix: "")
        return try reader.readAppConfig()
    }
}

/// Reads one JSON object of the configuration, remembering which keys were used so unknown ones (typos) fail.
struct ConfigReader {
    let object: JSONObject
    let prefix: String

    func name(_ key: String) -> String { prefix.isEmpty ? key : "\(prefix).\(key)" }

    func checkNoUnknownKeys(_ known: [String]) throws(ConfigError) {
        var seen = Set<String>()
        for key in object.keys {
            guard known.contains(key) else {
                throw ConfigError(key: name(key), "unknown key (known here: \(known.joined(separator: ", ")))")
            }
            guard seen.insert(key).inserted else { throw ConfigError(key: name(key), "appears twice") }
        }
    }

    func string(_ key: String, default fallback: String? = nil) throws(ConfigError) -> String {
        guard let value = object[key], value != .null else {
            if let fallback { return fallback }
            throw ConfigError(key: name(key), "is missing (expected a text value)")
        }
        guard case .string(let text) = value else {
            throw ConfigError(key: name(key), "expected a text value in quotes, got \(value.serialized())")
        }
        guard !text.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw ConfigError(key: name(key), "is empty (expected a text value)")
        }
        return text
    }

    func optionalString(_ key: String) throws(ConfigError) -> String? {
        guard let value = object[key], value != .null else { return nil }
        return try string(key)
    }

    func oneOf(_ key: String, _ allowed: [String], default fallback: String? = nil) throws(ConfigError) -> String {
        let text = try string(key, default: fallback)
        guard allowed.contains(text) else {
            throw ConfigError(key: name(key), "expected one of \(allowed.joined(separator: ", ")), got \"\(text)\"")
        }
        return text
    }

    func integer(_ key: String, in range: ClosedRange<Int>, default fallback: Int) throws(ConfigError) -> Int {
        guard let value = object[key], value != .null else { return fallback }
        guard case .number(let literal) = value, let number = Int(literal), range.contains(number) else {
            throw ConfigError(
                key: name(key),
                "expected a whole number from \(range.lowerBound) to \(range.upperBound), got \(value.serialized())"
            )
        }
        return number
    }

    func bool(_ key: String, default fallback: Bool) throws(ConfigError) -> Bool {
        guard let value = object[key], value != .null else { return fallback }
        guard case .bool(let flag) = value else {
            throw ConfigError(key: name(key), "expected true or false, got \(value.serialized())")
        }
        return flag
    }

    func section(_ key: String) throws(ConfigError) -> ConfigReader? {
        guard let value = object[key], value != .null else { return nil }
        guard case .object(let nested) = value else {
            throw ConfigError(key: name(key), "expected an object ({ ... }), got \(value.serialized())")
        }
        return ConfigReader(object: nested, prefix: name(key))
    }

    func stringList(_ key: String) throws(ConfigError) -> [String] {
        guard let value = object[key], value != .null else { return [] }
        guard case .array(let items) = value else {
            throw ConfigError(key: name(key), "expected a list of text values, got \(value.serialized())")
        }
        return try items.map { (item: JSONValue) throws(ConfigError) -> String in
            guard case .string(let text) = item else {
                throw ConfigError(key: name(key), "expected a list of text values, found \(item.serialized())")
            }
            return text
        }
    }

    /// Validates `scheme://host[:port]` with nothing after it, as browsers send in `Origin`.
    func origin(_ text: String, key: String) throws(ConfigError) -> String {
        guard let url = URLComponents(string: text), let scheme = url.scheme, ["http", "https"].contains(scheme),
            let host = url.host, !host.isEmpty, url.path.isEmpty, url.query == nil, url.fragment == nil,
            url.user == nil
        else {
            throw ConfigError(key: name(key), "expected an origin like https://gateway.example (no path), got \"\(text)\"")
        }
        return text
    }

    mutating func readAppConfig() throws(ConfigError) -> AppConfig {
        try checkNoUnknownKeys([
            "environment", "partner_name", "initiator_logo_url", "initiator_id", "developer_key", "language",
            "callback_url", "access_key_file", "http", "tls", "database", "eko", "policy", "sessions", "settlement", "ops", "log",
            "metrics", "retention", "gateway_sim",
        ])
        let environmentName = try oneOf("environment", AppConfig.Environment.allCases.map(\.rawValue))
        let environment = AppConfig.Environment(rawValue: environmentName)!

        let initiatorID = try string("initiator_id")
        guard initiatorID.count == 10, initiatorID.allSatisfy(\.isASCIIDigit) else {
            throw ConfigError(key: "initiator_id", "expected the partner's 10-digit registered mobile number")
        }
        let logoURL = try string("initiator_logo_url")
        guard let logo = URLComponents(string: logoURL), ["http", "https"].contains(logo.scheme ?? ""), logo.host != nil
        else { throw ConfigError(key: "initiator_logo_url", "expected an http(s) URL of the partner's logo") }

        let developerKey = try string("developer_key")
        if environment == .production, developerKey == AppConfig.publicUATDeveloperKey {
            throw ConfigError(key: "developer_key", "this is Eko's public UAT developer key; production needs your own")
        }

        let callbackURL = try string("callback_url")
        guard let callback = URLComponents(string: callbackURL), let scheme = callback.scheme,
            ["http", "https"].contains(scheme), let host = callback.host, !host.isEmpty,
            callback.query == nil, callback.fragment == nil
        else {
            throw ConfigError(key: "callback_url", "expected a URL like https://partner.example/aeps/callback")
        }
        if environment == .production, scheme != "https" {
            throw ConfigError(key: "callback_url", "production needs an https:// URL (browsers block http:// callbacks)")
        }
        let callbackPath = callback.path.isEmpty || callback.path == "/" ? AppConfig.defaultCallbackPath : callback.path

        var http = AppConfig.HTTP(host: "127.0.0.1", port: 8080)
        if let section = try section("http") {
            try section.checkNoUnknownKeys(["host", "port", "trust_forwarded_for"])
            http.host = try section.string("host", default: http.host)
            http.port = try section.integer("port", in: 0...65535, default: http.port)
            http.trustForwardedFor = try section.bool("trust_forwarded_for", default: false)
        }

        var tls: AppConfig.TLS?
        if let section = try section("tls") {
            try section.checkNoUnknownKeys(["certificate_chain", "private_key"])
            tls = AppConfig.TLS(
                certificateChain: try section.string("certificate_chain"),
                privateKey: try section.string("private_key")
            )
        }

        var databasePath = "data/aeps.sqlite"
        if let section = try section("database") {
            try section.checkNoUnknownKeys(["path"])
            databasePath = try section.string("path", default: databasePath)
        }

        var gatewayOrigin = AppConfig.defaultGatewayOrigin(environment)
        var apiBase = AppConfig.defaultAPIBase(environment)
        var extraOrigins: [String] = []
        var ekoReadTimeout = 10_000
        if let section = try section("eko") {
            try section.checkNoUnknownKeys(["gateway_origin", "api_base", "extra_origins", "read_timeout_ms"])
            ekoReadTimeout = try section.integer("read_timeout_ms", in: 100...60_000, default: ekoReadTimeout)
            if let origin = try section.optionalString("gateway_origin") {
                gatewayOrigin = try section.origin(origin, key: "gateway_origin")
            }
            if let base = try section.optionalString("api_base") {
                guard let url = URLComponents(string: base), ["http", "https"].contains(url.scheme ?? ""), url.host != nil
                else { throw ConfigError(key: "eko.api_base", "expected an http(s) URL, got \"\(base)\"") }
                apiBase = base.hasSuffix("/") ? String(base.dropLast()) : base
            }
            extraOrigins = try section.stringList("extra_origins").map { (text: String) throws(ConfigError) -> String in
                try section.origin(text, key: "extra_origins")
            }
        }

        var policy = PolicyConfig()
        if let section = try section("policy") {
            policy = try section.readPolicy()
        }
        var loginTTL = 43_200
        if let section = try section("sessions") {
            try section.checkNoUnknownKeys(["login_ttl_seconds"])
            loginTTL = try section.integer("login_ttl_seconds", in: 300...2_592_000, default: loginTTL)
        }

        var verifyWithInquiry = true
        var resultGrace = 120
        var sweepInterval = 30
        var giveUp = 48
        var recheckDays = 3
        if let section = try section("settlement") {
            try section.checkNoUnknownKeys([
                "verify_with_inquiry", "result_grace_seconds", "sweep_interval_seconds", "give_up_after_hours",
                "recheck_settled_days",
            ])
            verifyWithInquiry = try section.bool("verify_with_inquiry", default: true)
            resultGrace = try section.integer("result_grace_seconds", in: 10...86_400, default: resultGrace)
            sweepInterval = try section.integer("sweep_interval_seconds", in: 1...3600, default: sweepInterval)
            giveUp = try section.integer("give_up_after_hours", in: 1...720, default: giveUp)
            recheckDays = try section.integer("recheck_settled_days", in: 0...30, default: recheckDays)
        }

        var metrics = AppConfig.Metrics()
        if let section = try section("metrics") {
            try section.checkNoUnknownKeys(["allowed_addresses", "bearer_token_file"])
            if section.object["allowed_addresses"] != nil, section.object["allowed_addresses"] != .null {
                metrics.allowedAddresses = try section.stringList("allowed_addresses").map {
                    (text: String) throws(ConfigError) -> IPAddressRange in
                    guard let range = IPAddressRange(text) else {
                        throw ConfigError(
                            key: section.name("allowed_addresses"),
                            "expected IP addresses or CIDR ranges like 10.0.0.0/8 or ::1, got \"\(text)\""
                        )
                    }
                    return range
                }
            }
            metrics.bearerTokenFile = try section.optionalString("bearer_token_file")
        }

        var retention = RetentionPolicy()
        var retentionInterval = 60
        if let section = try section("retention") {
            try section.checkNoUnknownKeys([
                "callback_body_days", "login_attempt_days", "gateway_session_days", "callback_source_days",
                "interval_minutes",
            ])
            retention.callbackBodyDays = try section.integer("callback_body_days", in: 1...3650, default: retention.callbackBodyDays)
            retention.loginAttemptDays = try section.integer("login_attempt_days", in: 1...3650, default: retention.loginAttemptDays)
            retention.gatewaySessionDays = try section.integer(
                "gateway_session_days", in: 1...3650, default: retention.gatewaySessionDays
            )
            retention.callbackSourceDays = try section.integer(
                "callback_source_days", in: 1...3650, default: retention.callbackSourceDays
            )
            retentionInterval = try section.integer("interval_minutes", in: 1...10_080, default: retentionInterval)
        }

        var opsSessionTTL = 28_800
        if let section = try section("ops") {
            try section.checkNoUnknownKeys(["session_ttl_seconds"])
            opsSessionTTL = try section.integer("session_ttl_seconds", in: 300...86_400, default: opsSessionTTL)
        }

        var gatewaySim = GatewaySimSettings()
        if let section = try section("gateway_sim") {
            gatewaySim = try section.readGatewaySim()
        }

        var logLevel = "info"
        if let section = try section("log") {
            try section.checkNoUnknownKeys(["level"])
            logLevel = try section.oneOf("level", AppConfig.logLevels, default: logLevel)
        }

        var config = AppConfig(
            environment: environment,
            partnerName: try string("partner_name"),
            initiatorLogoURL: logoURL,
            initiatorID: initiatorID,
            developerKey: developerKey,
            language: try oneOf("language", AppConfig.languages, default: "en"),
            callbackURL: callbackURL,
            callbackPath: callbackPath,
            accessKeyFile: try optionalString("access_key_file"),
            http: http,
            tls: tls,
            databasePath: databasePath,
            gatewayOrigin: gatewayOrigin,
            ekoAPIBase: apiBase,
            extraOrigins: extraOrigins,
            logLevel: logLevel
        )
        config.policy = policy
        config.ekoReadTimeoutMilliseconds = ekoReadTimeout
        config.verifyWithInquiry = verifyWithInquiry
        config.resultGraceSeconds = resultGrace
        config.sweepIntervalSeconds = sweepInterval
        config.giveUpAfterHours = giveUp
        config.recheckSettledDays = recheckDays
        config.loginTTLSeconds = loginTTL
        config.metrics = metrics
        config.retention = retention
        config.retentionIntervalMinutes = retentionInterval
        config.opsSessionTTLSeconds = opsSessionTTL
        config.gatewaySim = gatewaySim
        return config
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

extension ConfigReader {
    /// `gateway_sim.*`: where the simulator listens and how its popup behaves.
    func readGatewaySim() throws(ConfigError) -> GatewaySimSettings {
        try checkNoUnknownKeys([
            "host", "port", "run_with_server", "verification_timeout_ms", "pending_seconds", "inactive_user_codes",
            "debit_hook_message", "custom_delivery",
        ])
        var settings = GatewaySimSettings()
        settings.host = try string("host", default: settings.host)
        settings.port = try integer("port", in: 0...65535, default: settings.port)
        settings.runWithServer = try bool("run_with_server", default: false)
        settings.verificationTimeoutMilliseconds = try integer(
            "verification_timeout_ms", in: 500...120_000, default: settings.verificationTimeoutMilliseconds
        )
        settings.pendingSeconds = try integer("pending_seconds", in: 0...86_400, default: settings.pendingSeconds)
        settings.inactiveUserCodes = try stringList("inactive_user_codes")
        settings.sendDebitHookMessage = try bool("debit_hook_message", default: true)
        let delivery = try oneOf(
            "custom_delivery", GatewaySimSettings.CustomDelivery.allCases.map(\.rawValue), default: "both"
        )
        settings.customDelivery = GatewaySimSettings.CustomDelivery(rawValue: delivery)!
        return settings
    }

    /// `policy.hash_params`: `{"2": ["customer_id", "amount", "user_code"], "3": [...], "4": [...]}`. Only fields with
    /// a canonical form can be listed; a withdrawal's list must hold `amount`, and every list `user_code`, so a
    /// signature always names the retailer and the money.
    func readHashParams() throws(ConfigError) -> [Int: [String]] {
        let known = HashField.allCases.map(\.rawValue)
        try checkNoUnknownKeys(["2", "3", "4"])
        var table = PolicyConfig.ekoHashParams
        for (key, type) in [("2", 2), ("3", 3), ("4", 4)] where object[key] != nil && object[key] != .null {
            let names = try stringList(key)
            guard !names.isEmpty else { throw ConfigError(key: name(key), "expected a non-empty list of field names") }
            for field in names where !known.contains(field) {
                throw ConfigError(
                    key: name(key),
                    "\"\(field)\" cannot be signed (fields with a checked canonical form: \(known.joined(separator: ", ")))"
                )
            }
            guard Set(names).count == names.count else { throw ConfigError(key: name(key), "lists a field twice") }
            guard names.contains(HashField.userCode.rawValue) else {
                throw ConfigError(key: name(key), "must list user_code (a signature always names the retailer)")
            }
            if type == 2, !names.contains(HashField.amount.rawValue) {
                throw ConfigError(key: name(key), "must list amount (a withdrawal's signature covers its amount)")
            }
            table[type] = names
        }
        return table
    }

    /// `policy.*`: every rule's setting, money in whole rupees.
    func readPolicy() throws(ConfigError) -> PolicyConfig {
        try checkNoUnknownKeys([
            "require_session", "session_ttl_seconds", "allowed_types", "min_withdrawal_rupees", "max_withdrawal_rupees",
            "withdrawal_multiple_rupees", "max_withdrawals_per_customer_per_day", "retailer_daily_count_cap",
            "retailer_daily_amount_cap_rupees", "service_hours", "max_transactions_per_session", "decision_budget_ms",
            "hash_params", "repeat_window_seconds",
        ])
        var policy = PolicyConfig()
        policy.requireSession = try bool("require_session", default: true)
        policy.sessionTTLSeconds = try integer("session_ttl_seconds", in: 60...86_400, default: policy.sessionTTLSeconds)
        if let value = object["allowed_types"], value != .null {
            guard case .array(let items) = value, !items.isEmpty else {
                throw ConfigError(key: name("allowed_types"), "expected a list of service types from 2, 3, 4")
            }
            var types = Set<Int>()
            for item in items {
                guard let type = item.scalarText.flatMap(Int.init), [2, 3, 4].contains(type) else {
                    throw ConfigError(key: name("allowed_types"), "expected service types from 2, 3, 4, got \(item.serialized())")
                }
                types.insert(type)
            }
            policy.allowedTypes = types
        }
        policy.minWithdrawalPaise = Int64(try integer("min_withdrawal_rupees", in: 1...10_000, default: 100)) * 100
        policy.maxWithdrawalPaise = Int64(try integer("max_withdrawal_rupees", in: 1...10_000, default: 10_000)) * 100
        guard policy.minWithdrawalPaise <= policy.maxWithdrawalPaise else {
            throw ConfigError(key: name("min_withdrawal_rupees"), "must not be more than max_withdrawal_rupees")
        }
        policy.withdrawalMultiplePaise = Int64(try integer("withdrawal_multiple_rupees", in: 1...10_000, default: 50)) * 100
        policy.maxWithdrawalsPerCustomerPerDay = try integer("max_withdrawals_per_customer_per_day", in: 0...100, default: 5)
        if object["retailer_daily_count_cap"] != nil, object["retailer_daily_count_cap"] != .null {
            policy.retailerDailyCountCap = try integer("retailer_daily_count_cap", in: 0...100_000, default: 0)
        }
        if object["retailer_daily_amount_cap_rupees"] != nil, object["retailer_daily_amount_cap_rupees"] != .null {
            policy.retailerDailyAmountCapPaise =
                Int64(try integer("retailer_daily_amount_cap_rupees", in: 0...100_000_000, default: 0)) * 100
        }
        if let hours = try section("service_hours") {
            try hours.checkNoUnknownKeys(["from", "to"])
            let from = try hours.string("from")
            let to = try hours.string("to")
            guard let start = ServiceHours.minute(from) else {
                throw ConfigError(key: hours.name("from"), "expected HH:MM (Indian time), got \"\(from)\"")
            }
            guard let end = ServiceHours.minute(to), end != start else {
                throw ConfigError(key: hours.name("to"), "expected HH:MM (Indian time) other than from, got \"\(to)\"")
            }
            policy.serviceHours = ServiceHours(from: start, to: end)
        }
        policy.maxTransactionsPerSession = try integer("max_transactions_per_session", in: 1...1000, default: 10)
        policy.decisionBudgetMilliseconds = try integer("decision_budget_ms", in: 100...10_000, default: 3000)
        policy.repeatWindowSeconds = try integer("repeat_window_seconds", in: 0...900, default: policy.repeatWindowSeconds)
        if let table = try section("hash_params") {
            policy.hashParams = try table.readHashParams()
        }
        return policy
    }
}
