import EkoSigning
import Foundation
import NIOConcurrencyHelpers

/// The gateway simulator's settings (`gateway_sim.*` in `aeps.config`, overridden by `aeps gateway-sim` flags).
public struct GatewaySimSettings: Sendable, Equatable {
    /// How the popup hands the page's custom callback data to the callback: both fields as Eko documents them
    /// (params as top-level body keys, headers as request headers), or only one of the two.
    public enum CustomDelivery: String, Sendable, CaseIterable {
        case both, params, headers
    }

    public var host = "127.0.0.1"
    public var port = 3004
    /// `aeps serve` also runs the simulator when the environment is `local` (what `make run` uses).
    public var runWithServer = false
    /// How long the popup waits for the debit-hook answer before "Transaction verification timeout".
    public var verificationTimeoutMilliseconds = 15_000
    /// How long a pending or on-hold transaction stays so before the inquiry answers success.
    public var pendingSeconds = 30
    /// Retailers whose AePS service (43) is not activated: their gateway opening is refused.
    public var inactiveUserCodes: [String] = []
    /// Whether the popup posts the `debit-hook` event to the opener (Eko does not document it in callback mode).
    public var sendDebitHookMessage = true
    public var customDelivery = CustomDelivery.both
    /// The largest difference between a `secret_key_timestamp` and the simulator's clock that it accepts.
    public var maxClockSkewSeconds = 300

    public init() {}
}

/// A stand-in for Eko's AePS gateway and its server APIs, for environment `local`: checks a gateway opening as Eko
/// would, prepares the debit-hook the popup sends, checks the callback's signature as Eko would, executes the
/// outcome the tester picked, and answers Transaction Inquiry and User Services Enquiry from what it executed.
/// Everything is kept in memory: a restarted simulator has forgotten its transactions.
public final class GatewaySimulator: Sendable {
    public let settings: GatewaySimSettings
    let signer: EkoSigner
    let developerKey: String
    let initiatorID: String
    let clock: @Sendable () -> Date
    private let state = NIOLockedValueBox(State())

    public init(
        settings: GatewaySimSettings, signer: EkoSigner, developerKey: String, initiatorID: String,
        clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.settings = settings
        self.signer = signer
        self.developerKey = developerKey
        self.initiatorID = initiatorID
        self.clock = clock
    }

    // MARK: - Types

    /// One of Eko's popup error messages (protocol §10) with what the simulator saw and how to fix it.
    public struct Failure: Error, Sendable, Equatable {
        public var ekoMessage: String
        public var detail: String
        public var fix: String
        public var link: String
    }

    /// A gateway window opened by a valid form POST.
    public struct Opening: Sendable {
        public let id: String
        public let userCode: String
        public let partnerName: String
        public let language: String
        public let callbackURL: String
        public let customParams: JSONObject
        public let customHeaders: [(String, String)]
        public let openedAt: Date
    }

    /// What the tester picked in the popup.
    public struct Choice: Sendable {
        public var type: Int
        public var amountRupees: Int?
        public var customerID: String
        public var bankCode: String
    }

    public enum Outcome: String, Sendable, CaseIterable {
        case success, failure, pending, hold, closed, error
    }

    /// A debit-hook ready to be sent: its body (text, as the popup sends it) and the headers to add.
    public struct PreparedHook: Sendable {
        public let clientRefID: String
        public let body: String
        public let detail: JSONValue
        public let headers: [(String, String)]
        let choice: Choice
        let hashParams: [String]
        let data: [(String, String)]
    }

    /// A transaction the simulated Eko executed.
    public struct Executed: Sendable {
        public let clientRefID: String
        public let tid: String
        public let userCode: String
        public let customerID: String
        public let type: Int
        public let amountPaise: Int64
        public let outcome: Outcome
        public let executedAt: Date
        public let bankRefNum: String
        public let bankName: String
        public let aadhaarLastFour: String
        public let balancePaise: Int64
        public let commissionPaise: Int64
        public let tdsPaise: Int64
    }

    struct State {
        var openings: [String: Opening] = [:]
        var hooks: [String: (opening: String, hook: PreparedHook)] = [:]
        var executed: [String: Executed] = [:]
        var order: [String] = []
        var nextTid = Int64.random(in: 3_100_000_000...3_199_999_999)
    }

