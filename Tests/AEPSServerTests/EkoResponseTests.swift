import AEPSServer
import EkoSigning
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@Suite(.timeLimit(.minutes(1))) struct EkoResponseTests {
    /// Approves one withdrawal so there is a transaction to report on.
    func approveWithdrawal(_ client: some TestClientProtocol, clientRefID: String = "AEPS1700000000123") async throws {
        let answer = try await postCallback(client, debitHookBody(clientRefID: clientRefID))
        #expect(answer.json["allow"] == .bool(true))
    }

    @Test func aReportIsAcknowledgedRecordedAsAClaimAndQueuesAnInquiry() async throws {
        let server = try TestServer()
        try await server.addRetailer()
        let events = server.settlementEvents.subscribe()
        try await server.makeApp().test(.router) { client in
            try await approveWithdrawal(client)
            let answer = try await postCallback(client, ekoResponseBody())
            #expect(answer.status == .ok)
            #expect(answer.headers[.accessControlAllowOrigin] == stageOrigin)
            #expect(answer.json == .object(JSONObject([
                .init(key: "status", value: .string("received")),
                .init(key: "client_ref_id", value: .string("AEPS1700000000123")),
            ])))
            // The sweeper asked (no Eko here): a claim alone moved nothing.
            #expect(await events.next()?.step?.outcome == .noAnswer)
        }
        let rows = try await server.rows("""
            SELECT state, reported_tx_status, reported_amount_paise, eko_tid, bank_ref_num, aadhaar_last4,
                   reported_at IS NOT NULL AS reported, inquiry_attempts
            FROM aeps_transaction
            """)
        #expect(rows == [[
            "state": "approved", "reported_tx_status": "0", "reported_amount_paise": "50000", "eko_tid": "3210000000",
            "bank_ref_num": "412345678901", "aadhaar_last4": "1234", "reported": "1", "inquiry_attempts": "1",
        ]])
        #expect(try await server.rows("SELECT COUNT(*) AS n FROM settlement") == [["n": "0"]])
        let reasons = try await server.rows("SELECT reason FROM callback_log WHERE action = 'eko-response'")
        #expect(reasons == [["reason": "inquiry_queued"]])
    }

    @Test(arguments: [#""0""#, #""1""#, "2", #""3""#, "4", #""5""#])
    func noReportedStatusMovesTheTransaction(txStatus: String) async throws {
        let server = try TestServer()
        try await server.addRetailer()
        try await server.makeApp().test(.router) { client in
            try await approveWithdrawal(client)
            try await postCallback(client, ekoResponseBody(txStatus: txStatus))
        }
        let code = txStatus.replacingOccurrences(of: "\"", with: "")
        #expect(try await server.rows("SELECT state, reported_tx_status FROM aeps_transaction") == [
            ["state": "approved", "reported_tx_status": code]
        ])
        #expect(try await server.rows("SELECT COUNT(*) AS n FROM settlement") == [["n": "0"]])
    }

    @Test func theSameResponseTwiceChangesNothingTheSecondTime() async throws {
        let server = try TestServer()
        try await server.addRetailer()
        let events = server.settlementEvents.subscribe()
        try await server.makeApp().test(.router) { client in
            try await approveWithdrawal(client)
            try await postCallback(client, ekoResponseBody())
            _ = await events.next()
            let afterFirst = try await server.rows("SELECT * FROM aeps_transaction")
            let again = try await postCallback(client, ekoResponseBody())
            #expect(again.status == .ok)
            #expect(again.json["status"] == .string("received"))
            let afterSecond = try await server.rows("SELECT * FROM aeps_transaction")
            #expect(afterSecond == afterFirst)
        }
        #expect(try await server.rows("SELECT COUNT(*) AS n FROM eko_response") == [["n": "1"]])
        let reasons = try await server.rows("SELECT reason FROM callback_log WHERE action = 'eko-response' ORDER BY id")
        #expect(reasons == [["reason": "inquiry_queued"], ["reason": "duplicate"]])
    }

    @Test func theLatestReportIsTheClaimOnRecordAndEachAsksEko() async throws {
        let server = try TestServer()
        try await server.addRetailer()
        try await server.makeApp().test(.router) { client in
            try await approveWithdrawal(client)
            try await postCallback(client, ekoResponseBody(txStatus: #""1""#))
            try await postCallback(client, ekoResponseBody(txStatus: #""0""#))
            try await postCallback(client, ekoResponseBody(txStatus: #""2""#))
        }
        #expect(try await server.rows("SELECT state, reported_tx_status FROM aeps_transaction") == [
            ["state": "approved", "reported_tx_status": "2"]
        ])
        let reasons = try await server.rows("SELECT reason FROM callback_log WHERE action = 'eko-response' ORDER BY id")
        #expect(reasons == [["reason": "inquiry_queued"], ["reason": "inquiry_queued"], ["reason": "inquiry_queued"]])
    }

    @Test func anUnknownClientRefIDIsRecordedAnsweredAndMarked() async throws {
        let server = try TestServer()
        try await server.makeApp().test(.router) { client in
            let answer = try await postCallback(client, ekoResponseBody(clientRefID: "NEVER-SEEN"))
            #expect(answer.status == .ok)
            #expect(answer.json["client_ref_id"] == .string("NEVER-SEEN"))
        }
        #expect(try await server.rows("SELECT client_ref_id, matched, tx_status FROM eko_response") == [
            ["client_ref_id": "NEVER-SEEN", "matched": "0", "tx_status": "0"]
        ])
        #expect(try await server.rows("SELECT outcome, reason FROM callback_log") == [
            ["outcome": "received", "reason": "unknown_client_ref_id"]
        ])
        #expect(try await server.rows("SELECT COUNT(*) AS n FROM aeps_transaction") == [["n": "0"]])
    }

    @Test func aResultForARefusedHookChangesNothingAndIsFlagged() async throws {
        let server = try TestServer()
        try await server.addRetailer()
        try await server.database.setServicePaused(true, now: pinnedNow)
        try await server.makeApp().test(.router) { client in
            let refused = try await postCallback(client, debitHookBody())  // the kill switch is on
            #expect(refused.json["allow"] == .bool(false))
            try await postCallback(client, ekoResponseBody())
        }
        #expect(try await server.rows("SELECT state FROM aeps_transaction") == [["state": "refused"]])
        let reasons = try await server.rows("SELECT reason FROM callback_log WHERE action = 'eko-response'")
        #expect(reasons == [["reason": "response_for_refused_hook"]])
    }

    @Test func aResponseWithoutClientRefIDOrWithAnUnknownStatusIsStillAcknowledged() async throws {
        let server = try TestServer()
        try await server.addRetailer()
        try await server.makeApp().test(.router) { client in
            try await approveWithdrawal(client)
            let noID = try await postCallback(client, #"{"action": "eko-response", "detail": {"response": {}}}"#)
            #expect(noID.status == .ok)
            #expect(noID.json["client_ref_id"] == .null)
            let odd = try await postCallback(client, ekoResponseBody(txStatus: #""9""#))
            #expect(odd.status == .ok)
        }
        #expect(try await server.rows("SELECT state FROM aeps_transaction") == [["state": "approved"]])
        let reasons = try await server.rows("SELECT reason FROM callback_log WHERE action = 'eko-response' ORDER BY id")
        #expect(reasons == [["reason": "missing_client_ref_id"], ["reason": "unknown_tx_status"]])
    }
}
