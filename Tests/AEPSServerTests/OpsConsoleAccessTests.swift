import AEPSServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// Who may see and do what in the ops console: sign-in, sessions, CSRF, roles, throttling.
@Suite struct OpsConsoleAccessTests {
    @Test func everyOpsRouteIsRefusedWithoutSignIn() async throws {
        let bed = try await OpsTestBed()
        let routes = bed.opsRoutes
        // The router really has the console: pages, actions and exports.
        #expect(routes.count >= 19, "\(routes)")
        #expect(routes.contains { $0.method == .post && $0.path == "/ops/kill-switch" })
        try await bed.test { client in
            let anonymous = OpsBrowser(client: client)
            // A cookie that names no session is no better than none.
            let forged = OpsBrowser(client: client, cookie: "aeps_ops=forged-session-token", csrf: "x")
            for route in routes where route.path != "/ops/login" {
                let path = concretePath(route.path)
                for browser in [anonymous, forged] {
                    if route.method == .get {
                        let answer = try await browser.get(path)
                        #expect(answer.status == .seeOther, "GET \(path)")
                        #expect(answer.headers[.location] == "/ops/login", "GET \(path)")
                        #expect(!answer.body.contains("AEPS"), "GET \(path)")
                    } else {
                        let answer = try await browser.post(path, ["csrf_token": "x", "note": "n", "state": "on"])
                        #expect(answer.status == .unauthorized, "\(route.method) \(path)")
                    }
                }
            }
            // The sign-in form itself is open, and its POST needs the form's token.
            #expect(try await anonymous.get("/ops/login").status == .ok)
            let noToken = try await anonymous.post("/ops/login", ["name": "operator", "password": opsPassword])
            #expect(noToken.status == .forbidden)
        }
        #expect(try await bed.server.database.isServicePaused() == false)
        #expect(try await bed.server.rows("SELECT COUNT(*) AS n FROM ops_audit") == [["n": "0"]])
    }

    @Test func aViewerIsRefusedEveryOperatorAction() async throws {
        let bed = try await OpsTestBed()
        try await bed.server.addRetailer()
        let actions = bed.opsRoutes.filter { $0.method == .post && !["/ops/login", "/ops/logout"].contains($0.path) }
        #expect(actions.count >= 6, "\(actions)")
        try await bed.test { client in
            let (viewer, status) = try await OpsBrowser.signIn(client, name: "viewer")
            #expect(status == .seeOther)
            for route in actions {
                let answer = try await viewer.act(concretePath(route.path), ["note": "trying", "state": "on"])
                #expect(answer.status == .forbidden, "POST \(route.path)")
                #expect(answer.body.contains("Only an operator"), "POST \(route.path)")
            }
            // A viewer reads every page, without the operator's forms.
            let page = try await viewer.get("/ops/retailers")
            #expect(page.status == .ok)
            #expect(!page.body.contains("revoke-sessions"))
        }
        #expect(try await bed.server.database.isServicePaused() == false)
        #expect(try await bed.server.database.retailer(userCode: "20810200")?.active == true)
        #expect(try await bed.server.rows("SELECT action FROM ops_audit") == [["action": "sign_in"]])
    }

    @Test func formsNeedTheSessionsCSRFTokenAndNoCrossSiteRequest() async throws {
        let bed = try await OpsTestBed()
        try await bed.test { client in
            let (op, _) = try await OpsBrowser.signIn(client, name: "operator")
            #expect(op.csrf.count > 20)
            let missing = try await op.post("/ops/kill-switch", ["state": "on"])
            #expect(missing.status == .forbidden)
            let wrong = try await op.post("/ops/kill-switch", ["state": "on", "csrf_token": op.csrf + "x"])
            #expect(wrong.status == .forbidden)
            var crossSite = HTTPFields()
            crossSite[HTTPField.Name("Sec-Fetch-Site")!] = "cross-site"
            let foreign = try await op.post("/ops/kill-switch", ["state": "on", "csrf_token": op.csrf], extraHeaders: crossSite)
            #expect(foreign.status == .forbidden)
            #expect(try await bed.server.database.isServicePaused() == false)
            // Another session's token is not this one's.
            let (other, _) = try await OpsBrowser.signIn(client, name: "operator")
            #expect(other.csrf != op.csrf)
            #expect(try await op.post("/ops/kill-switch", ["state": "on", "csrf_token": other.csrf]).status == .forbidden)
            // The right token from the same site works.
            let right = try await op.act("/ops/kill-switch", ["state": "on", "note": "incident 42"])
            #expect(right.status == .seeOther)
            #expect(try await bed.server.database.isServicePaused() == true)
            // Sign-in is refused cross-site too, and with a form token that is not the cookie's.
            let form = try await OpsBrowser(client: client).get("/ops/login")
            let formCookie = try #require(form.cookies["aeps_ops_form"])
            let mismatched = try await OpsBrowser(client: client).post(
                "/ops/login", ["name": "operator", "password": opsPassword, "csrf_token": "not-the-cookie"],
                cookie: "aeps_ops_form=\(formCookie)"
            )
            #expect(mismatched.status == .forbidden)
            #expect(mismatched.cookies["aeps_ops"] == nil)
        }
    }