    static let banks: [(code: String, name: String)] = [
        ("607094", "State Bank of India"), ("607027", "Punjab National Bank"), ("606985", "Bank of Baroda"),
        ("607152", "HDFC Bank"), ("508534", "ICICI Bank"), ("607153", "Axis Bank"),
    ]

    static let links = (
        authentication: "https://developers.eko.in/docs/authentication",
        credentials: "https://developers.eko.in/docs/platform-credentials",
        activation: "https://developers.eko.in/reference/activate-service",
        web: "https://developers.eko.in/docs/aeps-web-integration",
        cors: "https://developers.eko.in/docs/enable-cors",
        backend: "https://developers.eko.in/docs/aeps-backend-integration"
    )

    // MARK: - The gateway form

    /// Checks a gateway form POST (all strings) as Eko would and opens a window for it.
    public func open(form: [String: String]) -> Result<Opening, Failure> {
        func fail(_ message: String, _ detail: String, _ fix: String, _ link: String = Self.links.authentication)
            -> Result<Opening, Failure>
        {
            .failure(Failure(ekoMessage: message, detail: detail, fix: fix, link: link))
        }
        let auth = "Error in authentication"
        for field in ["developer_key", "initiator_id", "secret_key", "secret_key_timestamp", "user_code"]
        where (form[field] ?? "").isEmpty {
            return fail(auth, "The form has no \(field).", "Post every configuration field (aeps's /api/gateway-config gives them all).")
        }
        let environment = form["environment"] ?? ""
        guard environment == "local" else {
            return fail(
                auth, "environment is \"\(environment.isEmpty ? "(none)" : environment)\"; this simulator is Eko's `local` environment.",
                "Set \"environment\": \"local\" in aeps.config to use the simulator (uat and production go to Eko).",
                Self.links.web
            )
        }
        guard form["developer_key"] == developerKey else {
            return fail(auth, "developer_key does not match the configuration's developer_key.", "Use the developer_key Eko gave you (UAT: the public one).", Self.links.credentials)
        }
        guard form["initiator_id"] == initiatorID else {
            return fail(auth, "initiator_id does not match the configuration's initiator_id.", "Use the partner's registered mobile number as initiator_id.", Self.links.credentials)
        }
        let timestamp = form["secret_key_timestamp"]!
        if let failure = checkTimestamp(timestamp, what: "secret_key_timestamp") { return .failure(failure) }
        guard form["secret_key"] == signer.secretKey(timestamp: timestamp) else {
            return fail(
                "Authentication for secret-key failed",
                "secret_key is not HMAC-SHA256(base64(access key), secret_key_timestamp) with the simulator's access key.",
                "Sign with the same access key on both sides (EKO_ACCESS_KEY or access_key_file); the HMAC key is the base64 text of the access key, not the decoded key."
            )
        }
        let userCode = form["user_code"]!
        if settings.inactiveUserCodes.contains(userCode) {
            return fail(
                "Authentication Failed… Initiator access forbidden",
                "AePS Gateway (service 43) is not activated for user_code \(userCode).",
                "Activate service_code 43 for this retailer with Eko's Activate Service API, then check with `aeps doctor --user-code \(userCode)`.",
                Self.links.activation
            )
        }
        guard let callbackURL = form["callback_url"], let url = URLComponents(string: callbackURL),
            ["http", "https"].contains(url.scheme ?? ""), url.host != nil
        else {
            return fail(
                "Connection to callback server failed. Please try again",
                "The form has no usable callback_url (the simulator does not simulate confirmation by a page function).",
                "Send callback_url (aeps puts its own in every configuration).", Self.links.web
            )
        }
        guard let params = Self.jsonObject(form["callback_url_custom_params"]) else {
            return fail(auth, "callback_url_custom_params is not a JSON object text.", "Send a JSON object as text, \"{}\" when empty.", Self.links.web)
        }
        guard let headerObject = Self.jsonObject(form["callback_url_custom_headers"]) else {
            return fail(auth, "callback_url_custom_headers is not a JSON object text.", "Send a JSON object as text, \"{}\" when empty.", Self.links.web)
        }
        var headers: [(String, String)] = []
        for member in headerObject.members {
            guard let value = member.value.scalarText else {
                return fail(auth, "callback_url_custom_headers.\(member.key) is not text.", "Header values are text.", Self.links.web)
            }
            headers.append((member.key, value))
        }
        let opening = Opening(
            id: SecretToken.generate(prefix: "sim_"), userCode: userCode, partnerName: form["partner_name"] ?? "",
            language: form["language"] ?? "en", callbackURL: callbackURL, customParams: params, customHeaders: headers,
            openedAt: clock()
        )
        state.withLockedValue { state in
            if state.openings.count >= 10_000 { state.openings.removeAll() }
            state.openings[opening.id] = opening
        }
        return .success(opening)
    }

