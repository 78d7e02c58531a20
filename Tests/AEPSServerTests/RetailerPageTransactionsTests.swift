import AEPSServer
import EkoSigning
import Foundation
import Hummingbird
import HummingbirdBcrypt
import HummingbirdTesting
import Testing

/// The retailer page's read-only transaction routes, through HTTP, with two retailers: each sees its own
/// transactions and openings, never the other's.
@Suite struct RetailerPageTransactionsTests {
    static let password = "correct horse battery"
    static let tokenA = "gs_test-retailer-a-0123456789"
    static let tokenB = "gs_test-retailer-b-0123456789"

    /// Retailer A (20810200) and B (20810300), each with a page password, a gateway session and one approved
    /// transaction decided through the callback (A: `REFA1`, ₹500 withdrawal; B: `REFB1`, ₹700 withdrawal).
    func twoRetailers() async throws -> TestServer {
        let server = try TestServer()
        try await server.addRetailer("20810200", name: "Shop A", token: Self.tokenA)
        try await server.addRetailer("20810300", name: "Shop B", token: Self.tokenB)
        for code in ["20810200", "20810300"] {
            try await server.database.setRetailerPassword(
                userCode: code, passwordHash: Bcrypt.hash(Self.password, cost: 4), now: pinnedNow
            )
        }
        // Setting a password revokes page-issued sessions only; the test sessions above stay live.
        try await server.makeApp().test(.router) { client in
            let a = try await postCallback(client, debitHookBody(clientRefID: "REFA1", session: Self.tokenA))
            #expect(a.json["allow"] == .bool(true))
            let b = try await postCallback(client, debitHookBody(
                clientRefID: "REFB1", amount: #""700""#, customerID: #""9123456789""#, userCode: #""20810300""#,
                session: Self.tokenB
            ))
            #expect(b.json["allow"] == .bool(true))
        }
        return server
    }

    struct Answer {
        var status: HTTPResponse.Status
        var json: JSONValue
        var text: String
    }

    struct Visitor {
        var cookie: String
        var csrf: String
    }

