import AEPSServer
import Foundation
import Testing

/// The console's doctor and troubleshooting pages, over HTTP, signed in through the real form.
@Suite struct DoctorConsoleTests {
    /// Eko's messages (protocol §10) and the common HTTP errors, as the guide must name them.
    static let messages = [
        "Error in authentication", "Authentication Failed… Initiator access forbidden",
        "Connection to callback server failed. Please try again", "(Status = 200 OK)", "Transaction verification timeout",
        "Authentication for secret-key failed", "Authentication for request-hash failed",
        "HTTP 403", "HTTP 402", "HTTP 404", "HTTP 405", "HTTP 415",
    ]

    static var guideText: String {
        get throws {
            let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            return try String(contentsOf: root.appendingPathComponent("docs/troubleshooting.md"), encoding: .utf8)
        }
    }

    @Test func theDoctorPageRunsTheChecksAgainstTheRunningServerWithoutShowingTheKey() async throws {
        let app = try await RunningApp.start()
        defer { app.stop() }
        let bed = try await OpsTestBed(overrides: ["environment": #""local""#, "callback_url": "\"\(app.callbackURL)\""])
        try await bed.test { client in
            let (viewer, _) = try await OpsBrowser.signIn(client, name: "viewer")
            let page = try await viewer.get("/ops/doctor")
            #expect(page.status == .ok)
            #expect(page.body.contains(#"<a href="/ops/doctor">Doctor</a>"#))
            #expect(page.body.contains(#"<a href="/ops/troubleshooting">Troubleshooting</a>"#))
            for (id, status) in [
                ("config", "pass"), ("access_key", "pass"), ("environment", "pass"), ("callback_url", "pass"),
                ("tls", "skipped"), ("clock", "warn"), ("cors", "pass"), ("signing", "pass"), ("database", "pass"),
                ("retailers", "warn"), ("user_services", "skipped"),
            ] {
                #expect(page.body.contains(#"id="check-\#(id)" class="status-\#(status)""#), "\(id) is not \(status)")
            }
            #expect(page.body.contains("http://localhost:3004: a browser allows the call"))
            #expect(page.body.contains("https://developers.eko.in/docs/enable-cors"))
            #expect(page.body.contains("aeps retailer add"))
            #expect(!page.body.contains(uatAccessKey))
            #expect(page.headers[.contentSecurityPolicy]?.contains("default-src 'none'") == true)

            // A user code asks Eko (unreachable here: a warning, not a failure); a bad one is refused.
            let asked = try await viewer.get("/ops/doctor?user_code=20810200")
            #expect(asked.body.contains(#"id="check-user_services" class="status-warn""#))
            #expect(asked.body.contains(#"value="20810200""#))
            let bad = try await viewer.get("/ops/doctor?user_code=%3Cscript%3E")
            #expect(bad.status == .badRequest)
            #expect(bad.body.contains("user_code"))
            #expect(!bad.body.contains("<script>"))
        }
    }

    @Test func theConsoleDoctorFailsTheCORSSelfTestWhenTheCallbackIsDown() async throws {
        let bed = try await OpsTestBed(overrides: ["environment": #""local""#])
        try await bed.test { client in
            let (viewer, _) = try await OpsBrowser.signIn(client, name: "viewer")
            let page = try await viewer.get("/ops/doctor")
            #expect(page.status == .ok)
            #expect(page.body.contains(#"id="check-cors" class="status-fail""#))
            #expect(page.body.contains("Is `aeps serve` running?"))
        }
    }

    @Test func everyMessageIsInTheGuideAndOnTheConsolePage() async throws {
        let guide = try Self.guideText
        let bed = try await OpsTestBed()
        try await bed.test { client in
            let (viewer, _) = try await OpsBrowser.signIn(client, name: "viewer")
            let page = try await viewer.get("/ops/troubleshooting")
            #expect(page.status == .ok)
            for message in Self.messages {
                #expect(guide.contains(message), "docs/troubleshooting.md lacks \(message)")
                #expect(page.body.contains(message), "/ops/troubleshooting lacks \(message)")
            }
            for link in [
                "https://developers.eko.in/docs/authentication", "https://developers.eko.in/reference/activate-service",
                "https://developers.eko.in/docs/enable-cors", "https://developers.eko.in/docs/aeps-web-integration",
                "https://developers.eko.in/docs/aeps-gateway-workflow",
            ] {
                #expect(guide.contains(link) && page.body.contains(link), "\(link)")
            }
            for scenario in ["--inactive-user-code C", "different EKO_ACCESS_KEY", "kill -STOP"] {
                // The guide marks commands and names as code (`…`); the page shows them as text.
                #expect(guide.replacingOccurrences(of: "`", with: "").contains(scenario), "guide: \(scenario)")
                #expect(page.body.contains(scenario), "page: \(scenario)")
            }
        }
    }

    /// Every check the doctor reports is explained in the guide.
    @Test func theGuideNamesEveryDoctorCheck() async throws {
        let guide = try Self.guideText
        let report = await Doctor(configuration: .failure(ConfigError(key: "x", "y")), accessKey: .lookUp(environment: [:])).run()
        #expect(report.checks.count == 11)
        for check in report.checks {
            #expect(guide.contains("| `\(check.id)` |"), "docs/troubleshooting.md does not list \(check.id)")
        }
    }
}
