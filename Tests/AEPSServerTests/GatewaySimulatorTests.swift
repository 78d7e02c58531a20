import AEPSServer
import EkoSigning
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOConcurrencyHelpers
import NIOCore
import Testing

/// The gateway simulator over HTTP: it refuses a gateway opening and a callback answer exactly where Eko would,
/// with Eko's own words, and its server APIs answer consistently with what it executed.
@Suite struct GatewaySimulatorTests {
    static let developerKey = "becbbce45f79c6f5109f848acd540567"
    static let signer = EkoSigner(accessKey: EkoAccessKey(uatAccessKey)!)

    final class Clock: Sendable {
        let now = NIOLockedValueBox(Date(timeIntervalSince1970: 1_795_000_000))
        func advance(_ seconds: Double) { now.withLockedValue { $0 += seconds } }
        var read: @Sendable () -> Date { { self.now.withLockedValue { $0 } } }
    }

    func simulator(clock: Clock = Clock(), _ change: (inout GatewaySimSettings) -> Void = { _ in }) -> some ApplicationProtocol {
        var settings = GatewaySimSettings()
        settings.port = 0
        settings.pendingSeconds = 20
        change(&settings)
        let simulator = GatewaySimulator(
            settings: settings, signer: Self.signer, developerKey: Self.developerKey, initiatorID: "9962981729", clock: clock.read
        )
        return buildGatewaySimulator(simulator: simulator, logger: LogCapture().logger())
    }

    /// The fields aeps's page posts, signed at `now` with the UAT key, with `changes` applied ("REMOVE" drops one).
    static func form(at now: Date, _ changes: [String: String] = [:]) -> String {
        let timestamp = EkoTimestamp.milliseconds(now)
        var fields: [(String, String)] = [
            ("partner_name", "Sharma <b>Partner</b>"), ("initiator_logo_url", "https://example.invalid/logo.png"),
            ("initiator_id", "9962981729"), ("developer_key", developerKey), ("secret_key", signer.secretKey(timestamp: timestamp)),
            ("secret_key_timestamp", timestamp), ("user_code", "20810200"), ("environment", "local"), ("language", "en"),
            ("callback_url", "https://localhost:8443/aeps/callback"),
            ("callback_url_custom_params", #"{"aeps_session":"gs_token"}"#),
            ("callback_url_custom_headers", #"{"X-AePS-Session":"gs_token"}"#),
        ]
        for (key, value) in changes {
            fields.removeAll { $0.0 == key }
            if value != "REMOVE" { fields.append((key, value)) }
        }
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        return fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed)!)" }.joined(separator: "&")
    }

    static let formHeaders: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

    func open(_ client: some TestClientProtocol, _ body: String) async throws -> (HTTPResponse.Status, String) {
        try await client.execute(uri: "/v2/aeps", method: .post, headers: Self.formHeaders, body: ByteBuffer(string: body)) {
            ($0.status, String(buffer: $0.body))
        }
    }

    static func ekoMessage(_ page: String) -> String? {
        guard let start = page.range(of: "<p id=\"sim-eko-message\" class=\"eko\">"),
            let end = page.range(of: "</p>", range: start.upperBound..<page.endIndex)
        else { return nil }
        return String(page[start.upperBound..<end.lowerBound])
    }

    @Test(arguments: [
        (["environment": "uat"], "Error in authentication", "environment is \"uat\""),
        (["environment": "REMOVE"], "Error in authentication", "environment is \"(none)\""),
        (["developer_key": "0123456789abcdef0123456789abcdef"], "Error in authentication", "developer_key"),
        (["initiator_id": "9000000000"], "Error in authentication", "initiator_id"),
        (["secret_key": "AAAA"], "Authentication for secret-key failed", "secret_key"),
        (["secret_key_timestamp": "1700000000000"], "Error in authentication", "away from the simulator's clock"),
        (["secret_key_timestamp": "soon"], "Error in authentication", "not milliseconds"),
        (["user_code": "REMOVE"], "Error in authentication", "no user_code"),
        (["callback_url": "REMOVE"], "Connection to callback server failed. Please try again", "callback_url"),
        (["callback_url_custom_headers": "[1]"], "Error in authentication", "callback_url_custom_headers"),
    ])
    func aGatewayOpeningIsRefusedWithEkosWords(changes: [String: String], message: String, detail: String) async throws {
        let clock = Clock()
        try await simulator(clock: clock).test(.router) { client in
            var body = Self.form(at: clock.read(), changes)
            if changes["secret_key_timestamp"] != nil, changes["secret_key"] == nil {
                // A form signed correctly, but for a timestamp far from now (or none that parses).
                let stamp = changes["secret_key_timestamp"]!
                body = Self.form(at: clock.read(), ["secret_key_timestamp": stamp, "secret_key": Self.signer.secretKey(timestamp: stamp)])
            }
            let (status, page) = try await open(client, body)
            #expect(status == .ok)
            #expect(Self.ekoMessage(page) == message, "\(page)")
            let shown = detail.replacingOccurrences(of: "\"", with: "&quot;").replacingOccurrences(of: "'", with: "&#39;")
            #expect(page.contains(shown), "\(page)")
            #expect(!page.contains("id=\"sim-form\""))
        }
    }