    func call(
        _ client: some TestClientProtocol, _ method: HTTPRequest.Method, _ path: String, as visitor: Visitor?,
        csrf: Bool = true, body: String? = nil, extra: HTTPFields = [:]
    ) async throws -> Answer {
        var headers = extra
        if body != nil { headers[.contentType] = "application/json" }
        if let visitor {
            headers[.cookie] = visitor.cookie
            if csrf { headers[.init("X-CSRF-Token")!] = visitor.csrf }
        }
        return try await client.execute(
            uri: path, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }
        ) { response in
            let text = String(buffer: response.body)
            return Answer(status: response.status, json: (try? JSONValue.parse(text)) ?? .null, text: text)
        }
    }

    func signIn(_ client: some TestClientProtocol, _ userCode: String) async throws -> Visitor {
        let body = #"{"user_code": "\#(userCode)", "password": "\#(Self.password)"}"#
        return try await client.execute(
            uri: "/api/login", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: body)
        ) { response in
            #expect(response.status == .ok)
            let cookie = try #require(response.headers[.setCookie]?.split(separator: ";").first.map(String.init))
            let json = try JSONValue.parse(String(buffer: response.body))
            return Visitor(cookie: cookie, csrf: try #require(json["csrf_token"]?.scalarText))
        }
    }

    @Test func aRetailerReadsItsOwnTransactionAndNeverAnotherRetailers() async throws {
        let server = try await twoRetailers()
        try await server.makeApp().test(.router) { client in
            let a = try await signIn(client, "20810200")
            let own = try await call(client, .get, "/api/transactions/REFA1", as: a)
            #expect(own.status == .ok)
            let tx = own.json["transaction"]
            #expect(tx?["client_ref_id"] == .string("REFA1"))
            #expect(tx?["type"] == .number("2"))
            #expect(tx?["service"] == .string("cash_withdrawal"))
            #expect(tx?["decision"] == .string("approved"))
            #expect(tx?["message"] == .null)
            #expect(tx?["amount_paise"] == .number("50000"))
            #expect(tx?["amount"] == .string("500.00"))
            #expect(tx?["state"] == .string("approved"))
            #expect(tx?["decided_at"] == .string("2023-11-14T22:13:20Z"))
            #expect(tx?["customer_mobile"]?.scalarText?.hasSuffix("3210") == true)
            #expect(!own.text.contains("9876543210"))  // the mobile is masked

            // B's transaction and one that does not exist get the same answer; B's data never appears.
            let other = try await call(client, .get, "/api/transactions/REFB1", as: a)
            let missing = try await call(client, .get, "/api/transactions/NOSUCHREF", as: a)
            #expect(other.status == .notFound)
            #expect(other.json == missing.json)
            #expect(!other.text.contains("700") && !other.text.contains("REFB1"))

            // B sees its own, and not A's.
            let b = try await signIn(client, "20810300")
            #expect(try await call(client, .get, "/api/transactions/REFB1", as: b).json["transaction"]?["amount"] == .string("700.00"))
            #expect(try await call(client, .get, "/api/transactions/REFA1", as: b).status == .notFound)
        }
    }

    @Test func theTransactionRoutesNeedTheSignedInPageAndABoundedReference() async throws {
        let server = try await twoRetailers()
        try await server.makeApp().test(.router) { client in
            let a = try await signIn(client, "20810200")
            #expect(try await call(client, .get, "/api/transactions/REFA1", as: nil).status == .unauthorized)
            #expect(try await call(client, .get, "/api/transactions/REFA1", as: a, csrf: false).status == .forbidden)
            let crossSite = try await call(client, .get, "/api/transactions/REFA1", as: a, extra: [.init("Sec-Fetch-Site")!: "cross-site"])
            #expect(crossSite.status == .forbidden)
            #expect(crossSite.json["error"] == .string("cross_site_request"))
            let tooLong = String(repeating: "A", count: 65)
            for bad in [tooLong, "REF%20A1", "REF%C3%A9", "REF%00", "%"] {
                let answer = try await call(client, .get, "/api/transactions/\(bad)", as: a)
                #expect(answer.status == .badRequest, "\(bad): \(answer.text)")
            }
            // A reference at the bound is looked up (and not found), not refused.
            #expect(try await call(client, .get, "/api/transactions/\(String(repeating: "A", count: 64))", as: a).status == .notFound)
            // Read-only: nothing but GET is routed.
            #expect(try await call(client, .post, "/api/transactions/REFA1", as: a, body: "{}").status != .ok)
            #expect(try await call(client, .delete, "/api/transactions/REFA1", as: a).status != .ok)
        }
    }

    @Test func theOpeningsTransactionIsFoundForItsRetailerOnly() async throws {
        let server = try await twoRetailers()
        try await server.makeApp().test(.router) { client in
            let a = try await signIn(client, "20810200")
            let config = try await call(client, .post, "/api/gateway-config", as: a, body: "{}")
            #expect(config.status == .ok)
            let opening = try #require(config.json["opening_id"]?.scalarText)
            let params = try JSONValue.parse(try #require(config.json["callback_url_custom_params"]?.scalarText))
            let token = try #require(params["aeps_session"]?.scalarText)

            // Nothing yet.
            let before = try await call(client, .get, "/api/gateway-sessions/\(opening)/transaction", as: a)
            #expect(before.status == .ok)
            #expect(before.json["transaction"] == .null)

            // The gateway calls the callback under this opening: the page finds the server's decision.
            _ = try await postCallback(client, debitHookBody(clientRefID: "REFA2", amount: #""250""#, session: token))
            let after = try await call(client, .get, "/api/gateway-sessions/\(opening)/transaction", as: a)
            #expect(after.json["transaction"]?["client_ref_id"] == .string("REFA2"))
            #expect(after.json["transaction"]?["amount_paise"] == .number("25000"))
            #expect(after.json["transaction"]?["decision"] == .string("approved"))

            // Another retailer cannot read this opening, nor can anyone signed out; ids are bounded numbers.
            let b = try await signIn(client, "20810300")
            let foreign = try await call(client, .get, "/api/gateway-sessions/\(opening)/transaction", as: b)
            #expect(foreign.status == .notFound)
            #expect(!foreign.text.contains("REFA2"))
            #expect(try await call(client, .get, "/api/gateway-sessions/999999/transaction", as: b).json == foreign.json)
            #expect(try await call(client, .get, "/api/gateway-sessions/\(opening)/transaction", as: nil).status == .unauthorized)
            #expect(try await call(client, .get, "/api/gateway-sessions/\(opening)/transaction", as: a, csrf: false).status == .forbidden)
            for bad in ["abc", "-1", "0", "1e3", String(repeating: "9", count: 30)] {
                #expect(try await call(client, .get, "/api/gateway-sessions/\(bad)/transaction", as: a).status == .badRequest, "\(bad)")
            }
        }
    }

    @Test func aRefusalIsReadWithItsMessage() async throws {
        let server = try await twoRetailers()
        try await server.database.setServicePaused(true, now: pinnedNow)
        try await server.makeApp().test(.router) { client in
            let a = try await signIn(client, "20810200")
            let config = try await call(client, .post, "/api/gateway-config", as: a, body: "{\"language\": \"hi\"}")
            let opening = try #require(config.json["opening_id"]?.scalarText)
            let params = try JSONValue.parse(try #require(config.json["callback_url_custom_params"]?.scalarText))
            let hook = try await postCallback(
                client, debitHookBody(clientRefID: "REFA3", session: try #require(params["aeps_session"]?.scalarText))
            )
            #expect(hook.json["allow"] == .bool(false))
            // The refusal's message in the page's language: Hindi as the gateway was told, or English.
            let hindi = try await call(client, .get, "/api/gateway-sessions/\(opening)/transaction?lang=hi", as: a)
            let tx = hindi.json["transaction"]
            #expect(tx?["decision"] == .string("refused"))
            #expect(tx?["state"] == .string("refused"))
            #expect(tx?["message"] == hook.json["message"])
            #expect(tx?["message"]?.scalarText?.isEmpty == false)
            let english = try await call(client, .get, "/api/transactions/REFA3?lang=en", as: a)
            #expect(english.json["transaction"]?["message"] == .string("Cash withdrawal is paused for now. Please try again later."))
            #expect(try await call(client, .get, "/api/transactions/REFA3?lang=xx", as: a).status == .badRequest)
        }
    }
}