    private func checkTimestamp(_ timestamp: String, what: String) -> Failure? {
        guard let milliseconds = Int64(timestamp), timestamp.allSatisfy(\.isASCIIDigit) else {
            return Failure(
                ekoMessage: "Error in authentication", detail: "\(what) \"\(timestamp)\" is not milliseconds since 1970.",
                fix: "Use the current time in milliseconds as decimal text.", link: Self.links.authentication
            )
        }
        let skew = abs(Double(milliseconds) / 1000 - clock().timeIntervalSince1970)
        guard skew <= Double(settings.maxClockSkewSeconds) else {
            return Failure(
                ekoMessage: "Error in authentication",
                detail: "\(what) is \(Int(skew)) s away from the simulator's clock (allowed: \(settings.maxClockSkewSeconds) s).",
                fix: "Mint a fresh configuration for each opening and keep the server's clock synchronised (NTP).",
                link: Self.links.authentication
            )
        }
        return nil
    }

    static func jsonObject(_ text: String?) -> JSONObject? {
        guard let text, !text.isEmpty else { return JSONObject() }
        return (try? JSONValue.parse(text))?.objectValue
    }

    public func opening(id: String) -> Opening? {
        state.withLockedValue { $0.openings[id] }
    }

    // MARK: - The debit-hook

    /// Validates the tester's choice and builds the debit-hook the popup sends (the simulator's client_ref_id).
    public func prepareHook(openingID: String, choice: Choice, delivery: GatewaySimSettings.CustomDelivery)
        -> Result<PreparedHook, Failure>
    {
        guard let opening = opening(id: openingID) else {
            return .failure(Failure(ekoMessage: "Session expired. Please try again", detail: "This window's opening is unknown (the simulator restarted?).", fix: "Open the gateway again from the page.", link: Self.links.web))
        }
        guard [2, 3, 4].contains(choice.type) else {
            return .failure(Failure(ekoMessage: "Invalid service", detail: "type \(choice.type)", fix: "Pick a service.", link: Self.links.web))
        }
        if choice.type == 2 {
            guard let amount = choice.amountRupees, (1...10_000).contains(amount) else {
                return .failure(Failure(ekoMessage: "Please enter a valid amount", detail: "Cash withdrawal needs whole rupees from 1 to 10,000.", fix: "Enter the amount.", link: Self.links.web))
            }
        }
        guard choice.customerID.count == 10, choice.customerID.allSatisfy(\.isASCIIDigit),
            let first = choice.customerID.first, "6789".contains(first)
        else {
            return .failure(Failure(ekoMessage: "Please enter a valid mobile number", detail: "A customer mobile is 10 digits starting with 6 to 9.", fix: "Enter the customer's mobile.", link: Self.links.web))
        }
        let clientRefID = "SIM\(EkoTimestamp.milliseconds(clock()))\(Int.random(in: 100...999))"
        var data: [(String, String)] = [("type", String(choice.type))]
        if choice.type == 2, let amount = choice.amountRupees { data.append(("amount", String(amount))) }
        data += [("customer_id", choice.customerID), ("user_code", opening.userCode), ("bank_code", choice.bankCode)]
        let hashParams = choice.type == 2 ? ["customer_id", "amount", "user_code"] : ["customer_id", "user_code"]
        let detail = JSONValue.object(JSONObject([
            .init(key: "client_ref_id", value: .string(clientRefID)),
            .init(key: "request_hash_params", value: .array(hashParams.map(JSONValue.string))),
            .init(key: "data", value: .object(JSONObject(data.map { JSONObject.Member(key: $0.0, value: .string($0.1)) }))),
            .init(key: "url", value: .string("http://\(settings.host):\(settings.port)/ekoapi/v2/customers/aeps/transactions")),
            .init(key: "http_method", value: .string("POST")),
            .init(key: "interaction_type_id", value: .number("344")),
            .init(key: "interaction_label", value: .string(Self.serviceName(choice.type))),
        ]))
        let body = Self.envelope(action: "debit-hook", detail: detail, opening: opening, delivery: delivery)
        let hook = PreparedHook(
            clientRefID: clientRefID, body: body, detail: detail,
            headers: delivery == .params ? [] : opening.customHeaders, choice: choice, hashParams: hashParams, data: data
        )
        state.withLockedValue { state in
            if state.hooks.count >= 10_000 { state.hooks.removeAll() }
            state.hooks[clientRefID] = (openingID, hook)
        }
        return .success(hook)
    }

