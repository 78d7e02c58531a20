import AEPSServer
import AsyncHTTPClient
import EkoSigning
import Foundation
import Hummingbird
import Testing

/// A fake Eko API on loopback, a test server pointed at it with one retailer (and its gateway session), and the
/// Eko client and settler the server would use. Shared by the client, settlement and sweeper tests.
struct EkoTestBed {
    let fake: FakeEko
    let server: TestServer
    let http: HTTPClient
    let client: EkoClient
    let settler: Settler

    /// - Parameters:
    ///   - accessKey: what the client signs with (the fake accepts only the UAT key).
    ///   - apiBase: another API base (e.g. a closed port), instead of the fake's.
    ///   - readTimeoutMs: the client's read timeout; generous by default, since a loaded machine is slow.
    static func start(
        accessKey: String = uatAccessKey, verify: Bool = true, apiBase: String? = nil, readTimeoutMs: Int = 3000
    ) async throws -> EkoTestBed {
        let fake = try await FakeEko.start()
        let server = try TestServer(overrides: [
            "eko": "{\"api_base\": \"\(apiBase ?? fake.apiBase)\", \"read_timeout_ms\": \(readTimeoutMs)}",
            "settlement": "{\"verify_with_inquiry\": \(verify)}",
        ])
        try await server.addRetailer()
        let http = HTTPClient(eventLoopGroupProvider: .singleton)
        let client = EkoClient(
            config: server.config, signer: EkoSigner(accessKey: EkoAccessKey(accessKey)!), http: http,
            database: server.database, logger: server.logs.logger(), backoff: { _ in .milliseconds(5) }
        )
        let settler = Settler(
            database: server.database, eko: client, verifyWithInquiry: verify, clock: { pinnedNow }, logger: server.logs.logger()
        )
        return EkoTestBed(fake: fake, server: server, http: http, client: client, settler: settler)
    }

    /// The application, with this bed's settler.
    func app() throws -> some ApplicationProtocol {
        try buildApplication(
            config: server.config,
            dependencies: AppDependencies(
                database: server.database, signer: EkoSigner(accessKey: EkoAccessKey(uatAccessKey)!),
                clock: { pinnedNow }, logger: server.logs.logger(), publicDirectory: server.directory.path("public"),
                settler: settler
            )
        )
    }

    func stop() async throws {
        try await http.shutdown()
        fake.stop()
    }

    /// The recorded calls to Eko, oldest first.
    func calls() async throws -> [[String: String?]] {
        try await server.rows("SELECT reference, attempt, http_status, outcome, eko_status, tx_status FROM eko_call ORDER BY id")
    }

    func state(_ ref: String = "AEPS1700000000123") async throws -> String? {
        try await server.rows("SELECT state FROM aeps_transaction WHERE client_ref_id = '\(ref)'").first?["state"] ?? nil
    }

    func ledger() async throws -> [[String: String?]] {
        try await server.rows("SELECT kind, amount_paise, commission_paise, tds_paise, verified_by FROM settlement ORDER BY id")
    }

    /// Waits (up to 5 s) until the fake Eko has been asked `count` times.
    func waitFor(calls count: Int) async throws {
        for _ in 0..<250 where fake.calls.count < count { try await Task.sleep(for: .milliseconds(20)) }
        #expect(fake.calls.count >= count)
    }

    /// Waits (up to 5 s) until the transaction reaches `state`.
    func waitFor(state expected: String) async throws {
        for _ in 0..<250 {
            if try await state() == expected { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("state is \(try await state() ?? "nil"), expected \(expected)")
    }
}
