import AEPSServer
import EkoSigning
import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// What the console shows and exports: every page inert against stored markup, personal data masked, the
/// timeline, filters, pagination, exports and the audit log.
@Suite struct OpsConsolePagesTests {
    static let fullAadhaar = "123456781234"
    static let mobile = "9876543210"

    /// A retailer named with markup, an approved withdrawal, and an eko-response whose `sender_name` and `bank`
    /// carry markup and whose Aadhaar is whole (so the callback log holds a masked body).
    static func seed(_ bed: OpsTestBed, client: some TestClientProtocol) async throws {
        try await bed.server.addRetailer(name: "Shop \(xssScript) \(xssImage)")
        let hook = try await postCallback(client, debitHookBody())
        #expect(hook.json["allow"] == .bool(true))
        let report = ekoResponseBody(aadhaar: fullAadhaar)
            .replacingOccurrences(of: "\"Test User\"", with: JSONValue.string(xssScript).serialized())
            .replacingOccurrences(of: "\"Example Bank\"", with: JSONValue.string(xssImage).serialized())
        #expect(report.contains("onerror"))
        let ack = try await postCallback(client, report)
        #expect(ack.json["status"] == .string("received"))
        // A hook no session vouches for leaves a compact row: no body, only its size and digest.
        #expect(try await postCallback(client, debitHookBody(clientRefID: "AEPSUNBOUND1", session: nil)).json["allow"] == .bool(false))
    }

    @Test func storedMarkupIsInertAndPersonalDataMaskedOnEveryPageAndExport() async throws {
        let bed = try await OpsTestBed()
        let pages = bed.opsRoutes.filter { $0.method == .get }.map { concretePath($0.path) }
        #expect(pages.contains("/ops/transactions/AEPS1700000000123"))
        try await bed.test { client in
            try await Self.seed(bed, client: client)
            let (op, _) = try await OpsBrowser.signIn(client, name: "operator")
            // Markup in an operator's note, too.
            #expect(try await op.act("/ops/transactions/AEPS1700000000123/resolve", ["note": "checked \(xssScript)"]).status == .seeOther)
            #expect(try await op.act("/ops/retailers/20810200/disable", ["note": xssImage]).status == .seeOther)
            var seenEscaped = Set<String>()
            for path in pages + ["/ops/transactions?q=20810200", "/ops/callbacks?action=eko-response"] {
                let answer = try await (path == "/ops/login" ? OpsBrowser(client: client) : op).get(path)
                #expect(answer.status == .ok, "\(path)")
                // Never the whole mobile, never more of the Aadhaar than its last four, never a session token.
                for raw in [Self.mobile, Self.fullAadhaar, "34567812", "gs_test"] {
                    #expect(!answer.body.contains(raw), "\(path) shows \(raw)")
                }
                if path.hasPrefix("/ops/export") {
                    // Data files, not pages (served as attachments): the text is kept as it was stored.
                    #expect(answer.body.contains("XXXXXX3210"), "\(path)")
                    continue
                }
                for raw in [xssScript, "<img src=x", "onerror=alert(1)>"] {
                    #expect(!answer.body.contains(raw), "\(path) shows \(raw)")
                }
                #expect(answer.headers[.contentSecurityPolicy]?.contains("default-src 'none'") == true, "\(path)")
                #expect(answer.headers[.contentSecurityPolicy]?.contains("unsafe-inline") == false, "\(path)")
                #expect(!answer.body.contains("<script"), "\(path)")
                if answer.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;") { seenEscaped.insert(path) }
            }
            // The markup is there, as text: in the retailer's name, the callback bodies and the operator's note.
            for path in ["/ops/retailers", "/ops/transactions", "/ops/transactions/AEPS1700000000123", "/ops/callbacks", "/ops/audit"] {
                #expect(seenEscaped.contains(path), "\(path) does not show the escaped markup")
            }
            let log = try await op.get("/ops/callbacks").body
            #expect(log.contains("bytes, not kept; SHA-256 "))
            #expect(log.components(separatedBy: "<pre>").count == 3)  // the two bodies kept
            let timeline = try await op.get("/ops/transactions/AEPS1700000000123").body
            #expect(timeline.contains("XXXXXX3210"))
            #expect(timeline.contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"))  // the bank, from the body
        }
    }

