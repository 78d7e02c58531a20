import AEPSServer
import EkoSigning
import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Testing

/// Money follows Eko's own Transaction Inquiry (a fake Eko API on loopback), exactly once, whatever the browser
/// posts. Through HTTP against the real SQLite file; the app's sweeper runs inside each `app.test` and the tests
/// wait on its events.
@Suite(.timeLimit(.minutes(1))) struct SettlementTests {
    static let ref = "client_ref_id:AEPS1700000000123"
    static let id = "AEPS1700000000123"

    /// Approves a ₹500 withdrawal, posts `report`, and waits for the sweeper's answer to it.
    @discardableResult
    func approveAndReport(
        _ bed: EkoTestBed, _ client: some TestClientProtocol, _ events: AsyncStream<SettlementEvents.Verified>,
        report: String = ekoResponseBody()
    ) async throws -> SettlementStep? {
        let approval = try await postCallback(client, debitHookBody())
        #expect(approval.json["allow"] == .bool(true))
        _ = try await postCallback(client, report)
        return await events.next()?.step
    }

    @Test func aReportedSuccessSettlesOnceAfterEkoConfirms() async throws {
        let bed = try await EkoTestBed.start()
        bed.fake.script(Self.ref, .json(200, FakeEko.inquiry(txStatus: 0)))
        let events = bed.events()
        try await bed.app().test(.router) { client in
            let step = try await approveAndReport(bed, client, events)
            #expect(step?.outcome == .settled)
            _ = try await postCallback(client, ekoResponseBody())  // the same report again: a duplicate
        }
        #expect(await bed.settler.verify(clientRefID: Self.id)?.outcome == .unchanged)
        try await bed.server.database.createAPIKey(name: "portal", keyHash: SecretToken.hash("aeps_k"), now: pinnedNow)
        try await bed.app().test(.router) { client in
            try await client.execute(
                uri: "/api/v1/transactions/\(Self.id)", method: .get, headers: [.authorization: "Bearer aeps_k"]
            ) { response in
                let json = try JSONValue.parse(String(buffer: response.body))
                #expect(json["state"] == .string("settled"))
                #expect(json["flag"] == .null)
                #expect(json["settlements"]?.serialized().contains(#""kind":"settlement","amount_paise":50000"#) == true)
                #expect(json["settlements"]?.serialized().contains(#""verified_by":"inquiry""#) == true)
            }
        }
        try await bed.stop()
        #expect(try await bed.ledger() == [[
            "kind": "settlement", "amount_paise": "50000", "commission_paise": "150", "tds_paise": "8", "verified_by": "inquiry",
        ]])
        #expect(try await bed.server.database.retailerBalance(userCode: "20810200") == 50_000)
        #expect(try await bed.flag() == ["flag_reason": nil, "flag_claimed": nil, "flag_eko": nil])
    }

    /// Review sequence (a): anyone can post `tx_status:4` for an approved withdrawal. It cancels nothing: Eko says
    /// success with the approved amount, so the retailer (who paid cash) is settled, and the forged report is
    /// flagged with both values for a person to see. Settle and flag: Eko's word decides the money, the flag
    /// records the disagreement.
    @Test func aForgedRefundReportForAnApprovedWithdrawalSettlesOnEkosWordAndIsFlagged() async throws {
        let bed = try await EkoTestBed.start()
        bed.fake.script(Self.ref, .json(200, FakeEko.inquiry(txStatus: 0)))
        let events = bed.events()
        try await bed.app().test(.router) { client in
            let answer = try await postCallback(client, debitHookBody())
            #expect(answer.json["allow"] == .bool(true))
            let forged = try await postCallback(client, ekoResponseBody(txStatus: "4"), headers: gatewayHeaders(origin: nil))
            #expect(forged.status == .ok)
            let step = await events.next()?.step
            #expect(step?.outcome == .settled)
        }
        try await bed.stop()
        #expect(try await bed.state() == "settled")
        #expect(try await bed.ledger().map { $0["kind"] ?? nil } == ["settlement"])
        #expect(try await bed.flag() == [
            "flag_reason": "report_disagrees", "flag_claimed": "report tx_status 4 (refunded) ₹500.00",
            "flag_eko": "tx_status 0 (success) ₹500.00",
        ])
        let reasons = try await bed.server.rows("SELECT reason FROM callback_log WHERE action = 'eko-response'")
        #expect(reasons == [["reason": "inquiry_queued"]])
    }

    /// Review sequence (b): `tx_status:4` posted for a settled withdrawal changes nothing by itself and writes no
    /// row; it queues an inquiry (spaced from the last one), and Eko's answer decides: still success, so the
    /// report is flagged.
    @Test func aRefundReportForASettledOneOnlyQueuesAnInquiry() async throws {
        let bed = try await EkoTestBed.start()
        bed.fake.script(Self.ref, .json(200, FakeEko.inquiry(txStatus: 0)))
        let events = bed.events()
        try await bed.app().test(.router) { client in
            let step = try await approveAndReport(bed, client, events)
            #expect(step?.outcome == .settled)
            let forged = try await postCallback(client, ekoResponseBody(txStatus: "4"))
            #expect(forged.status == .ok)
        }
        #expect(try await bed.state() == "settled")
        #expect(try await bed.ledger().map { $0["kind"] ?? nil } == ["settlement"])
        let queued = try await bed.server.rows("SELECT next_inquiry_at, reported_tx_status FROM aeps_transaction")
        #expect(queued == [["next_inquiry_at": "2023-11-14 22:13:35.000", "reported_tx_status": "4"]])  // now + 15 s
        let reasons = try await bed.server.rows("SELECT reason FROM callback_log WHERE action = 'eko-response' ORDER BY id")
        #expect(reasons == [["reason": "inquiry_queued"], ["reason": "inquiry_queued"]])
        #expect(bed.fake.calls.count == 1)

        bed.clock.advance(seconds: 15)
        #expect(await bed.sweeper.sweepOnce() == 1)
        try await bed.stop()
        #expect(bed.fake.calls.count == 2)
        #expect(try await bed.state() == "settled")
        #expect(try await bed.ledger().map { $0["kind"] ?? nil } == ["settlement"])
        #expect(try await bed.flag()?["flag_reason"] == "report_disagrees")
        #expect(try await bed.server.database.retailerBalance(userCode: "20810200") == 50_000)
    }

    /// Review sequence (c): a settled withdrawal that Eko later refunds gets one reversal row and a flag.
    @Test func aRefundAtEkoAfterSettlementAddsAReversalAndAFlag() async throws {
        let bed = try await EkoTestBed.start()
        bed.fake.script(Self.ref, .json(200, FakeEko.inquiry(txStatus: 0)), .json(200, FakeEko.inquiry(txStatus: 4)))
        let events = bed.events()
        try await bed.app().test(.router) { client in
            let step = try await approveAndReport(bed, client, events)
            #expect(step?.outcome == .settled)
        }
        bed.clock.advance(seconds: 3600)  // a recheck is due
        #expect(await bed.sweeper.sweepOnce() == 1)
        #expect(await bed.settler.verify(clientRefID: Self.id)?.outcome == .unchanged)
        try await bed.stop()
        #expect(try await bed.ledger().map { $0["kind"] ?? nil } == ["settlement", "reversal"])
        #expect(try await bed.state() == "refunded")
        #expect(try await bed.flag() == [
            "flag_reason": "refunded_after_settlement", "flag_claimed": "settled ₹500.00", "flag_eko": "tx_status 4 (refunded) ₹500.00",
        ])
        #expect(try await bed.server.database.retailerBalance(userCode: "20810200") == 0)
    }

    /// Review sequence (c): a settled withdrawal that Eko later says failed gets a reversal row and needs a person.
    @Test func aFailureAtEkoAfterSettlementAddsAReversalAndNeedsAttention() async throws {
        let bed = try await EkoTestBed.start()
        bed.fake.script(Self.ref, .json(200, FakeEko.inquiry(txStatus: 0)), .json(200, FakeEko.inquiry(txStatus: 1)))
        let events = bed.events()
        try await bed.app().test(.router) { client in
            let step = try await approveAndReport(bed, client, events)
            #expect(step?.outcome == .settled)
        }
        bed.clock.advance(seconds: 3600)
        #expect(await bed.sweeper.sweepOnce() == 1)
        #expect(await bed.sweeper.sweepOnce() == 0)  // a person's now: not asked again
        try await bed.stop()
        #expect(try await bed.ledger().map { $0["kind"] ?? nil } == ["settlement", "reversal"])
        #expect(try await bed.state() == "needs_attention")
        #expect(try await bed.flag()?["flag_reason"] == "failed_after_settlement")
        #expect(try await bed.server.database.retailerBalance(userCode: "20810200") == 0)
    }

    /// Review sequence (e): with verification on, no report writes a settlement row, whatever it says, when Eko
    /// cannot confirm it.
    @Test(arguments: ["0", "1", "2", "3", "4", "5"])
    func aReportAloneNeverWritesMoney(_ txStatus: String) async throws {
        let closed = try freeLoopbackPort()
        let bed = try await EkoTestBed.start(apiBase: "http://127.0.0.1:\(closed)/ekoapi/v1", readTimeoutMs: 300)
        let events = bed.events()
        try await bed.app().test(.router) { client in
            let step = try await approveAndReport(bed, client, events, report: ekoResponseBody(txStatus: txStatus))
            #expect(step?.outcome == .noAnswer)
        }
        try await bed.stop()
        #expect(try await bed.state() == "approved")
        #expect(try await bed.ledger().isEmpty)
        #expect(try await bed.flag() == ["flag_reason": nil, "flag_claimed": nil, "flag_eko": nil])
        // Still in the queue: asked again after the backoff.
        let queue = try await bed.server.rows("SELECT next_inquiry_at, inquiry_attempts FROM aeps_transaction")
        #expect(queue == [["next_inquiry_at": "2023-11-14 22:13:50.000", "inquiry_attempts": "1"]])
    }

    @Test func aFailureAtEkoFailsWithoutMoneyAndClosesAfterTheRecheckWindow() async throws {
        let bed = try await EkoTestBed.start(settlement: #""recheck_settled_days": 1"#)
        bed.fake.script(Self.ref, .json(200, FakeEko.inquiry(txStatus: 1)))
        let events = bed.events()
        try await bed.app().test(.router) { client in
            let step = try await approveAndReport(bed, client, events, report: ekoResponseBody(txStatus: "1"))
            #expect(step?.state == .failed)
        }
        bed.clock.advance(seconds: 86_400)
        #expect(await bed.sweeper.sweepOnce() == 1)
        try await bed.stop()
        #expect(try await bed.state() == "closed")
        #expect(try await bed.ledger().isEmpty)
    }

    @Test func pendingThenSuccessSettlesOnTheLaterInquiry() async throws {
        let bed = try await EkoTestBed.start()
        bed.fake.script(Self.ref, .json(200, FakeEko.inquiry(txStatus: 2)), .json(200, FakeEko.inquiry(txStatus: 0)))
        let events = bed.events()
        try await bed.app().test(.router) { client in
            let step = try await approveAndReport(bed, client, events, report: ekoResponseBody(txStatus: "2"))
            #expect(step?.state == .pending)
        }
        bed.clock.advance(seconds: 30)
        #expect(await bed.sweeper.sweepOnce() == 1)
        try await bed.stop()
        #expect(try await bed.state() == "settled")
        #expect(try await bed.ledger().count == 1)
    }

    @Test func holdThenRefundedEndsWithoutMoney() async throws {
        let bed = try await EkoTestBed.start()
        bed.fake.script(Self.ref, .json(200, FakeEko.inquiry(txStatus: 5)), .json(200, FakeEko.inquiry(txStatus: 4)))
        let events = bed.events()
        try await bed.app().test(.router) { client in
            let step = try await approveAndReport(bed, client, events, report: ekoResponseBody(txStatus: "5"))
            #expect(step?.state == .hold)
        }
        bed.clock.advance(seconds: 30)
        #expect(await bed.sweeper.sweepOnce() == 1)
        try await bed.stop()
        #expect(try await bed.state() == "refunded")
        #expect(try await bed.ledger().isEmpty)
    }

    @Test func anAmountThatDisagreesNeedsAttentionWithBothValuesAndIsNeverSettled() async throws {
        let bed = try await EkoTestBed.start()
        bed.fake.script(Self.ref, .json(200, FakeEko.inquiry(txStatus: 0, amount: "5000.00")))
        let events = bed.events()
        try await bed.app().test(.router) { client in
            let step = try await approveAndReport(bed, client, events)
            #expect(step?.outcome == .needsAttention)
        }
        #expect(await bed.settler.verify(clientRefID: Self.id)?.outcome == .unchanged)
        try await bed.stop()
        #expect(try await bed.state() == "needs_attention")
        #expect(try await bed.flag() == [
            "flag_reason": "amount_disagrees", "flag_claimed": "approved ₹500.00", "flag_eko": "tx_status 0 (success) ₹5000.00",
        ])
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
        let events = bed.events()
        try await bed.app().test(.router) { client in
            let step = try await approveAndReport(bed, client, events)
            #expect(step?.outcome == .noAnswer)
        }
        try await bed.stop()
        #expect(try await bed.state() == "approved")  // reported, still waiting for Eko's word
        #expect(try await bed.ledger().isEmpty)
    }

    /// A flood of reports (identical ones and different ones) for one withdrawal settles it once, and does not
    /// turn into a flood of calls to Eko: reports are spaced from the last inquiry.
    @Test func twoHundredConcurrentReportsMakeExactlyOneSettlementAndFewInquiries() async throws {
        let bed = try await EkoTestBed.start()
        bed.fake.script(Self.ref, .json(200, FakeEko.inquiry(txStatus: 0)))
        let events = bed.events()
        try await bed.app().test(.live) { client in
            _ = try await postCallback(client, debitHookBody())
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<200 {
                    let aadhaar = index.isMultiple(of: 2) ? "XXXX XXXX 1234" : "XXXX XXXX \(String(format: "%04d", index))"
                    group.addTask { _ = try await postCallback(client, ekoResponseBody(aadhaar: aadhaar)) }
                }
                try await group.waitForAll()
            }
            _ = await events.first { $0.step?.outcome == .settled }
            // Verifications racing each other still write one row.
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<20 { group.addTask { await bed.settler.verify(clientRefID: Self.id) } }
            }
        }
        try await bed.stop()
        #expect(try await bed.ledger().count == 1)
        #expect(bed.fake.calls.count - 20 <= 3)
    }

    @Test func aBalanceEnquiryNeverSettles() async throws {
        let bed = try await EkoTestBed.start()
        bed.fake.script(Self.ref, .json(200, FakeEko.inquiry(txStatus: 0)))
        let events = bed.events()
        try await bed.app().test(.router) { client in
            _ = try await postCallback(client, debitHookBody(type: #""3""#, amount: nil, params: ["customer_id", "user_code"]))
            _ = try await postCallback(client, ekoResponseBody())
            #expect(await events.next()?.step?.state == .closed)
        }
        try await bed.stop()
        #expect(try await bed.state() == "closed")
        #expect(try await bed.ledger().isEmpty)
    }

    @Test func withVerificationOffTheReportSettlesMarkedUnverified() async throws {
        let bed = try await EkoTestBed.start(verify: false)
        try await bed.app().test(.router) { client in
            _ = try await postCallback(client, debitHookBody())
            _ = try await postCallback(client, ekoResponseBody())
        }
        #expect(await bed.sweeper.sweepOnce() == 0)
        try await bed.stop()
        #expect(bed.fake.calls.isEmpty)
        #expect(try await bed.state() == "settled")
        #expect(try await bed.ledger().map { $0["verified_by"] ?? nil } == ["eko_response_unverified"])
        let answer = try await bed.server.rows("SELECT eko_tx_status, eko_answer_source FROM aeps_transaction")
        #expect(answer == [["eko_tx_status": "0", "eko_answer_source": "eko_response_unverified"]])
        let reasons = try await bed.server.rows("SELECT reason FROM callback_log WHERE action = 'eko-response'")
        #expect(reasons == [["reason": "applied_unverified"]])
    }

    /// Before 2026-11-26 a browser report moved the state. The migration puts back what no Eko answer confirmed
    /// (and no reversal), queues it for Eko, and gives settled ones their recheck window.
    @Test func theMigrationUndoesStatesOnlyAReportHadSet() async throws {
        let directory = try TemporaryDirectory()
        let database = try AppDatabase.open(path: directory.path("old.sqlite"))
        try database.migrate(upTo: "2026-11-25-settlement")
        try await database.writerForTests { db in
            func transaction(_ id: String, _ state: String) throws {
                try db.execute(sql: """
                    INSERT INTO aeps_transaction (client_ref_id, type, amount_paise, request_fingerprint, decision, reason,
                      state, reported_tx_status, decided_at, reported_at, created_at, updated_at)
                    VALUES (?, 2, 50000, 'f', 'approved', 'approved', ?, 4, '2026-11-25 05:00:00.000',
                      '2026-11-25 05:01:00.000', '2026-11-25 05:00:00.000', '2026-11-25 05:01:00.000')
                    """, arguments: [id, state])
            }
            func settlement(_ id: String, _ kind: String) throws {
                try db.execute(sql: """
                    INSERT INTO settlement (kind, client_ref_id, amount_paise, verified_by, created_at)
                    VALUES (?, ?, 50000, 'inquiry', '2026-11-25 05:00:30.000')
                    """, arguments: [kind, id])
            }
            func ekoSaid(_ id: String, _ txStatus: Int) throws {
                try db.execute(sql: """
                    INSERT INTO eko_call (called_at, operation, reference, attempt, http_status, eko_status, tx_status, outcome,
                      latency_ms)
                    VALUES ('2026-11-25 05:00:40.000', 'transaction_inquiry', ?, 1, 200, 0, ?, 'answered', 5)
                    """, arguments: [id, txStatus])
            }
            try transaction("FORGED", "refunded")
            try transaction("FORGED-ON-SETTLED", "refunded")
            try settlement("FORGED-ON-SETTLED", "settlement")
            try transaction("EKO-REFUNDED", "refunded")
            try ekoSaid("EKO-REFUNDED", 4)
            try transaction("REVERSED", "refunded")
            try settlement("REVERSED", "settlement")
            try settlement("REVERSED", "reversal")
            try transaction("REPORTED-SUCCESS", "success")
            try transaction("SETTLED", "settled")
            try settlement("SETTLED", "settlement")
            try transaction("EKO-PENDING", "pending")
            try ekoSaid("EKO-PENDING", 2)
        }
        #expect(try database.migrate().contains("2026-11-26-settlement-rules"))
        let rows = try await database.reader.read { db in
            try Row.fetchAll(db, sql: "SELECT client_ref_id, state, next_inquiry_at, recheck_until FROM aeps_transaction ORDER BY id")
                .map { row -> [String?] in
                    [row["client_ref_id"], row["state"], row["next_inquiry_at"], row["recheck_until"]]
                }
        }
        #expect(rows == [
            ["FORGED", "approved", "2026-11-25 05:01:00.000", nil],
            ["FORGED-ON-SETTLED", "settled", "2026-11-25 05:01:00.000", "2026-11-28 05:00:30.000"],
            ["EKO-REFUNDED", "refunded", nil, nil],
            ["REVERSED", "refunded", nil, nil],
            ["REPORTED-SUCCESS", "approved", "2026-11-25 05:01:00.000", nil],
            ["SETTLED", "settled", "2026-11-25 05:01:00.000", "2026-11-28 05:00:30.000"],
            ["EKO-PENDING", "pending", "2026-11-25 05:01:00.000", nil],
        ])
    }
}