    @Test func theSessionCookieIsStrictAndSigningOutEndsIt() async throws {
        let bed = try await OpsTestBed()
        try await bed.test { client in
            var browser = OpsBrowser(client: client)
            let form = try await browser.get("/ops/login")
            let token = try #require(OpsBrowser.hiddenToken(in: form.body))
            let answer = try await browser.post(
                "/ops/login", ["name": "operator", "password": opsPassword, "csrf_token": token],
                cookie: "aeps_ops_form=\(try #require(form.cookies["aeps_ops_form"]))"
            )
            let setCookie = try #require(answer.headers.first { $0.name == .setCookie && $0.value.hasPrefix("aeps_ops=") }?.value)
            #expect(setCookie.contains("HttpOnly"))
            #expect(setCookie.contains("SameSite=Strict"))
            #expect(setCookie.contains("Path=/ops"))
            let value = try #require(answer.cookies["aeps_ops"])
            // Only the cookie's SHA-256 is stored.
            #expect(try await bed.server.rows("SELECT key_hash FROM login_session WHERE key_hash = '\(value)'").isEmpty)
            browser.cookie = "aeps_ops=\(value)"
            #expect(try await browser.get("/ops/transactions").status == .ok)
            browser.csrf = try #require(OpsBrowser.hiddenToken(in: try await browser.get("/ops").body))
            #expect(try await browser.act("/ops/logout").status == .seeOther)
            #expect(try await browser.get("/ops/transactions").status == .seeOther)
        }
    }

    @Test func wrongPasswordsAreThrottledPerAccountWithoutTouchingRetailers() async throws {
        let bed = try await OpsTestBed()
        try await bed.test { client in
            for _ in 0..<5 {
                let (_, status) = try await OpsBrowser.signIn(client, name: "operator", password: "wrong password")
                #expect(status == .unauthorized)
            }
            // The sixth try waits, even with the right password, before any password is looked at.
            var browser = OpsBrowser(client: client)
            let form = try await browser.get("/ops/login")
            let answer = try await browser.post(
                "/ops/login", ["name": "operator", "password": opsPassword, "csrf_token": try #require(OpsBrowser.hiddenToken(in: form.body))],
                cookie: "aeps_ops_form=\(try #require(form.cookies["aeps_ops_form"]))"
            )
            #expect(answer.status == .tooManyRequests)
            #expect(answer.headers[.retryAfter] == "30")
            browser.cookie = ""
            // Another account is not delayed by these failures.
            #expect(try await OpsBrowser.signIn(client, name: "viewer").status == .seeOther)
        }
        let accounts = try await bed.server.rows("SELECT DISTINCT account FROM login_attempt ORDER BY account")
        #expect(accounts == [["account": "ops:operator"], ["account": "ops:viewer"]])
    }
}

/// `aeps ops-user add` through the real binary.
@Suite struct OpsUserCommandTests {
    @Test func addingAnOpsUserPrintsTheGeneratedPasswordOnceAndBadFlagsAreOneLine() async throws {
        let cli = try CLIRunner()
        try cli.writeConfig(configJSON(["database": #"{"path": "data/aeps.sqlite"}"#]))
        let added = try await cli.run(["ops-user", "add", "--name", "asha", "--role", "operator"])
        #expect(added.status == 0, "\(added.stderr)")
        #expect(added.stdout.contains("added ops user asha (operator)"))
        let password = try #require(added.stdout.split(separator: "\n").last?.split(separator: " ").last.map(String.init))
        #expect(password.count == 16)
        let fromStdin = try await cli.run(["ops-user", "add", "--name", "ravi", "--password-stdin"], stdin: "a long password 1\n")
        #expect(fromStdin.status == 0)
        #expect(!fromStdin.stdout.contains("a long password 1"))
        let database = try AppDatabase.open(path: cli.directory.path("data/aeps.sqlite"))
        let asha = try #require(try await database.opsUser(name: "asha"))
        #expect(asha.role == .operator)
        #expect(asha.passwordHash.hasPrefix("$2"))
        #expect(try await database.opsUser(name: "ravi")?.role == .viewer)
        for (arguments, message) in [
            (["--name", "x", "--role", "admin"], "aeps: --role: expected viewer or operator, got \"admin\""),
            (["--name", "a b"], "aeps: --name: expected 1 to 64 letters"),
            (["--name", "asha"], "aeps: --name: an ops user named asha already exists"),
        ] {
            let result = try await cli.run(["ops-user", "add"] + arguments)
            #expect(result.status != 0)
            #expect(result.stderr.hasPrefix(message), "\(result.stderr)")
            #expect(result.stderr.split(separator: "\n").count == 1)
        }
    }
}
