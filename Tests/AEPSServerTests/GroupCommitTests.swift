@testable import AEPSServer
import EkoSigning
import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Testing

/// Group commit: hooks that find the writer busy are decided together in one transaction with one synced commit.
/// The invariants of one-by-one decisions hold: caps exact under concurrency, a failed transaction records and
/// approves none of its batch, and a lone hook does not wait for company.
@Suite struct GroupCommitTests {
    /// 200 hooks at once for one customer and one retailer: exactly the cap's number are approved, and they were
    /// decided in batches (more than one hook per commit).
    @Test func capsHoldExactlyUnderTwoHundredConcurrentHooks() async throws {
        let server = try TestServer(overrides: [
            "policy": #"{"max_transactions_per_session": 1000, "retailer_daily_count_cap": 7}"#,
        ])
        try await server.addRetailer()
        try await server.makeApp().test(.router) { client in
            // One customer: the per-customer daily cap (5) is what binds.
            let sameCustomer = try await withThrowingTaskGroup(of: Bool.self) { group in
                for n in 0..<200 {
                    group.addTask {
                        try await postCallback(client, debitHookBody(clientRefID: "ONE\(n)")).json["allow"] == .bool(true)
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(sameCustomer == 5)
            // Distinct customers: the retailer's daily count cap (7) binds, counting the 5 above.
            let distinct = try await withThrowingTaskGroup(of: Bool.self) { group in
                for n in 0..<200 {
                    let mobile = String(9_000_000_000 + n)
                    group.addTask {
                        try await postCallback(
                            client, debitHookBody(clientRefID: "MANY\(n)", customerID: "\"\(mobile)\"")
                        ).json["allow"] == .bool(true)
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(distinct == 2)
        }
        #expect(try await server.rows("SELECT COUNT(*) AS n FROM aeps_transaction WHERE decision = 'approved'") == [["n": "7"]])
        #expect(try await server.rows("SELECT COUNT(*) AS n FROM aeps_transaction") == [["n": "400"]])
        let sizes = await server.database.decisionBatchSizes()
        #expect(sizes.reduce(0, +) == 400)
        #expect((sizes.max() ?? 0) > 1, "no two hooks shared a commit: \(sizes)")
        #expect(sizes.allSatisfy { $0 <= DecisionQueue.maxBatch })
    }

    func request(_ clientRefID: String, mobile: String = "9876543210") throws -> DecisionRequest {
        let body = try JSONValue.parse(debitHookBody(clientRefID: clientRefID, customerID: "\"\(mobile)\""))
        let hook = try DebitHook(detail: try #require(body["detail"]?.objectValue))
        return DecisionRequest(
            hook: hook, sessionToken: defaultGatewayToken, policy: DebitHookPolicy(), now: pinnedNow,
            log: CallbackLogEntry(receivedAt: pinnedNow, requestId: clientRefID, action: "debit-hook", clientRefId: clientRefID),
            latency: { 1 }
        )
    }

    /// The writer's transaction fails at its commit (a deferred constraint broken by the second hook's insert):
    /// every hook of the batch gets the error (the callback answers each with a refusal) and none is recorded.
    @Test func aBatchWhoseTransactionFailsRecordsAndApprovesNone() async throws {
        let server = try TestServer()
        try await server.addRetailer()
        try await server.database.writer.write { db in
            try db.execute(sql: """
                CREATE TABLE crash_probe (retailer_id INTEGER REFERENCES retailer(id) DEFERRABLE INITIALLY DEFERRED);
                CREATE TRIGGER crash_at_commit AFTER INSERT ON aeps_transaction WHEN NEW.client_ref_id = 'CRASH'
                BEGIN INSERT INTO crash_probe VALUES (999999); END;
                """)
        }
        let batch = [
            try request("B1", mobile: "9000000001"), try request("CRASH", mobile: "9000000002"),
            try request("B3", mobile: "9000000003"),
        ]
        await #expect(throws: (any Error).self) { _ = try await server.database.decideBatch(batch) }
        #expect(try await server.rows("SELECT COUNT(*) AS n FROM aeps_transaction") == [["n": "0"]])
        #expect(try await server.rows("SELECT COUNT(*) AS n FROM approval_counter") == [["n": "0"]])
        #expect(try await server.rows("SELECT COUNT(*) AS n FROM callback_log") == [["n": "0"]])
    }

    /// One hook whose own statements fail is rolled back alone (its savepoint); the others of its batch are decided
    /// and recorded, so a hostile hook cannot take its neighbours down with it.
    @Test func oneFailingHookDoesNotTakeItsBatchWithIt() async throws {
        let server = try TestServer()
        try await server.addRetailer()
        try await server.database.writer.write { db in
            try db.execute(sql: """
                CREATE TRIGGER refuse_one BEFORE INSERT ON aeps_transaction WHEN NEW.client_ref_id = 'BAD'
                BEGIN SELECT RAISE(ABORT, 'probe'); END;
                """)
        }
        let results = try await server.database.decideBatch([
            try request("G1", mobile: "9000000001"), try request("BAD", mobile: "9000000002"),
            try request("G3", mobile: "9000000003"),
        ])
        #expect(results.map { (try? $0.get())?.decision.isApproved } == [true, nil, true])
        #expect(try await server.rows("SELECT client_ref_id FROM aeps_transaction ORDER BY id") == [
            ["client_ref_id": "G1"], ["client_ref_id": "G3"],
        ])
        // The counters hold the two approvals only: nothing of the failed hook's savepoint remains.
        #expect(try await server.rows("SELECT approvals FROM approval_counter WHERE scope = 'session'") == [["approvals": "2"]])
    }

    /// A lone hook is decided in a batch of its own, at once: within a 100 ms budget it is approved (a hook made to
    /// wait for company would be refused as storage_timeout).
    @Test func aLoneHookDoesNotWaitForCompany() async throws {
        let server = try TestServer(overrides: ["policy": #"{"decision_budget_ms": 100}"#])
        try await server.addRetailer()
        try await server.makeApp().test(.router) { client in
            let answer = try await postCallback(client, debitHookBody(clientRefID: "LONE"))
            #expect(answer.json["allow"] == .bool(true))
        }
        #expect(await server.database.decisionBatchSizes() == [1])
    }
}
