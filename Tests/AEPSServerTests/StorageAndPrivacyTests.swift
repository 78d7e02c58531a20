import AEPSServer
import EkoSigning
import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Testing

/// What lands in the SQLite file and in the logs after real exchanges: full records where they belong, masked
/// personal data everywhere else, and no secrets anywhere.
@Suite struct StorageAndPrivacyTests {
    static let fullAadhaar = "234567890123"

    /// One approved withdrawal, its success report (carrying a full Aadhaar number, as a careless gateway might),
    /// and a malformed body carrying one too.
    func runExchanges(_ server: TestServer) async throws -> (secretKey: String, requestHash: String) {
        try await server.makeApp().test(.router) { client in
            let approval = try await postCallback(client, debitHookBody())
            try await postCallback(client, ekoResponseBody(aadhaar: Self.fullAadhaar))
            try await postCallback(client, #"{"action": "eko-response", "detail": {"aadhaar": "2345 6789 0123", "#)
            return (
                try #require(approval.json["secret_key"]?.scalarText),
                try #require(approval.json["request_hash"]?.scalarText)
            )
        }
    }

    @Test func theTransactionRowKeepsTheRecordAndOnlyTheLastFourAadhaarDigits() async throws {
        let server = try TestServer()
        try await server.addRetailer()
        _ = try await runExchanges(server)
        let rows = try await server.rows("""
            SELECT client_ref_id, user_code, type, amount_raw, amount_paise, customer_mobile, bank_code, decision,
                   reason, state, aadhaar_last4, decided_at IS NOT NULL AS decided, retailer_id IS NOT NULL AS linked
            FROM aeps_transaction
            """)
        #expect(rows == [[
            "client_ref_id": "AEPS1700000000123", "user_code": "20810200", "type": "2", "amount_raw": "500",
            "amount_paise": "50000", "customer_mobile": "9876543210", "bank_code": "607153", "decision": "approved",
            "reason": "approved", "state": "approved", "aadhaar_last4": "0123", "decided": "1", "linked": "1",
        ]])
    }

    @Test func storedBodiesAreMaskedAndHoldNoSecrets() async throws {
        let server = try TestServer()
        try await server.addRetailer()
        let signed = try await runExchanges(server)
        let bodies = try await server.rows("SELECT body FROM callback_log ORDER BY id").compactMap { $0["body"] ?? nil }
        #expect(bodies.count == 2)
        // The request that did not parse left its size and digest, not its text.
        #expect(try await server.rows("SELECT body, length(body_digest) AS digest FROM callback_log WHERE http_status = 400")
            == [["body": nil, "digest": "64"]])
        let everything = try await server.query { db in
            try String.fetchAll(db, sql: "SELECT quote(body) || quote(reason) || quote(origin) FROM callback_log")
                .joined()
        }
        #expect(!everything.contains(Self.fullAadhaar))
        #expect(!everything.contains("2345 6789 0123"))
        #expect(!everything.contains("9876543210"))
        #expect(!everything.contains("412345678901"))  // a 12-digit bank reference is masked in bodies too
        #expect(!everything.contains(defaultGatewayToken))
        #expect(!everything.contains(signed.secretKey))
        #expect(!everything.contains(signed.requestHash))
        #expect(!everything.contains(uatAccessKey))
        let hook = try JSONValue.parse(bodies[0])
        #expect(hook["detail"]?["data"]?["customer_id"] == .string("XXXXXX3210"))
        #expect(hook["detail"]?["data"]?["amount"] == .string("500"))
        #expect(hook["aeps_session"] == .string("[redacted]"))
        let response = try JSONValue.parse(bodies[1])
        #expect(response["detail"]?["response"]?["data"]?["aadhar"] == .string("XXXXXXXX0123"))
    }

    @Test func logLinesHoldNoSecretsOrPersonalData() async throws {
        let server = try TestServer()
        try await server.addRetailer()
        let signed = try await runExchanges(server)
        let logs = server.logs.text
        #expect(logs.contains("debit-hook decided"))
        for secret in [uatAccessKey, signed.secretKey, signed.requestHash, "9876543210", Self.fullAadhaar, defaultGatewayToken] {
            #expect(!logs.contains(secret), "log lines contain \(secret.prefix(6))…")
        }
    }

    @Test func theFileIsInWALModeWithFullSynchronousWrites() async throws {
        let server = try TestServer()
        let journal = try await server.query { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(journal == "wal")
        let synchronous = try await server.database.reader.read { db in
            try Int.fetchOne(db, sql: "PRAGMA synchronous")
        }
        #expect(synchronous == 2)  // FULL
    }

    @Test func everyCallbackIsLoggedWithItsTimingAndRequestID() async throws {
        let server = try TestServer()
        try await server.addRetailer()
        _ = try await runExchanges(server)
        let rows = try await server.rows("""
            SELECT action, outcome, http_status, origin, client_ref_id, latency_ms >= 0 AS timed,
                   length(request_id) > 0 AS identified, body_bytes > 0 AS sized
            FROM callback_log ORDER BY id
            """)
        #expect(rows == [
            ["action": "debit-hook", "outcome": "approved", "http_status": "200", "origin": stageOrigin,
             "client_ref_id": "AEPS1700000000123", "timed": "1", "identified": "1", "sized": "1"],
            ["action": "eko-response", "outcome": "received", "http_status": "200", "origin": stageOrigin,
             "client_ref_id": "AEPS1700000000123", "timed": "1", "identified": "1", "sized": "1"],
            ["action": nil, "outcome": "rejected", "http_status": "400", "origin": stageOrigin,
             "client_ref_id": nil, "timed": "1", "identified": "1", "sized": "1"],
        ])
    }

    @Test func migrationsAreRecordedAndASecondRunDoesNothing() async throws {
        let server = try TestServer()
        #expect(try server.database.migrate().isEmpty)
        #expect(try await server.database.pendingMigrations().isEmpty)
        let applied = try await server.query { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations") }
        #expect(applied == [
            "2026-11-25-foundation", "2026-11-25-sessions", "2026-11-25-policy", "2026-11-25-eko-calls", "2026-11-25-settlement",
            "2026-11-26-signing", "2026-11-26-sessions-hardening", "2026-11-26-settlement-rules", "2026-11-27-retention", "2026-11-27-ops-console",
            "2026-11-28-approval-counters",
        ])
    }

    @Test func aDatabaseFromANewerVersionIsRefused() async throws {
        let server = try TestServer()
        try await server.database.writerForTests { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('2099-01-01-future')")
        }
        #expect(throws: SupersededDatabaseError.self) { try server.database.migrate() }
    }
}

@Suite struct RedactorTests {
    @Test(arguments: [
        ("aadhaar 234567890123 here", "aadhaar XXXXXXXX0123 here"),
        ("2345 6789 0123", "XXXX XXXX 0123"),
        ("2345-6789-0123", "XXXX-XXXX-0123"),
        ("12345678901234567890", "XXXXXXXXXXXXXXXX7890"),
        ("9876543210 20810200", "9876543210 20810200"),
        ("01-01-24 10:00:00", "01-01-24 10:00:00"),
        ("12345678901", "12345678901"),
    ])
    func digitRunsOfTwelveOrMoreAreMasked(input: String, expected: String) {
        #expect(Redactor.maskDigitRuns(input) == expected)
    }

    @Test func secretsAreRedactedAtAnyDepthAndNumbersToo() throws {
        let value = try JSONValue.parse(#"{"a": [{"secret_key": "s", "request_hash": 5, "uid": 234567890123, "n": 234567890123}]}"#)
        let masked = Redactor.mask(value)
        #expect(masked.serialized() == #"{"a":[{"secret_key":"[redacted]","request_hash":"[redacted]","uid":"XXXXXXXX0123","n":"XXXXXXXX0123"}]}"#)
    }
}
