import AEPSServer
import EkoSigning
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// Only a debit-hook carrying a live gateway-session token of the retailer that owns its user_code is signed.
@Suite struct SessionBindingTests {
    /// The reason logged for a hook refused before it was bound to a live session; such a hook leaves no
    /// transaction row and no body, only a compact log row.
    func storedReason(_ server: TestServer, _ clientRefID: String = "AEPS1700000000123") async throws -> String? {
        #expect(try await server.rows("SELECT id FROM aeps_transaction WHERE client_ref_id = '\(clientRefID)'").isEmpty)
        let logged = try await server.rows(
            "SELECT reason, body, body_digest FROM callback_log WHERE client_ref_id = '\(clientRefID)' AND action = 'debit-hook'"
        )
        #expect(logged.count == 1)
        #expect(logged.first?["body"] == .some(nil))
        #expect(logged.first?["body_digest"]??.count == 64)
        return logged.first?["reason"] ?? nil
    }

    @Test func theTokenIsAcceptedFromTheSessionHeader() async throws {
        let server = try TestServer()
        try await server.addRetailer()
        try await server.makeApp().test(.router) { client in
            var headers = gatewayHeaders()
            headers[.init("X-AePS-Session")!] = defaultGatewayToken
            let answer = try await postCallback(client, debitHookBody(session: nil), headers: headers)
            #expect(answer.json["allow"] == .bool(true))
        }
    }

    @Test(arguments: [
        ("missing", nil, "session_missing"),
        ("unknown", "gs_never-issued-anywhere", "session_unknown"),
        ("empty", "", "session_missing"),
    ] as [(String, String?, String)])
    func aHookWithoutALiveTokenIsRefused(_ label: String, token: String?, reason: String) async throws {
        let server = try TestServer()
        try await server.addRetailer()
        try await server.makeApp().test(.router) { client in
            let answer = try await postCallback(client, debitHookBody(session: token))
            #expect(answer.json["allow"] == .bool(false))
            #expect(answer.json["message"] == .string(RefusalCode(rawValue: reason)!.message))
            #expect(answer.json["secret_key"] == nil)
        }
        let stored = try await storedReason(server)
        #expect(stored == reason)
    }

    @Test func anExpiredTokenIsRefused() async throws {
        let server = try TestServer()
        try await server.addRetailer()
        // 15 minutes and one second after the session was issued.
        try await server.makeApp(clock: { pinnedNow.addingTimeInterval(901) }).test(.router) { client in
            let answer = try await postCallback(client, debitHookBody())
            #expect(answer.json["allow"] == .bool(false))
        }
        let reason = try await storedReason(server)
        #expect(reason == "session_expired")
    }

    @Test func aRevokedTokenIsRefused() async throws {
        let server = try TestServer()
        try await server.addRetailer()
        let retailer = try #require(try await server.database.retailer(userCode: "20810200"))
        try await server.database.revokeGatewaySessions(retailerID: retailer.id!, now: pinnedNow)
        try await server.makeApp().test(.router) { client in
            _ = try await postCallback(client, debitHookBody())
        }
        let reason = try await storedReason(server)
        #expect(reason == "session_revoked")
    }

    @Test func anotherRetailersTokenIsRefused() async throws {
        let server = try TestServer()
        try await server.addRetailer("20810200")
        try await server.addRetailer("30920300", name: "Other Shop", token: "gs_other-retailers-token-0123456789")
        try await server.makeApp().test(.router) { client in
            let answer = try await postCallback(
                client, debitHookBody(userCode: #""20810200""#, session: "gs_other-retailers-token-0123456789")
            )
            #expect(answer.json["allow"] == .bool(false))
        }
        let reason = try await storedReason(server)
        #expect(reason == "session_other_retailer")
    }

    @Test func aClientRefIDDecidedUnderOneTokenIsRefusedUnderAnother() async throws {
        let server = try TestServer()
        try await server.addRetailer()
        let retailer = try #require(try await server.database.retailer(userCode: "20810200"))
        let second = "gs_second-opening-of-the-same-retailer"
        _ = try await server.database.createGatewaySession(
            retailer: retailer, tokenHash: SecretToken.hash(second), environment: "uat", issuedVia: "test",
            now: pinnedNow, ttlSeconds: 900
        )
        try await server.makeApp().test(.router) { client in
            let first = try await postCallback(client, debitHookBody())
            #expect(first.json["allow"] == .bool(true))
            let reused = try await postCallback(client, debitHookBody(session: second))
            #expect(reused.json["allow"] == .bool(false))
            #expect(reused.json["message"] == .string(RefusalCode.clientRefIDOtherSession.message))
            let again = try await postCallback(client, debitHookBody())
            #expect(again.json["allow"] == .bool(true))  // the first session may still repeat it
        }
        let reason = try await server.rows("SELECT reason FROM aeps_transaction").first?["reason"] ?? nil
        #expect(reason == "approved")
        let reasons = try await server.rows("SELECT reason FROM callback_log ORDER BY id").map { $0["reason"] ?? nil }
        #expect(reasons == ["approved", "repeat:client_ref_id_other_session", "repeat:approved"])
    }

    @Test func withRequireSessionOffAHookWithoutATokenIsBoundToTheRetailerOnly() async throws {
        let server = try TestServer(overrides: ["policy": #"{"require_session": false}"#])
        try await server.addRetailer()
        try await server.makeApp().test(.router) { client in
            let answer = try await postCallback(client, debitHookBody(session: nil))
            #expect(answer.json["allow"] == .bool(true))
            let forged = try await postCallback(client, debitHookBody(clientRefID: "OTHER", session: "gs_forged"))
            #expect(forged.json["allow"] == .bool(false))  // a token that is presented is still checked
        }
    }
}
