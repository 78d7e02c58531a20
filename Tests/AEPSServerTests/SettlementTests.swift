import AEPSServer
import AsyncHTTPClient
import EkoSigning
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// Money follows Eko's own Transaction Inquiry (a fake Eko API on loopback), exactly once.
@Suite struct SettlementTests {
    static let ref = "client_ref_id:AEPS1700000000123"

    @Test func aReportedSuccessSettlesOnceAfterEkoConfirms() async throws {
        let bed = try await EkoTestBed.start()
        bed.fake.script(Self.ref, .json(200, FakeEko.inquiry(txStatus: 0)))
        try await bed.app().test(.router) { client in
            _ = try await postCallback(client, debitHookBody())
            _ = try await postCallback(client, ekoResponseBody())
            try await bed.waitFor(state: "settled")
            _ = try await postCallback(client, ekoResponseBody())  // the same report again
        }
        #expect(await bed.settler.verify(clientRefID: "AEPS1700000000123") == .unchanged)
        try await bed.server.database.createAPIKey(name: "portal", keyHash: SecretToken.hash("aeps_k"), now: pinnedNow)
        try await bed.app().test(.router) { client in
            try await client.execute(
                uri: "/api/v1/transactions/AEPS1700000000123", method: .get, headers: [.authorization: "Bearer aeps_k"]
            ) { response in
                let json = try JSONValue.parse(String(buffer: response.body))
                #expect(json["state"] == .string("settled"))
                #expect(json["settlements"]?.serialized().contains(#""kind":"settlement","amount_paise":50000"#) == true)
                #expect(json["settlements"]?.serialized().contains(#""verified_by":"inquiry""#) == true)
            }
        }
        try await bed.stop()
        #expect(try await bed.ledger() == [[
            "kind": "settlement", "amount_paise": "50000", "commission_paise": "150", "tds_paise": "8", "verified_by": "inquiry",
        ]])
        #expect(try await bed.server.database.retailerBalance(userCode: "20810200") == 50_000)
    }

    @Test func aFailureClosesWithoutMoney() async throws {
        let bed = try await EkoTestBed.start()
        bed.fake.script(Self.ref, .json(200, FakeEko.inquiry(txStatus: 1)))
        try await bed.app().test(.router) { client in
            _ = try await postCallback(client, debitHookBody())
            _ = try await postCallback(client, ekoResponseBody(txStatus: "1"))
            try await bed.waitFor(state: "closed")
        }
        try await bed.stop()
        #expect(try await bed.ledger().isEmpty)
    }

    @Test func pendingThenSuccessSettlesOnTheLaterInquiry() async throws {
        let bed = try await EkoTestBed.start()
        bed.fake.script(Self.ref, .json(200, FakeEko.inquiry(txStatus: 2)), .json(200, FakeEko.inquiry(txStatus: 0)))
        try await bed.app().test(.router) { client in
            _ = try await postCallback(client, debitHookBody())
            _ = try await postCallback(client, ekoResponseBody(txStatus: "2"))
            try await bed.waitFor(state: "pending")
            try await bed.waitFor(calls: 1)
        }
        #expect(await bed.settler.verify(clientRefID: "AEPS1700000000123") == .settled)
        try await bed.stop()
        #expect(try await bed.ledger().count == 1)
    }

    @Test func holdThenRefundedEndsWithoutMoney() async throws {
        let bed = try await EkoTestBed.start()
        bed.fake.script(Self.ref, .json(200, FakeEko.inquiry(txStatus: 5)), .json(200, FakeEko.inquiry(txStatus: 4)))
        try await bed.app().test(.router) { client in
            _ = try await postCallback(client, debitHookBody())
            _ = try await postCallback(client, ekoResponseBody(txStatus: "5"))
            try await bed.waitFor(state: "hold")
            try await bed.waitFor(calls: 1)
        }
        #expect(await bed.settler.verify(clientRefID: "AEPS1700000000123") == .closed)
        try await bed.stop()
        #expect(try await bed.state() == "refunded")
        #expect(try await bed.ledger().isEmpty)
    }

    @Test func anAmountThatDisagreesNeedsAttentionAndIsNeverSettled() async throws {
        let bed = try await EkoTestBed.start()
        bed.fake.script(Self.ref, .json(200, FakeEko.inquiry(txStatus: 0, amount: "5000.00")))
        try await bed.app().test(.router) { client in
            _ = try await postCallback(client, debitHookBody())
            _ = try await postCallback(client, ekoResponseBody())
            try await bed.waitFor(state: "needs_attention")
        }
        #expect(await bed.settler.verify(clientRefID: "AEPS1700000000123") == .unchanged)
        try await bed.stop()
        #expect(try await bed.ledger().isEmpty)
    }

    @Test(arguments: ["down", "slow", "forbidden", "malformed"])
    func withoutAUsableAnswerNothingIsSettled(_ failure: String) async throws {
        let closed = try freeLoopbackPort()
        let bed = try await EkoTestBed.start(apiBase: failure == "down" ? "http://127.0.0.1:\(closed)/ekoapi/v1" : nil, readTimeoutMs: 300)
        switch failure {
        case "slow": bed.fake.script(Self.ref, .slow(.seconds(3), FakeEko.inquiry(txStatus: 0)))
        case "forbidden": bed.fake.script(Self.ref, .json(403, #"{"message": "Forbidden"}"#))
        case "malformed": bed.fake.script(Self.ref, .body("<html>maintenance</html>"))
        default: break
        }
        try await bed.app().test(.router) { client in
            _ = try await postCallback(client, debitHookBody())
            _ = try await postCallback(client, ekoResponseBody())
        }
        #expect(await bed.settler.verify(clientRefID: "AEPS1700000000123") == nil)
        try await bed.stop()
        #expect(try await bed.state() == "success")  // reported, still waiting for Eko's word
        #expect(try await bed.ledger().isEmpty)
    }

    @Test func twoHundredConcurrentIdenticalReportsMakeExactlyOneSettlement() async throws {
        let bed = try await EkoTestBed.start()
        bed.fake.script(Self.ref, .json(200, FakeEko.inquiry(txStatus: 0)))
        try await bed.app().test(.live) { client in
            _ = try await postCallback(client, debitHookBody())
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<200 {
                    group.addTask { _ = try await postCallback(client, ekoResponseBody()) }
                }
                try await group.waitForAll()
            }
            try await bed.waitFor(state: "settled")
            // Verifications racing each other still write one row.
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<20 { group.addTask { await bed.settler.verify(clientRefID: "AEPS1700000000123") } }
            }
        }
        try await bed.stop()
        #expect(try await bed.ledger().count == 1)
    }

    @Test func aRefundAfterSettlementAddsAReversalNotAnEdit() async throws {
        let bed = try await EkoTestBed.start()
        bed.fake.script(Self.ref, .json(200, FakeEko.inquiry(txStatus: 0)), .json(200, FakeEko.inquiry(txStatus: 4)))
        try await bed.app().test(.router) { client in
            _ = try await postCallback(client, debitHookBody())
            _ = try await postCallback(client, ekoResponseBody())
            try await bed.waitFor(state: "settled")
        }
        #expect(await bed.settler.verify(clientRefID: "AEPS1700000000123") == .reversed)
        #expect(await bed.settler.verify(clientRefID: "AEPS1700000000123") == .unchanged)
        try await bed.stop()
        #expect(try await bed.ledger().map { $0["kind"] ?? nil } == ["settlement", "reversal"])
        #expect(try await bed.state() == "refunded")
        #expect(try await bed.server.database.retailerBalance(userCode: "20810200") == 0)
    }

    @Test func aBalanceEnquiryNeverSettles() async throws {
        let bed = try await EkoTestBed.start()
        bed.fake.script(Self.ref, .json(200, FakeEko.inquiry(txStatus: 0)))
        try await bed.app().test(.router) { client in
            _ = try await postCallback(client, debitHookBody(type: #""3""#, amount: nil, params: ["customer_id", "user_code"]))
            _ = try await postCallback(client, ekoResponseBody())
            try await bed.waitFor(state: "closed")
        }
        try await bed.stop()
        #expect(try await bed.ledger().isEmpty)
    }

    @Test func withVerificationOffTheReportSettlesMarkedUnverified() async throws {
        let bed = try await EkoTestBed.start(verify: false)
        try await bed.app().test(.router) { client in
            _ = try await postCallback(client, debitHookBody())
            _ = try await postCallback(client, ekoResponseBody())
            try await bed.waitFor(state: "settled")
        }
        try await bed.stop()
        #expect(bed.fake.calls.isEmpty)
        #expect(try await bed.ledger().map { $0["verified_by"] ?? nil } == ["eko_response_unverified"])
    }
}
