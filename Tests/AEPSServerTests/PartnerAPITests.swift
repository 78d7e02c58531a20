import AEPSServer
import EkoSigning
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct PartnerAPITests {
    static let key = "aeps_test-partner-key-0123456789abcdef"

    func server() async throws -> TestServer {
        let server = try TestServer()
        try await server.addRetailer()
        try await server.database.createAPIKey(name: "portal", keyHash: SecretToken.hash(Self.key), now: pinnedNow)
        return server
    }

    func call(
        _ client: some TestClientProtocol, _ method: HTTPRequest.Method, _ path: String, key: String? = key, body: String? = nil
    ) async throws -> (HTTPResponse.Status, HTTPFields, JSONValue) {
        var headers = HTTPFields()
        if let key { headers[.authorization] = "Bearer \(key)" }
        if body != nil { headers[.contentType] = "application/json" }
        return try await client.execute(uri: path, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) {
            ($0.status, $0.headers, (try? JSONValue.parse(String(buffer: $0.body))) ?? .null)
        }
    }

    @Test(arguments: [nil, "aeps_wrong-key", ""] as [String?])
    func withoutAValidKeyTheAnswerIs401JSON(key: String?) async throws {
        let server = try await server()
        try await server.makeApp().test(.router) { client in
            let (status, headers, json) = try await call(client, .post, "/api/v1/gateway-sessions", key: key, body: #"{"user_code": "20810200"}"#)
            #expect(status == .unauthorized)
            #expect(headers[.wwwAuthenticate] == "Bearer")
            #expect(json["error"] == .string("unauthorized"))
            let (readStatus, _, _) = try await call(client, .get, "/api/v1/transactions/X", key: key)
            #expect(readStatus == .unauthorized)
        }
    }

    @Test func aRevokedKeyStopsWorking() async throws {
        let server = try await server()
        try await server.database.revokeAPIKey(name: "portal", now: pinnedNow)
        try await server.makeApp().test(.router) { client in
            let (status, _, _) = try await call(client, .get, "/api/v1/transactions/X")
            #expect(status == .unauthorized)
        }
    }

    @Test func aGatewaySessionForARetailerIsTheSameConfigurationAndItsTokenWorks() async throws {
        let server = try await server()
        try await server.makeApp().test(.router) { client in
            let (status, _, json) = try await call(client, .post, "/api/v1/gateway-sessions", body: #"{"user_code": "20810200"}"#)
            #expect(status == .ok)
            #expect(json["user_code"] == .string("20810200"))
            #expect(json["secret_key"] == .string(referenceHMAC("1700000000000")))
            #expect(json.objectValue?.keys.count == 14)
            let headers = try JSONValue.parse(try #require(json["callback_url_custom_headers"]?.scalarText))
            let token = try #require(headers["X-AePS-Session"]?.scalarText)
            let hook = try await postCallback(client, debitHookBody(clientRefID: "API1", session: token))
            #expect(hook.json["allow"] == .bool(true))
        }
        let issued = try await server.rows("SELECT issued_via FROM gateway_session WHERE issued_via LIKE 'api:%'")
        #expect(issued == [["issued_via": "api:portal"]])
    }

    @Test(arguments: [
        (#"{"user_code": "99999999"}"#, 404, "unknown_retailer"),
        (#"{}"#, 400, "invalid_request"),
        (#"not json"#, 400, "invalid_request"),
        (#"{"user_code": "20810200", "language": "xx"}"#, 400, "invalid_request"),
    ])
    func badGatewaySessionRequestsAreExplained(body: String, status: Int, code: String) async throws {
        let server = try await server()
        try await server.makeApp().test(.router) { client in
            let (answer, _, json) = try await call(client, .post, "/api/v1/gateway-sessions", body: body)
            #expect(answer.code == status)
            #expect(json["error"] == .string(code))
        }
    }

    @Test func aDisabledRetailerGetsNoSession() async throws {
        let server = try await server()
        try await server.database.setRetailerActive(userCode: "20810200", active: false, now: pinnedNow)
        try await server.makeApp().test(.router) { client in
            let (status, _, json) = try await call(client, .post, "/api/v1/gateway-sessions", body: #"{"user_code": "20810200"}"#)
            #expect(status == .conflict)
            #expect(json["error"] == .string("retailer_disabled"))
        }
    }

    @Test func aTransactionReadsBackWithItsStatesAndMaskedCustomerData() async throws {
        let server = try await server()
        try await server.makeApp().test(.router) { client in
            _ = try await postCallback(client, debitHookBody())
            _ = try await postCallback(client, ekoResponseBody())
            let (status, _, json) = try await call(client, .get, "/api/v1/transactions/AEPS1700000000123")
            #expect(status == .ok)
            #expect(json["client_ref_id"] == .string("AEPS1700000000123"))
            #expect(json["type"] == .number("2"))
            #expect(json["amount"] == .string("500.00"))
            #expect(json["amount_paise"] == .number("50000"))
            #expect(json["customer_mobile"] == .string("XXXXXX3210"))
            #expect(json["decision"] == .string("approved"))
            #expect(json["state"] == .string("approved"))  // a report is a claim: Eko decides
            #expect(json["eko_tid"] == .string("3210000000"))
            #expect(json["bank_ref_num"] == .string("412345678901"))
            #expect(json["aadhaar_last4"] == .string("1234"))
            #expect(json["decided_at"] == .string("2023-11-14T22:13:20Z"))
            let (missing, _, missingJSON) = try await call(client, .get, "/api/v1/transactions/NOPE")
            #expect(missing == .notFound)
            #expect(missingJSON["error"] == .string("not_found"))
        }
    }
}
