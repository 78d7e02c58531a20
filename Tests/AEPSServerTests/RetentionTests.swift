import AEPSServer
import EkoSigning
import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct RetentionTests {
    static let day = 86_400.0

    /// Old rows of every kind retention may touch, young ones beside them, and the money records it must never
    /// touch; then one run by the sweeper (as the composition root builds it) with its clock 100 days on.
    @Test func oldBodiesAndSessionsGoWhileTheRecordOfMoneyStays() async throws {
        let server = try TestServer()
        try await server.addRetailer()
        // A real hook, decided at the pinned time under the retailer's gateway session: its transaction references
        // that session, and its callback_log row holds a masked body.
        try await server.makeApp().test(.router) { client in
            let answer = try await postCallback(client, debitHookBody(clientRefID: "RET-OLD-HOOK"))
            #expect(answer.json["allow"] == .bool(true))
        }
        let now = pinnedNow.addingTimeInterval(100 * Self.day)
        let ago: @Sendable (Double) -> Date = { days in now.addingTimeInterval(-days * Self.day) }
        let hour: @Sendable (Date) -> String = { date in String(ISO8601DateFormatter().string(from: date).prefix(13)) }
        try await server.database.writerForTests { db in
            let retailerID = try Int64.fetchOne(db, sql: "SELECT id FROM retailer")!
            // A young callback body (10 days old) is kept.
            try db.execute(sql: """
                INSERT INTO callback_log (received_at, request_id, action, client_ref_id, http_status, outcome, body,
                                          body_bytes, latency_ms, body_digest)
                VALUES (?, 'young', 'eko-response', 'RET-YOUNG', 200, 'received', '{"young":true}', 14, 1.0, 'abc')
                """, arguments: [ago(10)])
            // Gateway sessions: ended long ago and unreferenced (deleted), revoked long ago (deleted), ended 10 days
            // ago (kept).
            for (token, expires, revoked) in [("gone", ago(60), nil), ("revoked", ago(-1), ago(45)), ("recent", ago(10), nil)]
                as [(String, Date, Date?)]
            {
                try db.execute(sql: """
                    INSERT INTO gateway_session (token_hash, retailer_id, user_code, environment, issued_via, created_at,
                                                 expires_at, revoked_at)
                    VALUES (?, ?, '20810200', 'uat', 'test', ?, ?, ?)
                    """, arguments: [token, retailerID, ago(70), expires, revoked])
            }
            // Sign-in attempts: 5 old (deleted in several batches), 1 young.
            for days in [31.0, 40, 50, 60, 99, 1] {
                try db.execute(
                    sql: "INSERT INTO login_attempt (account, remote_address, outcome, attempted_at) VALUES ('x', '192.0.2.1', 'failed', ?)",
                    arguments: [ago(days)]
                )
            }
            // Page sessions: one expired (deleted), one live (kept).
            try db.execute(sql: """
                INSERT INTO login_session (key_hash, value, expires_at, retailer_id) VALUES
                ('expired', x'7b7d', ?, ?), ('live', x'7b7d', ?, ?)
                """, arguments: [ago(1), retailerID, ago(-1), retailerID])
            // Per-source hours: 40 days old (deleted), 2 days old (kept).
            try db.execute(sql: """
                INSERT INTO callback_source (source, hour, requests, bytes, logged) VALUES
                ('192.0.2.9', ?, 3, 300, 3), ('192.0.2.9', ?, 1, 100, 1)
                """, arguments: [hour(ago(40)), hour(ago(2))])
            // The record of money, however old: a settlement, a report, a call to Eko.
            try db.execute(sql: """
                INSERT INTO settlement (kind, client_ref_id, retailer_id, user_code, amount_paise, verified_by, created_at)
                VALUES ('settlement', 'RET-OLD-HOOK', ?, '20810200', 50000, 'inquiry', ?)
                """, arguments: [retailerID, ago(99)])
        }

        let untouched = [
            "SELECT * FROM aeps_transaction ORDER BY id", "SELECT * FROM settlement ORDER BY id",
            "SELECT * FROM eko_response ORDER BY id", "SELECT * FROM eko_call ORDER BY id", "SELECT * FROM retailer ORDER BY id",
            "SELECT id, received_at, request_id, client_ref_id, outcome, reason, body_bytes, body_digest FROM callback_log ORDER BY id",
        ]
        let runsBefore = try await server.query { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM retention_run") ?? 0 }
        var before: [[[String: String?]]] = []
        for sql in untouched { before.append(try await server.rows(sql)) }
        #expect(before[0].count == 1)

        let clock = TestClock(now)
        let dependencies = AppDependencies(
            database: server.database, signer: EkoSigner(accessKey: EkoAccessKey(uatAccessKey)!), clock: { clock.now },
            logger: server.logs.logger()
        )
        let sweeper = buildSettlement(config: server.config, dependencies: dependencies).sweeper
        let run = try #require(await sweeper.runRetention())

        var expected = RetentionRemoved()
        expected.loginSessions = 1
        expected.loginAttempts = 5
        expected.gatewaySessions = 2
        expected.callbackSources = 1
        expected.callbackBodies = 1
        #expect(run.removed == expected)
        #expect(run.ranAt == now)

        // Rows that say what happened stay exactly as they were; only the old body is gone.
        for (index, sql) in untouched.enumerated() {
            #expect(try await server.rows(sql) == before[index], "changed: \(sql)")
        }
        let bodies = try await server.rows("SELECT client_ref_id, body IS NULL AS dropped, body_digest FROM callback_log ORDER BY id")
        #expect(bodies.map { $0["client_ref_id"] ?? nil } == ["RET-OLD-HOOK", "RET-YOUNG"])
        #expect(bodies.map { $0["dropped"] ?? nil } == ["1", "0"])
        #expect(bodies.allSatisfy { ($0["body_digest"] ?? nil) != nil })
        // The gateway session the transaction references is kept however old; the unreferenced old ones are gone.
        let sessions = try await server.rows("SELECT token_hash FROM gateway_session ORDER BY id")
        #expect(sessions.map { $0["token_hash"] ?? nil } == [SecretToken.hash(defaultGatewayToken), "recent"])
        #expect(try await server.rows("SELECT key_hash FROM login_session") == [["key_hash": "live"]])
        #expect(try await server.rows("SELECT COUNT(*) AS n FROM login_attempt") == [["n": "1"]])
        #expect(try await server.rows("SELECT hour FROM callback_source") == [["hour": hour(ago(2))]])

        // The run is recorded and the console's status reports it with the file's size.
        let status = try await server.database.retentionStatus()
        #expect(status.lastRun == run)
        #expect(status.databaseBytes > 0)
        #expect(status.totalBytes == status.databaseBytes + status.walBytes)
        #expect(status.freeBytes >= 0)

        // A second run finds nothing more, and is the one reported.
        clock.advance(seconds: 60)
        let again = try #require(await sweeper.runRetention())
        #expect(again.removed == RetentionRemoved())
        #expect(try await server.database.retentionStatus().lastRun == again)
        #expect(try await server.rows("SELECT COUNT(*) AS n FROM retention_run") == [["n": "\(runsBefore + 2)"]])
    }

    /// Pruning goes in small write transactions (so a debit-hook never waits long for the lock) until done.
    @Test func aLargeBacklogIsPrunedInBatchesToTheEnd() async throws {
        let server = try TestServer()
        let now = pinnedNow.addingTimeInterval(400 * Self.day)
        try await server.database.writerForTests { db in
            for index in 0..<7 {
                try db.execute(
                    sql: "INSERT INTO login_attempt (account, remote_address, outcome, attempted_at) VALUES (?, NULL, 'failed', ?)",
                    arguments: ["a\(index)", pinnedNow]
                )
            }
        }
        let run = try await server.database.applyRetention(RetentionPolicy(), now: now, batchSize: 2)
        #expect(run.removed.loginAttempts == 7)
        #expect(try await server.rows("SELECT COUNT(*) AS n FROM login_attempt") == [["n": "0"]])
    }

    @Test func beforeAnyRunTheStatusHasNoRunAndTheSizeOfTheFile() async throws {
        let server = try TestServer()
        let status = try await server.database.retentionStatus()
        #expect(status.lastRun == nil)
        let size = try FileManager.default.attributesOfItem(atPath: server.config.databasePath)[.size] as? NSNumber
        #expect(status.databaseBytes == size?.int64Value)
    }

    @Test func retentionSettingsAreReadAndCheckedByName() throws {
        let config = try AppConfig.parse(Data(configJSON([
            "retention": #"{"callback_body_days": 7, "login_attempt_days": 2, "interval_minutes": 5}"#,
        ]).utf8))
        #expect(config.retention.callbackBodyDays == 7)
        #expect(config.retention.loginAttemptDays == 2)
        #expect(config.retention.gatewaySessionDays == 30)
        #expect(config.retentionIntervalMinutes == 5)
        let defaults = try AppConfig.parse(Data(configJSON([:]).utf8))
        #expect(defaults.retention == RetentionPolicy())
        #expect(defaults.retention.callbackBodyDays == 90)
        #expect(throws: ConfigError(key: "retention.callback_body_days", "expected a whole number from 1 to 3650, got 0")) {
            try AppConfig.parse(Data(configJSON(["retention": #"{"callback_body_days": 0}"#]).utf8))
        }
        #expect(throws: ConfigError.self) {
            try AppConfig.parse(Data(configJSON(["retention": #"{"transactions_days": 30}"#]).utf8))
        }
    }
}