    @Test func theTimelineShowsEverythingThatTouchedATransactionInOrder() async throws {
        let bed = try await OpsTestBed()
        try await bed.test { client in
            try await Self.seed(bed, client: client)
            // Eko's answer and a settlement, as the settler would record them.
            try await bed.server.database.writerForTests { db in
                try db.execute(sql: """
                    INSERT INTO eko_call (called_at, operation, reference, attempt, http_status, eko_status, tx_status, outcome, latency_ms)
                    VALUES ('2023-11-14 22:14:00.000', 'transaction_inquiry', 'AEPS1700000000123', 1, 200, 0, 0, 'answered', 84.5)
                    """)
                try db.execute(sql: """
                    INSERT INTO settlement (kind, client_ref_id, retailer_id, user_code, eko_tid, amount_paise, commission_paise, tds_paise, verified_by, created_at)
                    VALUES ('settlement', 'AEPS1700000000123', 1, '20810200', '3210000000', 50000, 150, 8, 'eko_inquiry', '2023-11-14 22:14:01.000')
                    """)
                try db.execute(sql: """
                    UPDATE aeps_transaction SET state = 'settled', eko_tx_status = 0, eko_amount_paise = 50000,
                    eko_answered_at = '2023-11-14 22:14:01.000', eko_answer_source = 'eko_inquiry' WHERE client_ref_id = 'AEPS1700000000123'
                    """)
            }
            let (op, _) = try await OpsBrowser.signIn(client, name: "operator")
            let page = try await op.get("/ops/transactions/AEPS1700000000123").body
            let titles = [
                "Callback: debit-hook", "Decision: approved", "Callback: eko-response", "eko-response (a claim)",
                "Eko transaction_inquiry (attempt 1)", "State now settled", "Settlement row",
            ]
            var last = page.startIndex
            for title in titles {
                let found = try #require(page.range(of: title, range: last..<page.endIndex), "\(title) missing or out of order")
                last = found.upperBound
            }
            #expect(page.contains("agrees with Eko"))
            #expect(page.contains("₹500.00, commission ₹1.50, TDS ₹0.08"))
            #expect(page.contains("XXXX XXXX 1234"))
            // The settlements page adds it up in rupees.
            let settlements = try await op.get("/ops/settlements").body
            #expect(settlements.contains("2023-11-15"))
            #expect(settlements.contains("₹500.00"))
        }
    }

    @Test func searchFiltersAndKeysetPages() async throws {
        let bed = try await OpsTestBed()
        try await bed.server.addRetailer()
        try await bed.server.database.writerForTests { db in
            for index in 1...120 {
                let decided = pinnedNow.addingTimeInterval(Double(index) * 60)
                try db.execute(sql: """
                    INSERT INTO aeps_transaction (client_ref_id, retailer_id, user_code, type, amount_raw, amount_paise,
                      customer_mobile, request_fingerprint, decision, reason, state, decided_at, ist_day, created_at, updated_at,
                      eko_tid, bank_ref_num)
                    VALUES (?, 1, '20810200', 2, '500', 50000, ?, 'f', 'approved', 'approved', ?, ?, '2023-11-15', ?, ?, ?, ?)
                    """, arguments: [
                        String(format: "REF%04d", index), index == 7 ? "9000000007" : "9876543210",
                        index % 2 == 0 ? "settled" : "pending", decided, decided, decided, "TID\(index)", "RRN\(index)",
                    ])
            }
        }
        let direct = try await bed.server.database.searchTransactions(TransactionFilter(), after: nil, limit: 51)
        #expect(direct.count == 51)
        let second = try await bed.server.database.searchTransactions(TransactionFilter(), after: direct[49].transaction.id, limit: 51)
        #expect(second.first?.transaction.clientRefId == "REF0070")
        try await bed.test { client in
            let (op, _) = try await OpsBrowser.signIn(client, name: "viewer")
            var seen: [String] = []
            var uri: String? = "/ops/transactions"
            var pages = 0
            while let next = uri, pages < 5 {
                pages += 1
                let body = try await op.get(next).body
                let refs = body.components(separatedBy: "\">REF").dropFirst().map { "REF" + $0.prefix(4) }
                seen += refs
                uri = body.range(of: "id=\"next-page\" href=\"").map { start in
                    String(body[start.upperBound...].prefix { $0 != "\"" }).replacingOccurrences(of: "&amp;", with: "&")
                }
            }
            #expect(pages == 3)
            #expect(seen.count == 120)
            #expect(seen == (1...120).reversed().map { String(format: "REF%04d", $0) })
            // Each search key finds its transaction; the mobile is matched whole and shown masked.
            for q in ["REF0007", "TID7", "RRN7", "9000000007"] {
                let body = try await op.get("/ops/transactions?q=\(q)").body
                #expect(body.components(separatedBy: "\">REF").count == 2, "q=\(q)")
                #expect(body.contains(">REF0007<"), "q=\(q)")
                #expect(body.contains("XXXXXX0007"))
            }
            #expect(try await op.get("/ops/transactions?q=900000").body.contains("No transactions match"))
            let pending = try await op.get("/ops/transactions?state=pending&type=2&from=2023-11-15&to=2023-11-15").body
            #expect(pending.components(separatedBy: "\">REF").count == 51)  // a full page of the 60 pending
            // A bad filter gets a 400 page naming it.
            for (query, name) in [("state=lost", "state:"), ("type=9", "type:"), ("from=15-11-2023", "from:"),
                                  ("after=x", "after:"), ("reason=%3Cb%3E", "reason:"), ("q=a%20b", "q:")] {
                let answer = try await op.get("/ops/transactions?\(query)")
                #expect(answer.status == .badRequest, "\(query)")
                #expect(answer.body.contains(name), "\(query)")
            }
        }
    }