    @Test func aRetailerWithoutServiceFortyThreeIsForbidden() async throws {
        let clock = Clock()
        try await simulator(clock: clock) { $0.inactiveUserCodes = ["20810200"] }.test(.router) { client in
            let (_, page) = try await open(client, Self.form(at: clock.read()))
            #expect(Self.ekoMessage(page) == "Authentication Failed… Initiator access forbidden")
            #expect(page.contains("https://developers.eko.in/reference/activate-service"))
        }
    }

    @Test func wrongMethodAndContentTypeGetEkosHTTPErrors() async throws {
        let clock = Clock()
        try await simulator(clock: clock).test(.router) { client in
            try await client.execute(uri: "/v2/aeps", method: .get) { #expect($0.status == .methodNotAllowed) }
            try await client.execute(
                uri: "/v2/aeps", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: "{}")
            ) { #expect($0.status == .unsupportedMediaType) }
        }
    }

    @Test func aValidOpeningShowsThePopupWithTheFormFieldsEscaped() async throws {
        let clock = Clock()
        try await simulator(clock: clock).test(.router) { client in
            let (status, page) = try await open(client, Self.form(at: clock.read(), ["callback_url": "https://x.example/cb?</script><script>alert(1)</script>"]))
            #expect(status == .ok)
            #expect(page.contains("id=\"sim-form\""))
            #expect(page.contains("Sharma &lt;b&gt;Partner&lt;/b&gt;"))
            #expect(!page.contains("<b>Partner</b>"))
            #expect(!page.contains("</script><script>alert(1)"), "the opening's JSON must not close its script element")
        }
    }

    // MARK: - The debit-hook and its answer

    struct Opened {
        let id: String
        let clientRefID: String
        let body: JSONValue
        let headers: JSONValue
    }

    func openAndPrepare(_ client: some TestClientProtocol, clock: Clock, type: Int = 2, delivery: String = "both") async throws -> Opened {
        let (_, page) = try await open(client, Self.form(at: clock.read()))
        let marker = try #require(page.range(of: #"{"id":""#))
        let id = String(page[marker.upperBound...].prefix { $0 != "\"" })
        let hook = try await client.execute(
            uri: "/sim/openings/\(id)/hook", method: .post, headers: [.contentType: "application/json"],
            body: ByteBuffer(string: #"{"type":\#(type),"amount":"\#(type == 2 ? "500" : "")","customer_id":"9876543210","bank_code":"607094","delivery":"\#(delivery)"}"#)
        ) { try JSONValue.parse(String(buffer: $0.body)) }
        #expect(hook["ok"] == .bool(true), "\(hook.serialized())")
        let body = try JSONValue.parse(try #require(hook["body"]?.scalarText))
        return Opened(id: id, clientRefID: try #require(hook["client_ref_id"]?.scalarText), body: body, headers: try #require(hook["headers"]))
    }

    func execute(_ client: some TestClientProtocol, _ opened: Opened, outcome: String = "success", status: Int = 200, answer: String) async throws -> JSONValue {
        let request = JSONValue.object(JSONObject([
            .init(key: "client_ref_id", value: .string(opened.clientRefID)), .init(key: "outcome", value: .string(outcome)),
            .init(key: "http_status", value: .number(String(status))), .init(key: "status_text", value: .string(status == 200 ? "OK" : "Not Found")),
            .init(key: "answer_text", value: .string(answer)),
        ])).serialized()
        return try await client.execute(
            uri: "/sim/openings/\(opened.id)/execute", method: .post, headers: [.contentType: "application/json"],
            body: ByteBuffer(string: request)
        ) { try JSONValue.parse(String(buffer: $0.body)) }
    }

    /// The answer aeps gives: one timestamp, secret_key and request_hash over the hook's values in order.
    static func approval(for opened: Opened, at now: Date, values: [String]? = nil, signer: EkoSigner = signer) -> String {
        let timestamp = EkoTimestamp.milliseconds(now)
        let signed = values ?? ["9876543210", "500", "20810200"]
        return #"{"action":"go","allow":true,"secret_key_timestamp":"\#(timestamp)","secret_key":"\#(signer.secretKey(timestamp: timestamp))","request_hash":"\#(signer.requestHash(timestamp: timestamp, values: signed))","client_ref_id":"\#(opened.clientRefID)"}"#
    }

    @Test func theDebitHookCarriesTheCustomDataAsChosen() async throws {
        let clock = Clock()
        try await simulator(clock: clock).test(.router) { client in
            let both = try await openAndPrepare(client, clock: clock, delivery: "both")
            #expect(both.body["aeps_session"] == .string("gs_token"))
            #expect(both.headers["X-AePS-Session"] == .string("gs_token"))
            #expect(both.body["detail"]?["request_hash_params"] == .array([.string("customer_id"), .string("amount"), .string("user_code")]))
            #expect(both.body["detail"]?["data"]?["amount"] == .string("500"))
            let params = try await openAndPrepare(client, clock: clock, delivery: "params")
            #expect(params.body["aeps_session"] == .string("gs_token"))
            #expect(params.headers == .object(JSONObject()))
            let headers = try await openAndPrepare(client, clock: clock, type: 3, delivery: "headers")
            #expect(headers.body["aeps_session"] == nil)
            #expect(headers.headers["X-AePS-Session"] == .string("gs_token"))
            #expect(headers.body["detail"]?["data"]?["amount"] == nil)
            #expect(headers.body["detail"]?["request_hash_params"] == .array([.string("customer_id"), .string("user_code")]))
        }
    }

    @Test func aCallbackAnswerIsCheckedAsEkoWould() async throws {
        let clock = Clock()
        try await simulator(clock: clock).test(.router) { client in
            let opened = try await openAndPrepare(client, clock: clock)
            func message(_ answer: String, status: Int = 200) async throws -> String? {
                try await execute(client, opened, status: status, answer: answer)["eko_message"]?.scalarText
            }
            #expect(try await message("<html>ok</html>") == "Invalid response from callback server (Status = 200 OK)")
            #expect(try await message(#"{"allow":true}"#) == "Invalid response from callback server (Status = 200 OK)")
            #expect(try await message(#"{"action":"go","allow":"true"}"#) == "Invalid response from callback server (Status = 200 OK)")
            #expect(try await message(#"{"action":"go","allow":true}"#) == "Invalid response from callback server (Status = 200 OK)")
            #expect(try await message("{}", status: 404) == "Invalid response from callback server (Status = 404 Not Found)")
            // Signed over other values (an amount of 5000), with another key, or at a stale time.
            let now = clock.read()
            #expect(try await message(Self.approval(for: opened, at: now, values: ["9876543210", "5000", "20810200"]))
                == "Authentication for request-hash failed")
            let other = EkoSigner(accessKey: EkoAccessKey("f74c50a1-f705-4634-9cda-30a477df91b7")!)
            #expect(try await message(Self.approval(for: opened, at: now, signer: other)) == "Authentication for secret-key failed")
            #expect(try await message(Self.approval(for: opened, at: now.addingTimeInterval(-600))) == "Error in authentication")
            // A refusal is shown with the server's message; nothing is executed.
            let refused = try await execute(client, opened, answer: #"{"action":"go","allow":false,"message":"Daily limit reached"}"#)
            #expect(refused["refused"] == .bool(true))
            #expect(refused["message"] == .string("Daily limit reached"))
            try await client.execute(uri: "/sim/transactions.json", method: .get) { #expect(String(buffer: $0.body) == "[]") }
            // The right signature executes, once, and the eko-response carries Eko's envelope.
            let done = try await execute(client, opened, answer: Self.approval(for: opened, at: now))
            #expect(done["ok"] == .bool(true), "\(done.serialized())")
            let report = try JSONValue.parse(try #require(done["body"]?.scalarText))
            #expect(report["action"] == .string("eko-response"))
            #expect(report["aeps_session"] == .string("gs_token"))
            let data = report["detail"]?["response"]?["data"]
            #expect(data?["tx_status"] == .string("0"))
            #expect(data?["amount"] == .string("500.00"))
            #expect(data?["aadhar"]?.scalarText?.hasPrefix("XXXX XXXX ") == true)
            let again = try await execute(client, opened, answer: Self.approval(for: opened, at: now))
            #expect(again["tid"] == done["tid"], "a repeated answer does not execute twice")
        }
    }

    // MARK: - Server APIs

    func inquire(_ client: some TestClientProtocol, _ reference: String, at now: Date, developerKey: String? = developerKey, signer: EkoSigner = signer)
        async throws -> (HTTPResponse.Status, JSONValue)
    {
        let timestamp = EkoTimestamp.milliseconds(now)
        var headers: HTTPFields = [
            HTTPField.Name("secret-key")!: signer.secretKey(timestamp: timestamp), HTTPField.Name("secret-key-timestamp")!: timestamp,
        ]
        if let developerKey { headers[HTTPField.Name("developer_key")!] = developerKey }
        return try await client.execute(uri: "/ekoapi/v1/transactions/\(reference)?initiator_id=9962981729", method: .get, headers: headers) {
            ($0.status, try JSONValue.parse(String(buffer: $0.body)))
        }
    }

    @Test func transactionInquiryFollowsWhatWasExecutedAndAPendingOneSucceedsLater() async throws {
        let clock = Clock()
        try await simulator(clock: clock).test(.router) { client in
            let opened = try await openAndPrepare(client, clock: clock)
            let done = try await execute(client, opened, outcome: "pending", answer: Self.approval(for: opened, at: clock.read()))
            #expect(done["detail"]?["response"]?["data"]?["tx_status"] == .string("2"))
            let tid = try #require(done["tid"]?.scalarText)

            #expect(try await inquire(client, "client_ref_id:\(opened.clientRefID)", at: clock.read(), developerKey: nil).0.code == 402)
            let wrongKey = EkoSigner(accessKey: EkoAccessKey("f74c50a1-f705-4634-9cda-30a477df91b7")!)
            #expect(try await inquire(client, "client_ref_id:\(opened.clientRefID)", at: clock.read(), signer: wrongKey).0 == .forbidden)
            #expect(try await inquire(client, "client_ref_id:\(opened.clientRefID)", at: clock.read(), developerKey: "x").0 == .forbidden)

            let (status, pending) = try await inquire(client, "client_ref_id:\(opened.clientRefID)", at: clock.read())
            #expect(status == .ok)
            #expect(pending["data"]?["tx_status"] == .string("2"))
            #expect(pending["data"]?["tid"] == .string(tid))
            clock.advance(21)
            let (_, later) = try await inquire(client, tid, at: clock.read())
            #expect(later["data"]?["tx_status"] == .string("0"))
            #expect(later["data"]?["amount"] == .string("500.00"))
            #expect(later["data"]?["commission"] == .string("1.50"))
            let (_, unknown) = try await inquire(client, "client_ref_id:NEVER", at: clock.read())
            #expect(unknown["status"] == .number("463"))
            #expect(unknown["message"] == .string("Transaction not found"))
        }
    }

    @Test func userServicesEnquiryTellsWhetherAePSIsActive() async throws {
        let clock = Clock()
        try await simulator(clock: clock) { $0.inactiveUserCodes = ["20810299"] }.test(.router) { client in
            let timestamp = EkoTimestamp.milliseconds(clock.read())
            let headers: HTTPFields = [
                HTTPField.Name("developer_key")!: Self.developerKey, HTTPField.Name("secret-key")!: Self.signer.secretKey(timestamp: timestamp),
                HTTPField.Name("secret-key-timestamp")!: timestamp,
            ]
            for (code, status) in [("20810200", "1"), ("20810299", "0")] {
                try await client.execute(uri: "/ekoapi/v1/user/services/user_code:\(code)?initiator_id=9962981729", method: .get, headers: headers) {
                    let answer = try JSONValue.parse(String(buffer: $0.body))
                    guard case .array(let list)? = answer["data"]?["service_status_list"] else { Issue.record("no list"); return }
                    #expect(list.first?["service_code"] == .string("43"))
                    #expect(list.first?["status"] == .string(status))
                }
            }
        }
    }
}
