@testable import AEPSServer
import Foundation
import GRDB
import Testing

/// "2026-11-28-approval-counters" on a file written before it: the counters start from the approvals already
/// stored, so a cap counts yesterday's upgrade-day approvals exactly as the old counting queries did.
@Suite struct ApprovalCounterMigrationTests {
    @Test func theCountersStartFromTheStoredApprovals() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("aeps.sqlite")
        let before = try DatabaseQueue(path: path)
        try AppDatabase.migrator.migrate(before, upTo: "2026-11-27-ops-console")
        try await before.write { db in
            try db.execute(sql: """
                INSERT INTO retailer (id, user_code, name, active, created_at, updated_at)
                VALUES (1, '20810200', 'Shop', 1, '2026-11-25 10:00:00.000', '2026-11-25 10:00:00.000');
                INSERT INTO gateway_session (id, token_hash, retailer_id, user_code, environment, issued_via, created_at, expires_at)
                VALUES (7, 't1', 1, '20810200', 'uat', 'page', '2026-11-25 10:00:00.000', '2999-01-01 00:00:00.000');
                """)
            let rows: [(String, Int, Int64?, String, String, Int64?)] = [
                ("A1", 2, 50_000, "9876543210", "approved", 7), ("A2", 2, 100_000, "9876543210", "approved", 7),
                ("A3", 2, 20_000, "9876543211", "approved", nil), ("A4", 3, nil, "9876543210", "approved", 7),
                ("R1", 2, 900_000, "9876543210", "refused", 7),
            ]
            for (ref, type, paise, mobile, decision, session) in rows {
                try db.execute(sql: """
                    INSERT INTO aeps_transaction (client_ref_id, retailer_id, user_code, type, amount_paise, customer_mobile,
                      request_fingerprint, decision, reason, state, decided_at, created_at, updated_at, ist_day, gateway_session_id)
                    VALUES (?, 1, '20810200', ?, ?, ?, 'f', ?, 'ok', ?, '2026-11-25 10:00:00.000', '2026-11-25 10:00:00.000',
                      '2026-11-25 10:00:00.000', '2026-11-25', ?)
                    """, arguments: [ref, type, paise, mobile, decision, decision, session])
            }
        }
        try before.close()

        let database = try AppDatabase.open(path: path)
        #expect(try database.migrate() == ["2026-11-28-approval-counters"])
        let counters = try await DatabaseQueue(path: path).read { db in
            try Row.fetchAll(db, sql: "SELECT scope, key, day, approvals, amount_paise FROM approval_counter ORDER BY scope, key")
                .map { "\($0["scope"] as String) \($0["key"] as String) \($0["day"] as String) \($0["approvals"] as Int) \($0["amount_paise"] as Int64)" }
        }
        #expect(counters == [
            "customer 9876543210 2026-11-25 2 150000", "customer 9876543211 2026-11-25 1 20000",
            "retailer 1 2026-11-25 3 170000", "session 7  3 150000",
        ])
        // The indexes nothing reads are gone; the searched ones are partial.
        let indexes = try await DatabaseQueue(path: path).read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'aeps_transaction' AND sql IS NOT NULL ORDER BY name")
        }
        #expect(!indexes.contains("aeps_transaction_on_state"))
        #expect(!indexes.contains("aeps_transaction_on_retailer_day"))
        #expect(indexes.contains("aeps_transaction_on_eko_tid"))
    }
}
