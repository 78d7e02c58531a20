import AEPSServer
import EkoSigning
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// Bad input gets a clear JSON answer with the CORS header, is recorded, and damages nothing already stored.
@Suite struct BadRequestTests {
    @Test(arguments: [
        ("malformed JSON", #"{"action": "debit-hook", "detail": "#, "application/json", 400, "malformed_json"),
        ("not an object", #"["debit-hook"]"#, "application/json", 400, "malformed_json"),
        ("no action", #"{"detail": {}}"#, "application/json", 400, "missing_action"),
        ("unknown action", #"{"action": "refund", "detail": {}}"#, "application/json", 400, "unknown_action"),
        ("no detail", #"{"action": "debit-hook"}"#, "application/json", 400, "missing_detail"),
        ("detail not an object", #"{"action": "eko-response", "detail": "x"}"#, "application/json", 400, "missing_detail"),
        ("hook without client_ref_id", #"{"action": "debit-hook", "detail": {"data": {}, "request_hash_params": []}}"#,
         "application/json", 400, "invalid_detail"),
        ("hook without data", #"{"action": "debit-hook", "detail": {"client_ref_id": "X", "request_hash_params": []}}"#,
         "application/json", 400, "invalid_detail"),
        ("hook without params", #"{"action": "debit-hook", "detail": {"client_ref_id": "X", "data": {}}}"#,
         "application/json", 400, "invalid_detail"),
        ("form encoded", "action=debit-hook", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        ("text", debitHookBody(), "text/plain", 415, "unsupported_media_type"),
    ] as [(String, String, String, Int, String)])
    func badRequestsGetAJSONErrorWithCORS(_ label: String, body: String, contentType: String, status: Int, code: String)
        async throws
    {
        let server = try TestServer()
        try await server.makeApp().test(.router) { client in
            let answer = try await postCallback(client, body, headers: gatewayHeaders(contentType: contentType))
            #expect(answer.status.code == status)
            #expect(answer.headers[.accessControlAllowOrigin] == stageOrigin)
            #expect(answer.headers[.contentType]?.hasPrefix("application/json") == true)
            #expect(answer.json["error"] == .string(code))
            #expect(answer.json["message"]?.scalarText?.isEmpty == false)
        }
        let logged = try await server.rows("SELECT http_status, outcome, reason FROM callback_log")
        #expect(logged == [["http_status": String(status), "outcome": "rejected", "reason": code]])
    }

    @Test func aMissingContentTypeIsRefused() async throws {
        let server = try TestServer()
        try await server.makeApp().test(.router) { client in
            let answer = try await postCallback(client, debitHookBody(), headers: gatewayHeaders(contentType: nil))
            #expect(answer.status == .unsupportedMediaType)
            #expect(answer.json["error"] == .string("unsupported_media_type"))
        }
    }

    @Test func jsonWithACharsetIsAccepted() async throws {
        let server = try TestServer()
        try await server.addRetailer()
        try await server.makeApp().test(.router) { client in
            let answer = try await postCallback(
                client, debitHookBody(), headers: gatewayHeaders(contentType: "application/json; charset=UTF-8")
            )
            #expect(answer.json["allow"] == .bool(true))
        }
    }

    @Test(arguments: [TestingSetup.router, .live])
    func anOversizeBodyGets413JSONWithCORSAndIsRecorded(setup: TestingSetup) async throws {
        let server = try TestServer()
        let padding = String(repeating: "x", count: 70 * 1024)
        let body = debitHookBody(extraTopLevel: #", "padding": "\#(padding)""#)
        try await server.makeApp().test(setup) { client in
            let answer = try await postCallback(client, body)
            #expect(answer.status == .contentTooLarge)
            #expect(answer.headers[.accessControlAllowOrigin] == stageOrigin)
            #expect(answer.json["error"] == .string("body_too_large"))
        }
        let logged = try await server.rows("SELECT http_status, reason, body FROM callback_log")
        #expect(logged == [["http_status": "413", "reason": "body_too_large", "body": nil]])
    }

    @Test func aBodyJustUnderTheLimitIsAccepted() async throws {
        let server = try TestServer()
        try await server.addRetailer()
        let base = debitHookBody(extraTopLevel: #", "padding": """#)
        let padding = String(repeating: "x", count: 64 * 1024 - base.utf8.count)
        let body = debitHookBody(extraTopLevel: #", "padding": "\#(padding)""#)
        #expect(body.utf8.count == 64 * 1024)
        try await server.makeApp().test(.router) { client in
            let answer = try await postCallback(client, body)
            #expect(answer.json["allow"] == .bool(true))
        }
    }

    @Test func badRequestsDoNotTouchStoredTransactions() async throws {
        let server = try TestServer()
        try await server.addRetailer()
        try await server.makeApp().test(.router) { client in
            _ = try await postCallback(client, debitHookBody())
            let before = try await server.rows("SELECT * FROM aeps_transaction")
            _ = try await postCallback(client, #"{"action": "debit-hook", "detail": {"client_ref_id": "AEPS1700000000123"}}"#)
            _ = try await postCallback(client, #"{"action": "eko-response", "detail": "#)
            _ = try await postCallback(client, #"{"action": "cancel", "detail": {"client_ref_id": "AEPS1700000000123"}}"#)
            let after = try await server.rows("SELECT * FROM aeps_transaction")
            #expect(after == before)
        }
    }

    @Test func otherMethodsOnTheCallbackAreNotServed() async throws {
        let server = try TestServer()
        try await server.makeApp().test(.router) { client in
            try await client.execute(uri: "/aeps/callback", method: .get, headers: gatewayHeaders()) { response in
                #expect(response.status == .notFound || response.status == .methodNotAllowed)
            }
        }
    }
}
