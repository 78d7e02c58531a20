import AEPSServer
import EkoSigning
import Foundation
import GRDB
import Testing

/// The sweeper drains the inquiry queue: approvals never reported, unresolved ones with backoff, settled ones
/// within the recheck window; it gives up visibly and settles once, across restarts and processes. Driven by hand
/// through the composition root's sweeper, with the bed's clock moved between passes.
@Suite(.timeLimit(.minutes(1))) struct SweeperTests {
    static let ref = "client_ref_id:AEPS1700000000123"

    /// Approves one withdrawal, decided at the pinned time (the app's own sweeper finds nothing due then).
    func approved(_ bed: EkoTestBed) async throws {
        try await bed.app().test(.router) { client in
            let answer = try await postCallback(client, debitHookBody())
            #expect(answer.json["allow"] == .bool(true))
        }
    }

    func sweep(_ bed: EkoTestBed, at seconds: Double) async -> Int {
        bed.clock.set(pinnedNow.addingTimeInterval(seconds))
        return await bed.sweeper.sweepOnce()
    }

    @Test func aTransactionWhoseReportNeverCameIsSettledAfterTheGrace() async throws {
        let bed = try await EkoTestBed.start()
        bed.fake.script(Self.ref, .json(200, FakeEko.inquiry(txStatus: 0)))
        try await approved(bed)
        #expect(await sweep(bed, at: 60) == 0)  // within the grace
        #expect(bed.fake.calls.isEmpty)
        #expect(await sweep(bed, at: 121) == 1)
        #expect(await sweep(bed, at: 140) == 0)  // settled: re-asked later, not at once
        try await bed.stop()
        #expect(try await bed.state() == "settled")
        #expect(try await bed.ledger().count == 1)
    }

    @Test func aPendingOneIsAskedAgainLaterAndGivenUpToAPersonWithWhatWasKnown() async throws {
        let bed = try await EkoTestBed.start()
        bed.fake.script(Self.ref, .json(200, FakeEko.inquiry(txStatus: 2)))
        try await approved(bed)
        #expect(await sweep(bed, at: 121) == 1)
        #expect(try await bed.state() == "pending")
        #expect(await sweep(bed, at: 131) == 0)  // backing off (30 s)
        #expect(await sweep(bed, at: 152) == 1)
        #expect(await sweep(bed, at: 49 * 3600) == 1)
        #expect(await sweep(bed, at: 50 * 3600) == 0)  // a person's now
        try await bed.stop()
        #expect(try await bed.state() == "needs_attention")
        #expect(try await bed.flag() == [
            "flag_reason": "no_final_answer", "flag_claimed": "no report", "flag_eko": "tx_status 2 (pending) ₹500.00",
        ])
        #expect(try await bed.ledger().isEmpty)
        let attempts = try await bed.server.rows("SELECT inquiry_attempts FROM aeps_transaction")
        #expect(attempts == [["inquiry_attempts": "3"]])
    }

    /// Review sequence (d): a settled withdrawal is re-asked, less and less often, until
    /// `settlement.recheck_settled_days` has passed (the last time at the window's end), then never.
    @Test func settledOnesAreReaskedUntilTheRecheckWindowEndsThenNot() async throws {
        let bed = try await EkoTestBed.start(settlement: #""recheck_settled_days": 2"#)
        bed.fake.script(Self.ref, .json(200, FakeEko.inquiry(txStatus: 0)))
        try await approved(bed)
        #expect(await sweep(bed, at: 121) == 1)
        #expect(try await bed.state() == "settled")
        let windowEnd = pinnedNow.addingTimeInterval(121 + 2 * 86_400)
        var askedAt: [Date] = []
        for _ in 0..<40 {
            let next = try await bed.server.query { db in
                try Date.fetchOne(db, sql: "SELECT next_inquiry_at FROM aeps_transaction")
            }
            guard let next else { break }
            bed.clock.set(next)
            #expect(await bed.sweeper.sweepOnce() == 1)
            askedAt.append(next)
        }
        #expect(askedAt.count > 3)
        #expect(askedAt.last == windowEnd)
        #expect(zip(askedAt, askedAt.dropFirst()).allSatisfy { $0 < $1 })
        #expect(askedAt.dropLast().allSatisfy { $0 < windowEnd })
        let calls = bed.fake.calls.count
        #expect(await sweep(bed, at: 10 * 86_400) == 0)
        try await bed.stop()
        #expect(bed.fake.calls.count == calls)
        #expect(try await bed.state() == "settled")
        #expect(try await bed.ledger().count == 1)
    }

    @Test func withoutARecheckWindowASettledOneIsNotAskedAgain() async throws {
        let bed = try await EkoTestBed.start(settlement: #""recheck_settled_days": 0"#)
        bed.fake.script(Self.ref, .json(200, FakeEko.inquiry(txStatus: 0)))
        try await approved(bed)
        #expect(await sweep(bed, at: 121) == 1)
        #expect(await sweep(bed, at: 86_400) == 0)
        try await bed.stop()
        #expect(try await bed.state() == "settled")
        #expect(bed.fake.calls.count == 1)
    }

    @Test func sweepsFromTwoProcessesAtOnceAndARestartMidSweepSettleOnce() async throws {
        let bed = try await EkoTestBed.start()
        bed.fake.script(Self.ref, .slow(.milliseconds(200), FakeEko.inquiry(txStatus: 0)))
        try await approved(bed)
        bed.clock.set(pinnedNow.addingTimeInterval(300))
        // A sweep stopped in the middle (its inquiry under way), as a restart would: what it claimed is held.
        let interrupted = Task { await bed.sweeper.sweepOnce() }
        try await Task.sleep(for: .milliseconds(50))
        interrupted.cancel()
        _ = await interrupted.value
        // Another process, with its own connection to the file, built through the same root.
        var other = bed.dependencies
        other.database = try AppDatabase.open(path: bed.server.config.databasePath)
        let otherSweeper = buildSettlement(config: bed.server.config, dependencies: other).sweeper
        // Once the claim's lease is over, both sweep at once.
        bed.clock.set(pinnedNow.addingTimeInterval(300 + Double(InquirySchedule.claimLeaseSeconds)))
        async let first = bed.sweeper.sweepOnce()
        async let second = otherSweeper.sweepOnce()
        let swept = await (first, second)
        #expect(swept.0 + swept.1 >= 1)
        try await bed.stop()
        #expect(try await bed.state() == "settled")
        #expect(try await bed.ledger().count == 1)
    }

    @Test func aClaimedTransactionIsNotClaimedAgainByAnotherSweeper() async throws {
        let bed = try await EkoTestBed.start()
        try await approved(bed)
        let now = pinnedNow.addingTimeInterval(300)
        let schedule = bed.settlement.schedule
        #expect(try await bed.server.database.claimDueInquiries(now: now, schedule: schedule, limit: 10) == ["AEPS1700000000123"])
        #expect(try await bed.server.database.claimDueInquiries(now: now, schedule: schedule, limit: 10) == [])
        let afterLease = now.addingTimeInterval(Double(InquirySchedule.claimLeaseSeconds))
        #expect(try await bed.server.database.claimDueInquiries(now: afterLease, schedule: schedule, limit: 10) == ["AEPS1700000000123"])
        try await bed.stop()
    }
}