    @Test func exportsQuoteNeutraliseAndMask() async throws {
        let bed = try await OpsTestBed()
        try await bed.test { client in
            try await bed.server.addRetailer(name: "=HYPERLINK(\"http://evil\"), \"Ltd\"")
            #expect(try await postCallback(client, debitHookBody()).json["allow"] == .bool(true))
            let (op, _) = try await OpsBrowser.signIn(client, name: "viewer")
            let csv = try await op.get("/ops/export.csv?q=20810200")
            #expect(csv.status == .ok)
            #expect(csv.headers[.contentType] == "text/csv; charset=utf-8")
            let lines = csv.body.components(separatedBy: "\r\n")
            #expect(lines[0].hasPrefix("client_ref_id,decided_at_ist,ist_day,user_code,retailer,"))
            #expect(lines.count == 3 && lines[2].isEmpty)
            #expect(lines[1].contains(",\"'=HYPERLINK(\"\"http://evil\"\"), \"\"Ltd\"\"\","))
            #expect(lines[1].contains(",XXXXXX3210,"))
            #expect(!csv.body.contains(Self.mobile))
            let json = try await op.get("/ops/export.json?q=20810200")
            let rows = try JSONValue.parse(json.body)
            guard case .array(let items) = rows else { Issue.record("not an array: \(json.body)"); return }
            #expect(items.count == 1)
            #expect(items.first?["customer_mobile"] == .string("XXXXXX3210"))
            #expect(items.first?["retailer"] == .string("=HYPERLINK(\"http://evil\"), \"Ltd\""))
            #expect(!json.body.contains(Self.mobile))
            // An empty view is an empty (valid) export.
            #expect(try JSONValue.parse(try await op.get("/ops/export.json?q=nobody").body) == .array([]))
            #expect(try await op.get("/ops/export.csv?state=nope").status == .badRequest)
        }
    }

