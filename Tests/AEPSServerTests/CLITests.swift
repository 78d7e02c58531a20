import AEPSServer
import EkoSigning
import Foundation
import GRDB
import Testing

/// The real `aeps` binary against a temporary database file.
@Suite struct CLITests {
    func runner(_ overrides: [String: String] = [:]) throws -> CLIRunner {
        let runner = try CLIRunner()
        var overrides = overrides
        if overrides["database"] == nil { overrides["database"] = #"{"path": "data/aeps.sqlite"}"# }
        try runner.writeConfig(configJSON(overrides))
        return runner
    }

    @Test func migrateSaysWhatRanAndThenThatNothingIsPending() async throws {
        let cli = try runner()
        let first = try await cli.run(["migrate"])
        #expect(first.status == 0)
        #expect(first.stdout.contains("applied 2026-11-25-foundation"))
        let second = try await cli.run(["migrate"])
        #expect(second.status == 0)
        #expect(!second.stdout.contains("applied"))
        #expect(second.stdout.contains("up to date"))
        #expect(FileManager.default.fileExists(atPath: cli.directory.path("data/aeps.sqlite")))
    }

    @Test func retailersCanBeAddedListedDisabledAndEnabled() async throws {
        let cli = try runner()
        let added = try await cli.run(["retailer", "add", "--user-code", "20810200", "--name", "Sharma General Store"])
        #expect(added.status == 0, "\(added.stderr)")
        #expect(added.stdout.contains("registered retailer 20810200"))

        let duplicate = try await cli.run(["retailer", "add", "--user-code", "20810200", "--name", "Again"])
        #expect(duplicate.status != 0)
        #expect(duplicate.stderr == "aeps: --user-code: retailer 20810200 is already registered\n")

        let disabled = try await cli.run(["retailer", "disable", "--user-code", "20810200"])
        #expect(disabled.status == 0)
        let list = try await cli.run(["retailer", "list"])
        #expect(list.stdout.contains("20810200"))
        #expect(list.stdout.contains("disabled"))
        #expect(list.stdout.contains("Sharma General Store"))
        #expect(list.stdout.contains("₹0.00"))

        let enabled = try await cli.run(["retailer", "enable", "--user-code", "20810200"])
        #expect(enabled.status == 0)
        let rows = try await DatabaseQueue(path: cli.directory.path("data/aeps.sqlite")).read { db in
            try Row.fetchAll(db, sql: "SELECT user_code, name, active FROM retailer").map {
                "\($0["user_code"] as String)|\($0["name"] as String)|\($0["active"] as Bool)"
            }
        }
        #expect(rows == ["20810200|Sharma General Store|true"])

        let unknown = try await cli.run(["retailer", "enable", "--user-code", "11111111"])
        #expect(unknown.status != 0)
        #expect(unknown.stderr == "aeps: --user-code: no retailer with user code 11111111\n")
    }

    @Test(arguments: [
        (["retailer", "list", "--bogus"], "--bogus"),
        (["retailer", "add", "--user-code", "20810200"], "--name"),
        (["retailer", "add", "--user-code", "20 81", "--name", "X"], "--user-code"),
        (["sign", "--timestamp", "yesterday"], "--timestamp"),
        (["dev-cert", "--days", "0"], "--days"),
        (["nonsense"], "nonsense"),
    ])
    func badFlagsAreNamedInOneLine(arguments: [String], named: String) async throws {
        let cli = try runner()
        let result = try await cli.run(arguments)
        #expect(result.status != 0)
        #expect(result.stderr.hasPrefix("aeps: "))
        #expect(result.stderr.contains(named))
        #expect(result.stderr.filter { $0 == "\n" }.count == 1, "not one line: \(result.stderr)")
    }

    @Test func aBadConfigurationIsNamedInOneLine() async throws {
        let cli = try runner(["http": #"{"port": "eighty"}"#])
        let result = try await cli.run(["migrate"])
        #expect(result.status != 0)
        #expect(result.stderr.hasPrefix("aeps: http.port: expected a whole number"))
        #expect(result.stderr.filter { $0 == "\n" }.count == 1)
        let missing = try await cli.run(["migrate", "--config", "elsewhere.config"])
        #expect(missing.stderr.hasPrefix("aeps: --config: elsewhere.config does not exist"))
    }

    @Test func signPrintsThePublishedVector() async throws {
        let cli = try runner()
        let result = try await cli.run(
            ["sign", "--timestamp", "1700000000000", "--value", "9876543210", "--value", "500", "--value", "20810200"],
            environment: ["EKO_ACCESS_KEY": uatAccessKey]
        )
        #expect(result.status == 0)
        #expect(result.stdout == """
            secret_key_timestamp: 1700000000000
            secret_key: qIir8tILHtqxO1Mu3/fC3pVElIa0oIxXMRDUP0463Bc=
            request_hash: SYWYFfRpGAMuMjgJELzPK7uHJst8GPzoTqnZj9W3BeE=

            """)
        let noKey = try await cli.run(["sign", "--timestamp", "1700000000000"])
        #expect(noKey.status != 0)
        #expect(noKey.stderr.hasPrefix("aeps: EKO_ACCESS_KEY: no access key"))
    }

    @Test func signReadsTheKeyFileNamedInTheConfiguration() async throws {
        let cli = try CLIRunner()
        try "\(uatAccessKey)\n".write(toFile: cli.directory.path("eko.key"), atomically: true, encoding: .utf8)
        try cli.writeConfig(configJSON(["access_key_file": #""eko.key""#]))
        let result = try await cli.run(["sign", "--timestamp", "1700000000000"])
        #expect(result.stdout.contains("secret_key: qIir8tILHtqxO1Mu3/fC3pVElIa0oIxXMRDUP0463Bc="))
    }

    @Test(arguments: [
        ([:], "EKO_ACCESS_KEY: no access key"),
        (["EKO_ACCESS_KEY": "d2fe1d99-6298-4af2-8cc5-d97dcf46df30"], "EKO_ACCESS_KEY: this is Eko's public UAT access key"),
    ])
    func serveRefusesProductionWithoutItsOwnKey(environment: [String: String], message: String) async throws {
        let cli = try runner([
            "environment": #""production""#, "developer_key": #""0123456789abcdef0123456789abcdef""#,
            "http": #"{"port": 0}"#,
        ])
        let result = try await cli.run(["serve"], environment: environment, timeout: .seconds(30))
        #expect(result.status != 0)
        #expect(result.stderr.split(separator: "\n").last?.hasPrefix("aeps: \(message)") == true, "\(result.stderr)")
    }

    /// The simulator stands in for Eko only off production, and demo accounts (stored passwords) exist only in local.
    @Test func theSimulatorAndTheDemoStayOffProduction() async throws {
        let production = try runner([
            "environment": #""production""#, "developer_key": #""0123456789abcdef0123456789abcdef""#,
        ])
        let key = ["EKO_ACCESS_KEY": "11111111-2222-3333-4444-555555555555"]
        let sim = try await production.run(["gateway-sim", "--port", "0"], environment: key, timeout: .seconds(30))
        #expect(sim.status != 0)
        #expect(sim.stderr == "aeps: environment is production: the simulator stands in for Eko only in local (and for trials beside uat)\n")
        let uat = try runner()
        let demo = try await uat.run(["demo"], environment: key)
        #expect(demo.status != 0)
        #expect(demo.stderr == "aeps: environment is uat: aeps demo creates demo accounts only in local\n")
        #expect(!FileManager.default.fileExists(atPath: uat.directory.path("data/demo-credentials.json")))
    }

    @Test func serveRefusesAnHTTPCallbackInProduction() async throws {
        let cli = try runner([
            "environment": #""production""#, "developer_key": #""0123456789abcdef0123456789abcdef""#,
            "callback_url": #""http://partner.example/aeps/callback""#,
        ])
        let result = try await cli.run(["serve"], environment: ["EKO_ACCESS_KEY": "11111111-2222-3333-4444-555555555555"])
        #expect(result.status != 0)
        #expect(result.stderr.split(separator: "\n").last?.hasPrefix("aeps: callback_url: production needs an https:// URL") == true)
    }

    @Test func serveNamesAMissingCertificate() async throws {
        let cli = try runner(["tls": #"{"certificate_chain": "nope.pem", "private_key": "nope-key.pem"}"#])
        let result = try await cli.run(["serve"], environment: ["EKO_ACCESS_KEY": uatAccessKey])
        #expect(result.status != 0)
        #expect(result.stderr.hasSuffix("\naeps: tls.certificate_chain: file not found: nope.pem\n"))
        #expect(try await cli.run(["retailer", "list"]).stdout.contains("no retailers"))  // the file still works
    }

    @Test func serveWithNoMigrateRefusesAFreshDatabase() async throws {
        let cli = try runner()
        let result = try await cli.run(["serve", "--no-migrate"], environment: ["EKO_ACCESS_KEY": uatAccessKey])
        #expect(result.status != 0)
        #expect(result.stderr.split(separator: "\n").last?.hasPrefix("aeps: --no-migrate: migrations pending") == true, "\(result.stderr)")
    }

    @Test func devCertWritesACertificateAndKeyOnceOnly() async throws {
        let cli = try runner()
        let first = try await cli.run(["dev-cert"])
        #expect(first.status == 0)
        let pem = try String(contentsOfFile: cli.directory.path("dev-certs/localhost.pem"), encoding: .utf8)
        #expect(pem.hasPrefix("-----BEGIN CERTIFICATE-----"))
        let again = try await cli.run(["dev-cert"])
        #expect(again.status != 0)
        #expect(again.stderr.contains("--certificate"))
    }

    @Test func aRetailerGetsAGeneratedPasswordOrOneFromStandardInput() async throws {
        let cli = try runner()
        let generated = try await cli.run(["retailer", "add", "--user-code", "20810200", "--name", "Shop"])
        #expect(generated.status == 0)
        let line = try #require(generated.stdout.split(separator: "\n").first { $0.contains("shown once") })
        let password = try #require(line.split(separator: " ").last.map(String.init))
        #expect(password.count == 16)

        let given = try await cli.run(
            ["retailer", "add", "--user-code", "30920300", "--name", "Other", "--password-stdin"], stdin: "a chosen password\n"
        )
        #expect(given.status == 0)
        #expect(given.stdout.contains("page password for 30920300 set"))
        #expect(!given.stdout.contains("a chosen password"))

        let tooShort = try await cli.run(["retailer", "set-password", "--user-code", "30920300", "--password-stdin"], stdin: "short\n")
        #expect(tooShort.status != 0)
        #expect(tooShort.stderr.hasPrefix("aeps: --password-stdin:"))

        let hashes = try await DatabaseQueue(path: cli.directory.path("data/aeps.sqlite")).read { db in
            try String.fetchAll(db, sql: "SELECT password_hash FROM retailer ORDER BY user_code")
        }
        #expect(hashes.count == 2)
        #expect(hashes.allSatisfy { $0.hasPrefix("$2") && !$0.contains(password) })
    }

    @Test func apiKeysAreCreatedOnceListedWithoutTheKeyAndRevoked() async throws {
        let cli = try runner()
        let created = try await cli.run(["api-key", "create", "--name", "portal"])
        #expect(created.status == 0)
        let key = try #require(created.stdout.split(separator: " ").last?.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(key.hasPrefix("aeps_"))
        let again = try await cli.run(["api-key", "create", "--name", "portal"])
        #expect(again.stderr == "aeps: --name: an API key named portal already exists\n")
        let list = try await cli.run(["api-key", "list"])
        #expect(list.stdout.contains("portal"))
        #expect(list.stdout.contains("active"))
        #expect(!list.stdout.contains(key))
        #expect(try await cli.run(["api-key", "revoke", "--name", "portal"]).status == 0)
        #expect(try await cli.run(["api-key", "list"]).stdout.contains("revoked"))
        let stored = try await DatabaseQueue(path: cli.directory.path("data/aeps.sqlite")).read { db in
            try String.fetchAll(db, sql: "SELECT key_hash FROM api_key")
        }
        #expect(stored == [SecretToken.hash(key)])
    }

    @Test func serveWarnsWhenSessionBindingIsOff() async throws {
        let cli = try runner(["policy": #"{"require_session": false}"#, "http": #"{"host": "127.0.0.1", "port": 0}"#])
        let server = try RunningProcess(cli, ["serve"], environment: ["EKO_ACCESS_KEY": uatAccessKey])
        _ = try await server.waitFor("policy.require_session is false")
        _ = try await server.waitFor("listening on 127.0.0.1:")
        #expect(try await server.terminate() == 0)
    }

    @Test func killSwitchesCapsAndThePolicyAreManagedFromTheCommandLine() async throws {
        let cli = try runner(["policy": #"{"service_hours": {"from": "08:00", "to": "20:00"}, "retailer_daily_count_cap": 50}"#])
        #expect(try await cli.run(["retailer", "add", "--user-code", "20810200", "--name", "Shop"]).status == 0)
        let on = try await cli.run(["kill-switch", "on"])
        #expect(on.stdout.contains("every debit-hook is refused"))
        #expect(try await cli.run(["kill-switch", "on", "--user-code", "20810200"]).status == 0)
        let caps = try await cli.run(["retailer", "set-caps", "--user-code", "20810200", "--daily-count", "20", "--daily-amount", "50000"])
        #expect(caps.stdout == "caps for 20810200: 20 withdrawals and ₹50000.00 per day\n")
        let show = try await cli.run(["policy", "show"])
        #expect(show.stdout.contains("kill switch: ON"))
        #expect(show.stdout.contains("cash withdrawal: ₹100.00 to ₹10000.00, multiples of ₹50.00"))
        #expect(show.stdout.contains("per customer: at most 5"))
        #expect(show.stdout.contains("per retailer: 50 withdrawals"))
        #expect(show.stdout.contains("hours of service: 08:00-20:00 IST"))
        #expect(show.stdout.contains("retailer 20810200 (Shop): kill switch on, 20 withdrawals/day, ₹50000.00/day"))
        #expect(try await cli.run(["kill-switch", "off"]).status == 0)
        #expect(try await cli.run(["policy", "show"]).stdout.contains("kill switch: off"))
        let bad = try await cli.run(["kill-switch", "maybe"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("on or off"))
        let badCaps = try await cli.run(["retailer", "set-caps", "--user-code", "20810200", "--daily-count", "lots", "--daily-amount", "default"])
        #expect(badCaps.stderr.hasPrefix("aeps: --daily-count:"))
    }

    @Test func policyCheckExplainsASavedHookWithoutRecordingIt() async throws {
        let cli = try runner(["policy": #"{"require_session": false}"#])
        #expect(try await cli.run(["retailer", "add", "--user-code", "20810200", "--name", "Shop"]).status == 0)
        try debitHookBody(amount: #""125""#, session: nil).write(toFile: cli.directory.path("hook.json"), atomically: true, encoding: .utf8)
        let check = try await cli.run(["policy", "check", "--file", "hook.json"])
        #expect(check.status == 0, "\(check.stderr)")
        #expect(check.stdout.contains("pass"))
        #expect(check.stdout.contains("FAIL amount_not_multiple"))
        #expect(check.stdout.contains("decision: refuse amount_not_multiple"))
        let asOther = try await cli.run(["policy", "check", "--file", "hook.json", "--user-code", "99999999"])
        #expect(asOther.stdout.contains("FAIL unknown_retailer"))
        let rows = try await DatabaseQueue(path: cli.directory.path("data/aeps.sqlite")).read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM aeps_transaction")
        }
        #expect(rows == 0)
        let missing = try await cli.run(["policy", "check", "--file", "nope.json"])
        #expect(missing.stderr == "aeps: --file: cannot read nope.json\n")
    }

    @Test func exportWritesMaskedCSVAndJSON() async throws {
        let cli = try runner()
        #expect(try await cli.run(["retailer", "add", "--user-code", "20810200", "--name", "Shop"]).status == 0)
        try await DatabaseQueue(path: cli.directory.path("data/aeps.sqlite")).write { db in
            try db.execute(sql: """
                INSERT INTO aeps_transaction (client_ref_id, retailer_id, user_code, type, amount_raw, amount_paise,
                  customer_mobile, request_fingerprint, decision, reason, state, decided_at, ist_day, created_at, updated_at)
                VALUES ('=HYPERLINK("x")', 1, '20810200', 2, '500', 50000, '9876543210', 'f', 'approved', 'approved',
                  'settled', '2026-11-25 05:00:00.000', '2026-11-25', '2026-11-25 05:00:00.000', '2026-11-25 05:00:00.000')
                """)
            try db.execute(sql: """
                INSERT INTO settlement (kind, client_ref_id, retailer_id, user_code, amount_paise, commission_paise,
                  tds_paise, verified_by, created_at)
                VALUES ('settlement', '=HYPERLINK("x")', 1, '20810200', 50000, 150, 8, 'inquiry', '2026-11-25 05:00:05.000')
                """)
        }
        let csv = try await cli.run(["export", "--format", "csv", "--from", "2026-11-25", "--to", "2026-11-25"])
        #expect(csv.status == 0, "\(csv.stderr)")
        let lines = csv.stdout.split(separator: "\n")
        #expect(lines.count == 2)
        // A row written before input was bounded, with an escape sequence and line breaks: exported as visible text.
        try await DatabaseQueue(path: cli.directory.path("data/aeps.sqlite")).write { db in
            try db.execute(sql: """
                INSERT INTO aeps_transaction (client_ref_id, retailer_id, user_code, type, amount_raw, amount_paise,
                  customer_mobile, request_fingerprint, decision, reason, state, decided_at, ist_day, created_at, updated_at)
                VALUES (?, 1, '20810200', 2, '500', 50000, '9876543211', 'g', 'approved', 'approved',
                  'approved', '2026-11-25 06:00:00.000', '2026-11-25', '2026-11-25 06:00:00.000', '2026-11-25 06:00:00.000')
                """, arguments: ["EVIL\u{1b}[2J\r\nforged,line\u{9b}31m"])
        }
        for format in ["csv", "json"] {
            let hostile = try await cli.run(["export", "--format", format])
            #expect(hostile.stdout.split(separator: "\n").count == (format == "csv" ? 3 : 1))
            #expect(!hostile.stdout.unicodeScalars.contains { $0.properties.generalCategory == .control && $0 != "\n" })
        }
        #expect(try await cli.run(["export"]).stdout.contains(#""EVIL\u{1b}[2J\u{d}\u{a}forged,line\u{9b}31m""#))
        #expect(lines[0].hasPrefix("client_ref_id,ist_day,decided_at,user_code"))
        #expect(lines[1].hasPrefix(#""'=HYPERLINK(""x"")",2026-11-25"#))
        #expect(lines[1].contains("XXXXXX3210"))
        #expect(!csv.stdout.contains("9876543210"))
        #expect(lines[1].contains("500.00,1.50,0.08,inquiry,no"))
        let json = try await cli.run(["export", "--format", "json"])
        let items = try JSONValue.parse(json.stdout)
        guard case .array(let list) = items else { Issue.record("not a list"); return }
        #expect(list.first?["state"] == .string("settled"))
        #expect(list.first?["verified_by"] == .string("inquiry"))
        let none = try await cli.run(["export", "--from", "2026-11-26"])
        #expect(none.stdout.split(separator: "\n").count == 1)
        let bad = try await cli.run(["export", "--format", "xml"])
        #expect(bad.stderr.hasPrefix("aeps: --format:"))
    }

    @Test func helpIsFriendly() async throws {
        let cli = try runner()
        let help = try await cli.run(["--help"])
        #expect(help.status == 0)
        for command in ["serve", "migrate", "retailer", "api-key", "kill-switch", "policy", "sign", "dev-cert"] {
            #expect(help.stdout.contains(command))
        }
        let retailerHelp = try await cli.run(["retailer", "add", "--help"])
        #expect(retailerHelp.stdout.contains("--user-code"))
        #expect(retailerHelp.stdout.contains("--config"))
    }
}