    /// `{"action": …, "detail": …}` plus the page's custom params as top-level keys (when they are delivered).
    static func envelope(action: String, detail: JSONValue, opening: Opening, delivery: GatewaySimSettings.CustomDelivery) -> String {
        var members: [JSONObject.Member] = [.init(key: "action", value: .string(action)), .init(key: "detail", value: detail)]
        if delivery != .headers {
            for member in opening.customParams.members where member.key != "action" && member.key != "detail" {
                members.append(member)
            }
        }
        return JSONValue.object(JSONObject(members)).serialized()
    }

    static func serviceName(_ type: Int) -> String {
        switch type {
        case 2: "Cash withdrawal"
        case 3: "Balance enquiry"
        default: "Mini statement"
        }
    }

    // MARK: - Execution

    /// The callback's answer to a debit-hook, as the popup received it.
    public struct Approval: Sendable {
        public var secretKey: String
        public var secretKeyTimestamp: String
        public var requestHash: String
    }

    /// Checks the callback's approval as Eko would (secret-key, timestamp, request-hash over the hook's values in
    /// its `request_hash_params` order) and executes the outcome. Returns the eko-response body and its detail.
    public func execute(clientRefID: String, approval: Approval, outcome: Outcome, delivery: GatewaySimSettings.CustomDelivery)
        -> Result<(executed: Executed, body: String, detail: JSONValue), Failure>
    {
        guard let (openingID, hook) = state.withLockedValue({ $0.hooks[clientRefID] }), let opening = opening(id: openingID) else {
            return .failure(Failure(ekoMessage: "Transaction verification timeout", detail: "No debit-hook \(clientRefID) is waiting here.", fix: "Start again from the page.", link: Self.links.web))
        }
        if let failure = checkTimestamp(approval.secretKeyTimestamp, what: "the answer's secret_key_timestamp") {
            return .failure(failure)
        }
        guard approval.secretKey == signer.secretKey(timestamp: approval.secretKeyTimestamp) else {
            return .failure(Failure(
                ekoMessage: "Authentication for secret-key failed",
                detail: "The callback's secret_key does not match its secret_key_timestamp under the simulator's access key.",
                fix: "Sign with the access key Eko issued (the same one on both sides), one fresh timestamp for secret_key and request_hash.",
                link: Self.links.authentication
            ))
        }
        let values = hook.hashParams.map { name in hook.data.first { $0.0 == name }?.1 ?? "" }
        guard approval.requestHash == signer.requestHash(timestamp: approval.secretKeyTimestamp, values: values) else {
            return .failure(Failure(
                ekoMessage: "Authentication for request-hash failed",
                detail: "request_hash is not HMAC over secret_key_timestamp + \(hook.hashParams.joined(separator: " + ")) as this debit-hook sent them.",
                fix: "Sign the values of request_hash_params in their order, verbatim, concatenated with nothing between them.",
                link: Self.links.authentication
            ))
        }
        let amountPaise = Int64(hook.choice.amountRupees ?? 0) * 100
        let bank = Self.banks.first { $0.code == hook.choice.bankCode }?.name ?? "Bank \(hook.choice.bankCode)"
        let executed: Executed = state.withLockedValue { state in
            if let earlier = state.executed[clientRefID] { return earlier }
            state.nextTid += 1
            let executed = Executed(
                clientRefID: clientRefID, tid: String(state.nextTid), userCode: opening.userCode,
                customerID: hook.choice.customerID, type: hook.choice.type, amountPaise: amountPaise, outcome: outcome,
                executedAt: clock(), bankRefNum: String(Int64.random(in: 400_000_000_000...499_999_999_999)), bankName: bank,
                aadhaarLastFour: String(format: "%04d", Int.random(in: 0...9999)),
                balancePaise: Int64.random(in: 50_000...2_500_000),
                commissionPaise: hook.choice.type == 2 && [.success, .pending, .hold, .closed].contains(outcome) ? 150 : 0,
                tdsPaise: hook.choice.type == 2 && [.success, .pending, .hold, .closed].contains(outcome) ? 8 : 0
            )
            state.executed[clientRefID] = executed
            state.order.append(clientRefID)
            if state.order.count > 10_000 { state.executed[state.order.removeFirst()] = nil }
            return executed
        }
        let detail = Self.responseDetail(executed)
        let body = Self.envelope(action: "eko-response", detail: detail, opening: opening, delivery: delivery)
        return .success((executed, body, detail))
    }