    @Test func everyActionIsAuditedWhoWhenWhatWhy() async throws {
        let bed = try await OpsTestBed()
        try await bed.test { client in
            try await Self.seed(bed, client: client)
            let (op, _) = try await OpsBrowser.signIn(client, name: "operator")
            let path = "/ops/transactions/AEPS1700000000123"
            #expect(try await op.act("\(path)/resolve", ["note": "  "]).status == .badRequest)  // a note is required
            #expect(try await op.act("\(path)/inquire").status == .seeOther)
            #expect(try await op.act("\(path)/resolve", ["note": "paid out, confirmed by phone"]).status == .seeOther)
            #expect(try await op.act("/ops/retailers/20810200/disable", ["note": "fraud report"]).status == .seeOther)
            #expect(try await bed.server.database.retailer(userCode: "20810200")?.active == false)
            #expect(try await op.act("/ops/retailers/20810200/enable").status == .seeOther)
            #expect(try await op.act("/ops/retailers/20810200/revoke-sessions").status == .seeOther)
            #expect(try await op.act("/ops/retailers/nobody/enable").status == .notFound)
            #expect(try await op.act("/ops/kill-switch", ["state": "on", "note": "incident"]).status == .seeOther)
            #expect(try await op.act("/ops/kill-switch", ["state": "off"]).status == .seeOther)
            #expect(try await op.get("/ops/export.csv?q=\(Self.mobile)").status == .ok)
            #expect(try await op.get("/ops/export.json").status == .ok)
            let timeline = try await op.get(path).body
            #expect(timeline.contains("Resolved by operator"))
            #expect(timeline.contains("Operator: re_inquire by operator"))
            #expect(try await op.act("/ops/logout").status == .seeOther)
        }
        let rows = try await bed.server.rows("SELECT actor, action, target, note, at FROM ops_audit ORDER BY id")
        #expect(rows.map { $0["action"] ?? nil } == [
            "sign_in", "re_inquire", "resolve", "retailer_disable", "retailer_enable", "revoke_sessions", "kill_switch_on",
            "kill_switch_off", "export_csv", "export_json", "sign_out",
        ])
        #expect(rows.allSatisfy { $0["actor"] == "operator" && $0["at"] != nil })
        #expect(rows[2]["target"] == "transaction:AEPS1700000000123")
        #expect(rows[2]["note"] == "paid out, confirmed by phone")
        #expect(rows[3]["note"] == "fraud report")
        #expect(rows[3]["target"] == "retailer:20810200")
        #expect(rows[6]["note"] == "incident")
        #expect(rows[8]["target"] == "q=XXXXXX3210")  // the export's filter, the mobile masked
        // The resolution is on the transaction; its money rows and state are untouched.
        let resolved = try await bed.server.rows(
            "SELECT resolved_by, resolution_note, state FROM aeps_transaction WHERE client_ref_id = 'AEPS1700000000123'"
        )
        #expect(resolved == [["resolved_by": "operator", "resolution_note": "paid out, confirmed by phone", "state": "approved"]])
        // The audit log cannot be edited or pruned.
        await #expect(throws: (any Error).self) {
            try await bed.server.database.writerForTests { db in try db.execute(sql: "UPDATE ops_audit SET note = 'x'") }
        }
        await #expect(throws: (any Error).self) {
            try await bed.server.database.writerForTests { db in try db.execute(sql: "DELETE FROM ops_audit") }
        }
    }

    @Test func theOverviewShowsTheKillSwitchAndTheDatabaseSize() async throws {
        let bed = try await OpsTestBed()
        try await bed.test { client in
            let (op, _) = try await OpsBrowser.signIn(client, name: "operator")
            let before = try await op.get("/ops").body
            #expect(before.contains("off: debit-hooks are decided by the policy"))
            #expect(before.contains("id=\"database-size\""))
            #expect(try await op.act("/ops/kill-switch", ["state": "on"]).status == .seeOther)
            let after = try await op.get("/ops?notice=kill-switch-on").body
            #expect(after.contains("ON: every debit-hook is refused"))
        }
        let status = try await bed.server.database.databaseStatus()
        #expect(status.fileBytes > 0)
    }
}

/// The overview says what the last retention run removed (the sweeper runs it; here it is run directly).
@Suite struct OpsRetentionOverviewTests {
    @Test func theOverviewShowsTheLastRetentionRun() async throws {
        let bed = try await OpsTestBed()
        try await bed.server.database.writerForTests { db in
            try db.execute(sql: """
                INSERT INTO login_attempt (account, remote_address, outcome, attempted_at)
                VALUES ('20810200', '203.0.113.7', 'failed', '2020-01-01 00:00:00.000')
                """)
        }
        try await bed.test { client in
            let (browser, _) = try await OpsBrowser.signIn(client, name: "viewer")
            #expect(try await browser.get("/ops").body.contains("not run yet"))
            _ = try await bed.server.database.applyRetention(RetentionPolicy(), now: pinnedNow)
            let body = try await browser.get("/ops").body
            #expect(!body.contains("not run yet"))
            #expect(body.contains("removed 0 from login_session, 1 from login_attempt"))
        }
    }
}
