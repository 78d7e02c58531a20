@testable import AEPSServer
import Foundation
import GRDB
import Testing

/// "2026-11-26-sessions-hardening" on a file written before it: sign-in history, page sign-ins and partner-opened
/// gateway sessions are carried over, linked to their retailer and key, so the new revocations reach them.
@Suite struct SessionsMigrationTests {
    @Test func anUpgradedFileKeepsItsHistoryAndLinksOldSessions() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("aeps.sqlite")
        let before = try DatabaseQueue(path: path)
        try AppDatabase.migrator.migrate(before, upTo: "2026-11-25-settlement")
        try await before.write { db in
            try db.execute(sql: """
                INSERT INTO retailer (id, user_code, name, active, created_at, updated_at)
                VALUES (1, '20810200', 'Shop', 1, '2026-11-25 10:00:00.000', '2026-11-25 10:00:00.000');
                INSERT INTO api_key (id, name, key_hash, created_at) VALUES (4, 'portal', 'h', '2026-11-25 10:00:00.000');
                INSERT INTO gateway_session (token_hash, retailer_id, user_code, environment, issued_via, created_at, expires_at)
                VALUES ('t1', 1, '20810200', 'uat', 'api:portal', '2026-11-25 10:00:00.000', '2999-01-01 00:00:00.000'),
                       ('t2', 1, '20810200', 'uat', 'page', '2026-11-25 10:00:00.000', '2999-01-01 00:00:00.000');
                INSERT INTO login_attempt (account, remote_address, succeeded, attempted_at)
                VALUES ('20810200', '203.0.113.7', 0, '2026-11-25 10:00:00.000'),
                       ('20810200', '203.0.113.7', 1, '2026-11-25 10:00:01.000');
                INSERT INTO login_session (key_hash, value, expires_at)
                VALUES ('k1', CAST('{"retailerID":1,"csrfToken":"c","credentialStamp":"s"}' AS BLOB), NULL),
                       ('k2', CAST('not a session' AS BLOB), NULL);
                """)
        }
        try before.close()

        let database = try AppDatabase.open(path: path)
        #expect(try database.migrate().contains("2026-11-26-sessions-hardening"))
        let file = try DatabaseQueue(path: path)
        let attempts = try await file.read { db in
            try Row.fetchAll(db, sql: "SELECT outcome FROM login_attempt ORDER BY id").map { $0["outcome"] as String }
        }
        #expect(attempts == ["failed", "succeeded"])
        let links = try await file.read { db in
            try Row.fetchAll(db, sql: "SELECT token_hash, api_key_id FROM gateway_session ORDER BY id")
                .map { "\($0["token_hash"] as String):\(($0["api_key_id"] as Int64?).map(String.init) ?? "-")" }
        }
        #expect(links == ["t1:4", "t2:-"])
        let sessions = try await file.read { db in
            try Row.fetchAll(db, sql: "SELECT key_hash, retailer_id FROM login_session ORDER BY key_hash")
                .map { "\($0["key_hash"] as String):\($0["retailer_id"] as Int64)" }
        }
        #expect(sessions == ["k1:1"])

        // The links work: revoking the key and disabling the retailer reach what was opened before the upgrade.
        try await database.revokeAPIKey(name: "portal", now: Date(timeIntervalSince1970: 1_800_000_000))
        #expect(try await file.read { db in
            try String.fetchAll(db, sql: "SELECT token_hash FROM gateway_session WHERE revoked_at IS NOT NULL")
        } == ["t1"])
        try await database.setRetailerActive(userCode: "20810200", active: false, now: Date(timeIntervalSince1970: 1_800_000_000))
        #expect(try await file.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM login_session") } == 0)
    }
}