    /// The eko-response `detail`: the envelope of Eko's AePS transaction API (protocol §6).
    static func responseDetail(_ executed: Executed) -> JSONValue {
        var response: [JSONObject.Member]
        switch executed.outcome {
        case .error:
            response = [
                .init(key: "status", value: .number("347")), .init(key: "response_status_id", value: .number("-1")),
                .init(key: "response_type_id", value: .number("347")),
                Self.member("message", "Bank server is not reachable. Please try again later"),
            ]
        default:
            let txStatus = initialStatus(executed.outcome)
            let message = switch executed.outcome {
            case .failure: "Transaction failed: insufficient funds in the customer's account"
            case .pending: "Transaction initiated, response awaited"
            case .hold: "Transaction on hold, inquiry required"
            default: "Transaction Successful"
            }
            var data: [JSONObject.Member] = [
                Self.member("tx_status", String(txStatus)), Self.member("amount", Paise.format(executed.amountPaise)),
                Self.member("tid", executed.tid), Self.member("bank_ref_num", executed.bankRefNum),
                Self.member("aadhar", "XXXX XXXX \(executed.aadhaarLastFour)"), Self.member("sender_name", "Simulated Customer"),
                Self.member("bank", executed.bankName), Self.member("balance", Paise.format(executed.balancePaise)),
                Self.member("user_code", executed.userCode), Self.member("customer_id", executed.customerID),
                Self.member("commission", Paise.format(executed.commissionPaise)), Self.member("tds", Paise.format(executed.tdsPaise)),
                Self.member("transaction_date", Self.ekoDate(executed.executedAt)), Self.member("comment", message),
                Self.member("type", String(executed.type)),
            ]
            if executed.type == 4 {
                data.append(.init(key: "mini_statement_list", value: .array(miniStatement(executed))))
            }
            response = [
                .init(key: "status", value: .number("0")),
                .init(key: "response_status_id", value: .number(executed.outcome == .failure ? "1" : "0")),
                .init(key: "response_type_id", value: .number("1463")), Self.member("message", message),
                .init(key: "data", value: .object(JSONObject(data))),
            ]
        }
        return .object(JSONObject([
            Self.member("client_ref_id", executed.clientRefID), .init(key: "http_status", value: .number("200")),
            .init(key: "response", value: .object(JSONObject(response))),
        ]))
    }

    /// A text member of Eko's JSON envelopes.
    private static func member(_ key: String, _ value: String) -> JSONObject.Member { .init(key: key, value: .string(value)) }

    static func initialStatus(_ outcome: Outcome) -> Int {
        switch outcome {
        case .success, .closed: 0
        case .failure, .error: 1
        case .pending: 2
        case .hold: 5
        }
    }

    static func miniStatement(_ executed: Executed) -> [JSONValue] {
        let rows: [(String, String, String, String)] = [
            ("03/11", "UPI/Grocery", "Dr", "250.00"), ("05/11", "ATM WDL", "Dr", "2000.00"), ("10/11", "SALARY", "Cr", "15000.00"),
            ("14/11", "AEPS CW", "Dr", "500.00"), ("20/11", "NEFT/RENT", "Dr", "6000.00"),
        ]
        return rows.map { row in
            .object(JSONObject([
                .init(key: "date", value: .string(row.0)), .init(key: "narration", value: .string(row.1)),
                .init(key: "txnType", value: .string(row.2)), .init(key: "amount", value: .string(row.3)),
            ]))
        }
    }

