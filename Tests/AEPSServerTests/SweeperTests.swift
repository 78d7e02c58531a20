import AEPSServer
import AsyncHTTPClient
import EkoSigning
import Foundation
import GRDB
import Testing

/// The sweeper asks Eko about what is left without a final answer, backs off, gives up visibly, settles once.
@Suite struct SweeperTests {
    static let ref = "client_ref_id:AEPS1700000000123"

    /// Approves one withdrawal (decided at the pinned time) and returns a sweeper whose clock is `at`.
    func approved(_ bed: EkoTestBed) async throws {
        try await bed.app().test(.router) { client in
            let answer = try await postCallback(client, debitHookBody())
            #expect(answer.json["allow"] == .bool(true))
        }
    }

    func sweeper(_ bed: EkoTestBed, at now: Date, database: AppDatabase? = nil) -> Sweeper {
        let database = database ?? bed.server.database
        let eko = EkoClient(
            config: bed.server.config, signer: EkoSigner(accessKey: EkoAccessKey(uatAccessKey)!), http: bed.http,
            database: database, logger: bed.server.logs.logger(), backoff: { _ in .milliseconds(5) }
        )
        let settler = Settler(database: database, eko: eko, verifyWithInquiry: true, clock: { now }, logger: bed.server.logs.logger())
        return Sweeper(database: database, settler: settler, config: bed.server.config, clock: { now }, logger: bed.server.logs.logger())
    }

    @Test func aTransactionWhoseReportNeverCameIsSettledAfterTheGrace() async throws {
        let bed = try await EkoTestBed.start()
        bed.fake.script(Self.ref, .json(200, FakeEko.inquiry(txStatus: 0)))
        try await approved(bed)
        #expect(await sweeper(bed, at: pinnedNow.addingTimeInterval(60)).sweepOnce() == 0)  // within the grace
        #expect(bed.fake.calls.isEmpty)
        #expect(await sweeper(bed, at: pinnedNow.addingTimeInterval(121)).sweepOnce() == 1)
        #expect(await sweeper(bed, at: pinnedNow.addingTimeInterval(500)).sweepOnce() == 0)  // final: not asked again
        try await bed.stop()
        #expect(try await bed.state() == "settled")
        #expect(try await bed.ledger().count == 1)
    }

    @Test func aPendingOneIsAskedAgainLaterAndGivenUpToAPerson() async throws {
        let bed = try await EkoTestBed.start()
        bed.fake.script(Self.ref, .json(200, FakeEko.inquiry(txStatus: 2)))
        try await approved(bed)
        let start = pinnedNow.addingTimeInterval(121)
        #expect(await sweeper(bed, at: start).sweepOnce() == 1)
        #expect(try await bed.state() == "pending")
        #expect(await sweeper(bed, at: start.addingTimeInterval(10)).sweepOnce() == 0)  // backing off (30 s)
        #expect(await sweeper(bed, at: start.addingTimeInterval(31)).sweepOnce() == 1)
        #expect(await sweeper(bed, at: pinnedNow.addingTimeInterval(49 * 3600)).sweepOnce() == 1)
        try await bed.stop()
        #expect(try await bed.state() == "needs_attention")
        #expect(try await bed.ledger().isEmpty)
        let attempts = try await bed.server.rows("SELECT inquiry_attempts FROM aeps_transaction")
        #expect(attempts == [["inquiry_attempts": "3"]])
    }

    @Test func sweepsFromTwoProcessesAtOnceAndARestartMidSweepSettleOnce() async throws {
        let bed = try await EkoTestBed.start()
        bed.fake.script(Self.ref, .slow(.milliseconds(200), FakeEko.inquiry(txStatus: 0)))
        try await approved(bed)
        let later = pinnedNow.addingTimeInterval(300)
        // A sweep stopped in the middle (its inquiry under way), as a restart would.
        let interrupted = Task { await sweeper(bed, at: later).sweepOnce() }
        try await Task.sleep(for: .milliseconds(50))
        interrupted.cancel()
        _ = await interrupted.value
        // Two more sweepers, each with its own connection to the file, like two processes.
        let other = try AppDatabase.open(path: bed.server.config.databasePath)
        async let first = sweeper(bed, at: later).sweepOnce()
        async let second = sweeper(bed, at: later, database: other).sweepOnce()
        _ = await (first, second)
        #expect(await sweeper(bed, at: later.addingTimeInterval(3600)).sweepOnce() == 0)
        try await bed.stop()
        #expect(try await bed.state() == "settled")
        #expect(try await bed.ledger().count == 1)
    }
}
