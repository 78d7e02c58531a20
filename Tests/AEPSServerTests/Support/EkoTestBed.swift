import AEPSServer
import EkoSigning
import Foundation
import Hummingbird
import Synchronization
import Testing

/// A clock tests move by hand (the sweeper's schedule reads it).
final class TestClock: Sendable {
    private let value: Mutex<Date>

    init(_ start: Date = pinnedNow) { value = Mutex(start) }

    var now: Date { value.withLock { $0 } }

    func set(_ date: Date) { value.withLock { $0 = date } }

    func advance(seconds: Double) { value.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

/// A fake Eko API on loopback, a test server pointed at it with one retailer (and its gateway session), and the
/// application's dependencies: everything is built through the composition root (`buildApplication`,
/// `buildSettlement`), with a clock the test moves and a fast Eko backoff. Shared by the client, settlement and
/// sweeper tests.
struct EkoTestBed {
    let fake: FakeEko
    let server: TestServer
    let clock: TestClock
    let dependencies: AppDependencies
    /// The money side as the root builds it, for driving the sweeper by hand (the app builds and runs its own).
    let settlement: SettlementServices

    var client: EkoClient { settlement.eko }
    var settler: Settler { settlement.settler }
    var sweeper: Sweeper { settlement.sweeper }

    /// - Parameters:
    ///   - accessKey: what the client signs with (the fake accepts only the UAT key).
    ///   - apiBase: another API base (e.g. a closed port), instead of the fake's.
    ///   - readTimeoutMs: the client's read timeout; generous by default, since a loaded machine is slow.
    ///   - settlement: extra members of the `settlement` section (e.g. `"recheck_settled_days": 1`).
    static func start(
        accessKey: String = uatAccessKey, verify: Bool = true, apiBase: String? = nil, readTimeoutMs: Int = 3000,
        settlement extra: String = ""
    ) async throws -> EkoTestBed {
        let fake = try await FakeEko.start()
        let server = try TestServer(overrides: [
            "eko": "{\"api_base\": \"\(apiBase ?? fake.apiBase)\", \"read_timeout_ms\": \(readTimeoutMs)}",
            "settlement": "{\"verify_with_inquiry\": \(verify)\(extra.isEmpty ? "" : ", " + extra)}",
        ])
        try await server.addRetailer()
        let clock = TestClock()
        let dependencies = AppDependencies(
            database: server.database, signer: EkoSigner(accessKey: EkoAccessKey(accessKey)!), clock: { clock.now },
            logger: server.logs.logger(), publicDirectory: server.directory.path("public"),
            ekoBackoff: { _ in .milliseconds(5) }
        )
        return EkoTestBed(
            fake: fake, server: server, clock: clock, dependencies: dependencies,
            settlement: buildSettlement(config: server.config, dependencies: dependencies)
        )
    }

    /// The application, with its sweeper running while a test uses it.
    func app() throws -> some ApplicationProtocol {
        try buildApplication(config: server.config, dependencies: dependencies)
    }

    /// What the running sweeper does from now on.
    func events() -> AsyncStream<SettlementEvents.Verified> {
        dependencies.settlementEvents.subscribe()
    }

    func stop() async throws {
        fake.stop()
    }

    /// The recorded calls to Eko, oldest first.
    func calls() async throws -> [[String: String?]] {
        try await server.rows("SELECT reference, attempt, http_status, outcome, eko_status, tx_status FROM eko_call ORDER BY id")
    }

    func state(_ ref: String = "AEPS1700000000123") async throws -> String? {
        try await server.rows("SELECT state FROM aeps_transaction WHERE client_ref_id = '\(ref)'").first?["state"] ?? nil
    }

    /// The flag on a transaction: reason, what our side had, what Eko said.
    func flag(_ ref: String = "AEPS1700000000123") async throws -> [String: String?]? {
        try await server.rows("SELECT flag_reason, flag_claimed, flag_eko FROM aeps_transaction WHERE client_ref_id = '\(ref)'").first
    }

    func ledger() async throws -> [[String: String?]] {
        try await server.rows("SELECT kind, amount_paise, commission_paise, tds_paise, verified_by FROM settlement ORDER BY id")
    }
}

extension AsyncStream<SettlementEvents.Verified> {
    /// The next event for `clientRefID` (the suites run with a time limit, so a missing event fails, not hangs).
    func next(for clientRefID: String = "AEPS1700000000123") async -> SettlementEvents.Verified? {
        await first { $0.clientRefID == clientRefID }
    }
}
