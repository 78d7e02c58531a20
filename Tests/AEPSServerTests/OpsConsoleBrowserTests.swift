import AEPSServer
import EkoSigning
import Foundation
import HummingbirdBcrypt
import Testing

/// The ops console in a real headless Chromium at phone and desktop width: sign in, open the transactions, open
/// one transaction; no console error (a Content-Security-Policy violation would be one), nothing wider than the
/// screen but the scrolling tables. Screenshots land in `.build/screenshots/`.
@Suite(.serialized) struct OpsConsoleBrowserTests {
    @Test(arguments: [("phone", 360, 800), ("desktop", 1280, 900)])
    func anOperatorSignsInAndOpensATransaction(name: String, width: Int, height: Int) async throws {
        let chromium = try #require(Chromium.find(), "chromium is not installed (make test installs it)")
        let directory = try TemporaryDirectory()
        try Fixture.preparePublicFolder(in: directory)
        for file in ["ops-harness.html", "ops-harness.js"] {
            try FileManager.default.copyItem(
                at: Fixture.browserFolder.appendingPathComponent(file),
                to: URL(fileURLWithPath: directory.path("public")).appendingPathComponent(file)
            )
        }
        let port = try freeLoopbackPort()
        let server = try TestServer(overrides: ["http": "{\"host\": \"127.0.0.1\", \"port\": \(port)}"])
        try await server.database.addOpsUser(
            name: "asha", role: .operator, passwordHash: Bcrypt.hash("ops password 1", cost: 4), now: Date()
        )
        try await server.addRetailer(name: "Sharma General Store")
        try await server.database.writerForTests { db in
            try db.execute(sql: """
                INSERT INTO aeps_transaction (client_ref_id, retailer_id, user_code, type, amount_raw, amount_paise,
                  customer_mobile, request_fingerprint, decision, reason, state, decided_at, ist_day, created_at, updated_at,
                  eko_tid, bank_ref_num, aadhaar_last4, flag_reason, flag_claimed, flag_eko, flagged_at)
                VALUES ('AEPS1700000000123', 1, '20810200', 2, '500', 50000, '9876543210', 'f', 'approved', 'approved',
                  'needs_attention', '2023-11-14 22:13:20.000', '2023-11-15', '2023-11-14 22:13:20.000', '2023-11-14 22:13:20.000',
                  '3210000000', '412345678901', '1234', 'report_disagrees', 'tx_status 0, ₹500.00', 'tx_status 1',
                  '2023-11-14 22:20:00.000')
                """)
        }
        let app = try buildApplication(
            config: server.config,
            dependencies: AppDependencies(
                database: server.database, signer: EkoSigner(accessKey: EkoAccessKey(uatAccessKey)!),
                logger: server.logs.logger(), publicDirectory: directory.path("public")
            )
        )
        let running = Task { try await app.runService() }
        defer { running.cancel() }
        try await waitUntilListening(host: "127.0.0.1", port: port)

        let url = "http://127.0.0.1:\(port)/ops-harness.html?name=asha&password=ops%20password%201&w=\(width)&h=\(height)"
        let window = (width: max(width, 520), height: height + 200)
        let profile = directory.path("profile")
        let dom = try await chromium.run(
            url: url, width: window.width, height: window.height, output: .dumpDOM, profile: profile,
            extraArguments: ["--enable-logging=stderr", "--v=0"]
        )
        let reportText = try #require(Fixture.report(in: dom), "no report; DOM was:\n\(dom.prefix(2000))")
        let report = try JSONValue.parse(reportText)
        #expect(report["error"] == nil, "\(reportText)")
        #expect(report["done"] == .bool(true), "\(reportText)")
        #expect(report["firstLink"] == .string("AEPS1700000000123"))
        #expect(report["heading"] == .string("Transaction AEPS1700000000123"))
        #expect(report["state"] == .string("needs_attention"))
        #expect(report["styled"] == .string("rgb(23, 50, 77)"), "the inline stylesheet was not applied")
        for key in ["loginOverflow", "transactionsOverflow", "transactionOverflow"] {
            #expect(report[key] == .number("0"), "\(key) at \(width) px: \(reportText)")
        }
        // No console message at all: a CSP violation, a script error or a failed load would be one.
        let log = Chromium.log(profile: profile)
        #expect(!log.contains("Content Security Policy"), "\(log.suffix(3000))")
        #expect(!log.contains(":CONSOLE"), "\(log.suffix(3000))")

        let shot = Fixture.screenshotFolder.appendingPathComponent("ops-console-\(name).png")
        try? FileManager.default.removeItem(at: shot)
        _ = try await chromium.run(
            url: url, width: window.width, height: window.height, output: .screenshot(shot.path),
            profile: directory.path("profile-shot")
        )
        let size = (try? FileManager.default.attributesOfItem(atPath: shot.path)[.size] as? Int) ?? 0
        #expect(size > 5_000, "no screenshot at \(shot.path)")
        // The audit log has both sign-ins (the run and the screenshot's).
        #expect(try await server.rows("SELECT COUNT(*) AS n FROM ops_audit WHERE action = 'sign_in'") == [["n": "2"]])
    }
}