    /// Eko's `transaction_date` text, in Indian time: `dd-MM-yy HH:mm:ss`.
    static func ekoDate(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 19_800)!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%02d-%02d-%02d %02d:%02d:%02d", c.day!, c.month!, c.year! % 100, c.hour!, c.minute!, c.second!)
    }

    // MARK: - Server APIs

    /// Checks the headers of a server API call as Eko does: 402 without a developer key, 403 for a wrong one or
    /// a secret-key that does not match its timestamp.
    public func authorize(developerKey: String?, secretKey: String?, timestamp: String?) -> (status: Int, message: String)? {
        guard let developerKey, !developerKey.isEmpty else { return (402, "developer_key is missing") }
        guard developerKey == self.developerKey else { return (403, "Forbidden: unknown developer_key") }
        guard let timestamp, let secretKey, secretKey == signer.secretKey(timestamp: timestamp) else {
            return (403, "Forbidden: secret-key does not match secret-key-timestamp (wrong access key?)")
        }
        if checkTimestamp(timestamp, what: "secret-key-timestamp") != nil {
            return (403, "Forbidden: secret-key-timestamp is too far from the current time")
        }
        return nil
    }

    /// Transaction Inquiry by `client_ref_id:X` or by tid: what was executed, a pending or held one turning to
    /// success after `pendingSeconds`.
    public func inquiry(reference: String) -> JSONValue {
        let executed: Executed? = state.withLockedValue { state in
            if reference.hasPrefix("client_ref_id:") { return state.executed[String(reference.dropFirst(14))] }
            return state.executed.values.first { $0.tid == reference }
        }
        guard let executed else {
            return .object(JSONObject([
                .init(key: "status", value: .number("463")), .init(key: "response_status_id", value: .number("1")),
                .init(key: "message", value: .string("Transaction not found")),
            ]))
        }
        var txStatus = Self.initialStatus(executed.outcome)
        if [2, 5].contains(txStatus), clock().timeIntervalSince(executed.executedAt) >= Double(settings.pendingSeconds) {
            txStatus = 0
        }
        let succeeded = txStatus == 0
        return .object(JSONObject([
            .init(key: "status", value: .number("0")), .init(key: "response_status_id", value: .number("0")),
            Self.member("message", "Transaction inquiry successful"),
            .init(key: "data", value: .object(JSONObject([
                Self.member("tx_status", String(txStatus)), Self.member("txstatus_desc", Self.statusText(txStatus)),
                Self.member("amount", Paise.format(executed.amountPaise)), Self.member("tid", executed.tid),
                Self.member("client_ref_id", executed.clientRefID), Self.member("bank_ref_num", executed.bankRefNum),
                Self.member("customer_id", executed.customerID), Self.member("user_code", executed.userCode),
                Self.member("commission", Paise.format(succeeded ? executed.commissionPaise : 0)),
                Self.member("tds", Paise.format(succeeded ? executed.tdsPaise : 0)),
                Self.member("timestamp", Self.ekoDate(executed.executedAt)), Self.member("type", String(executed.type)),
            ]))),
        ]))
    }

    static func statusText(_ txStatus: Int) -> String {
        switch txStatus {
        case 0: "Success"
        case 1: "Failed"
        case 2: "Response Awaited/Initiated"
        case 3: "Refund Pending"
        case 4: "Refunded"
        default: "Hold ( Transaction Inquiry Required )"
        }
    }

    /// User Services Enquiry: AePS Gateway (43) active unless the user code is listed as inactive.
    public func userServices(userCode: String) -> JSONValue {
        let active = !settings.inactiveUserCodes.contains(userCode)
        return .object(JSONObject([
            .init(key: "status", value: .number("0")), .init(key: "response_status_id", value: .number("0")),
            Self.member("message", "Success"),
            .init(key: "data", value: .object(JSONObject([
                Self.member("user_code", userCode),
                .init(key: "service_status_list", value: .array([
                    .object(JSONObject([
                        Self.member("service_code", "43"), Self.member("status", active ? "1" : "0"),
                        Self.member("status_desc", active ? "Activated" : "Not activated"),
                    ]))
                ])),
            ]))),
        ]))
    }

    /// The executed transactions, newest first.
    public func recent(limit: Int = 50) -> [Executed] {
        state.withLockedValue { state in state.order.suffix(limit).reversed().compactMap { state.executed[$0] } }
    }
}
