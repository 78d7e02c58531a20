import AEPSServer
import EkoSigning
import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Testing

/// The policy through the running callback: counts from the SQLite file, the Indian day, switches, the budget.
@Suite struct PolicyEngineTests {
    /// 2023-11-14 23:59:59 IST and the next second, 2023-11-15 00:00:00 IST (the test process runs in UTC).
    static let lastSecond = Date(timeIntervalSince1970: 1_699_986_599)
    static let midnight = Date(timeIntervalSince1970: 1_699_986_600)

    func withdrawal(_ client: some TestClientProtocol, _ ref: String, amount: String = #""500""#) async throws -> JSONValue {
        try await postCallback(client, debitHookBody(clientRefID: ref, amount: amount)).json
    }

    @Test func theCustomerLimitCountsByTheIndianDay() async throws {
        let server = try TestServer()
        try await server.addRetailer(sessionIssuedAt: Self.lastSecond.addingTimeInterval(-60))
        try await server.makeApp(clock: { Self.lastSecond }).test(.router) { client in
            for index in 1...5 {
                let answer = try await withdrawal(client, "DAY1-\(index)")
                #expect(answer["allow"] == .bool(true))
            }
            let sixth = try await withdrawal(client, "DAY1-6")
            #expect(sixth["allow"] == .bool(false))
            #expect(sixth["message"] == .string(RefusalCode.customerDailyLimit.message))
        }
        try await server.makeApp(clock: { Self.midnight }).test(.router) { client in
            let nextDay = try await withdrawal(client, "DAY2-1")
            #expect(nextDay["allow"] == .bool(true))
        }
        let days = try await server.rows("SELECT ist_day, COUNT(*) AS n FROM aeps_transaction WHERE decision = 'approved' GROUP BY ist_day")
        #expect(days == [["ist_day": "2023-11-14", "n": "5"], ["ist_day": "2023-11-15", "n": "1"]])
    }

    @Test func tenConcurrentWithdrawalsForOneCustomerGetExactlyFiveApprovals() async throws {
        let server = try TestServer()
        try await server.addRetailer()
        let approvals = try await server.makeApp().test(.live) { client in
            try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<10 {
                    group.addTask { try await withdrawal(client, "PAR-\(index)")["allow"] == .bool(true) }
                }
                var approved = 0
                for try await allowed in group where allowed { approved += 1 }
                return approved
            }
        }
        #expect(approvals == 5)
        let stored = try await server.rows("SELECT reason, COUNT(*) AS n FROM aeps_transaction GROUP BY reason ORDER BY reason")
        #expect(stored == [["reason": "approved", "n": "5"], ["reason": "customer_daily_limit", "n": "5"]])
    }

    @Test func aRepeatDoesNotCountTwice() async throws {
        let server = try TestServer()
        try await server.addRetailer()
        try await server.makeApp().test(.router) { client in
            for _ in 0..<4 { _ = try await withdrawal(client, "SAME") }
            for index in 2...5 {
                let answer = try await withdrawal(client, "OTHER-\(index)")
                #expect(answer["allow"] == .bool(true))
            }
            let sixth = try await withdrawal(client, "OTHER-6")
            #expect(sixth["allow"] == .bool(false))
        }
    }

    @Test func killSwitchesTakeEffectWhileServing() async throws {
        let server = try TestServer()
        try await server.addRetailer()
        // A second connection to the same file, as `aeps kill-switch` from another process would be.
        let operatorSide = try AppDatabase.open(path: server.config.databasePath)
        try await server.makeApp().test(.router) { client in
            #expect(try await withdrawal(client, "K1")["allow"] == .bool(true))
            try await operatorSide.setServicePaused(true, now: pinnedNow)
            let paused = try await withdrawal(client, "K2")
            #expect(paused["message"] == .string(RefusalCode.servicePaused.message))
            try await operatorSide.setServicePaused(false, now: pinnedNow)
            #expect(try await withdrawal(client, "K3")["allow"] == .bool(true))
            try await operatorSide.setRetailerPaused(userCode: "20810200", paused: true, now: pinnedNow)
            let retailerPaused = try await withdrawal(client, "K4")
            #expect(retailerPaused["message"] == .string(RefusalCode.retailerPaused.message))
            try await operatorSide.setRetailerPaused(userCode: "20810200", paused: false, now: pinnedNow)
            #expect(try await withdrawal(client, "K5")["allow"] == .bool(true))
        }
    }

    @Test func perRetailerCapsApply() async throws {
        let server = try TestServer()
        try await server.addRetailer()
        try await server.database.setRetailerCaps(userCode: "20810200", dailyCount: nil, dailyAmountPaise: 100_000, now: pinnedNow)
        try await server.makeApp().test(.router) { client in
            #expect(try await withdrawal(client, "C1", amount: #""600""#)["allow"] == .bool(true))
            let over = try await withdrawal(client, "C2", amount: #""450""#)
            #expect(over["message"] == .string(RefusalCode.retailerDailyAmountCap.message))
            #expect(try await withdrawal(client, "C3", amount: #""400""#)["allow"] == .bool(true))
        }
    }

    @Test func refusalsFollowTheSessionsLanguage() async throws {
        let server = try TestServer()
        try await server.addRetailer(language: "hi")
        try await server.makeApp().test(.router) { client in
            let answer = try await withdrawal(client, "HI1", amount: #""99""#)
            #expect(answer["allow"] == .bool(false))
            #expect(answer["message"] == .string(RefusalCode.amountBelowMinimum.message(language: "hi")))
        }
        let stored = try await server.rows("SELECT reason, message FROM aeps_transaction")
        #expect(stored == [["reason": "amount_below_minimum", "message": RefusalCode.amountBelowMinimum.message]])
    }

    @Test func aStalledDatabaseGetsARefusalWithinTheBudgetAndTheReasonIsRecordedAfter() async throws {
        let server = try TestServer(overrides: ["policy": #"{"decision_budget_ms": 300}"#])
        try await server.addRetailer()
        // Another connection holds the write lock until the answer is in: the server's write has to wait behind it
        // (however slowly a loaded machine starts the app).
        let locker = try DatabaseQueue(path: server.config.databasePath)
        let locked = AsyncStream<Void>.makeStream()
        let release = DispatchSemaphore(value: 0)
        let holder = Task {
            try await locker.writeWithoutTransaction { db in
                try db.execute(sql: "BEGIN IMMEDIATE")
                locked.continuation.yield()
                _ = release.wait(timeout: .now() + 30)
                try db.execute(sql: "COMMIT")
            }
        }
        for await _ in locked.stream { break }
        try await server.makeApp().test(.router) { client in
            let answer = try await withdrawal(client, "STALL")
            release.signal()
            #expect(answer["allow"] == .bool(false))
            #expect(answer["message"] == .string(RefusalCode.storageTimeout.message))
            #expect(answer["secret_key"] == nil)
        }
        try await holder.value
        var reason: String?
        for _ in 0..<100 where reason == nil {
            reason = try await server.rows("SELECT reason FROM aeps_transaction WHERE client_ref_id = 'STALL'").first?["reason"] ?? nil
            if reason == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(reason == "storage_timeout")
    }
}
