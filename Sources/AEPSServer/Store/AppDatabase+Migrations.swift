import Foundation
import GRDB

extension AppDatabase {
    /// The schema's history. Append only: a migration is never edited once it has shipped.
    /// Migrations use plain table and column names, never application types.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()

        migrator.registerMigration("2026-11-25-foundation") { db in
            try db.create(table: "retailer") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("user_code", .text).notNull().unique()
                t.column("name", .text).notNull()
                t.column("active", .boolean).notNull().defaults(to: true)
                t.column("created_at", .datetime).notNull()
                t.column("updated_at", .datetime).notNull()
            }

            // One row per client_ref_id: the debit-hook's decision, then what Eko reported.
            try db.create(table: "aeps_transaction") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("client_ref_id", .text).notNull().unique()
                t.column("retailer_id", .integer).references("retailer", onDelete: .restrict)
                t.column("user_code", .text)
                t.column("type", .integer)
                t.column("amount_raw", .text)
                t.column("amount_paise", .integer)
                t.column("customer_mobile", .text)
                t.column("bank_code", .text)
                // SHA-256 of what the hook asked for, so a repeat can be told from a different request.
                t.column("request_fingerprint", .text).notNull()
                t.column("decision", .text).notNull().check(sql: "decision IN ('approved', 'refused')")
                t.column("reason", .text).notNull()
                t.column("message", .text)
                t.column("state", .text).notNull()
                t.column("reported_tx_status", .integer)
                t.column("reported_amount_paise", .integer)
                t.column("eko_tid", .text)
                t.column("bank_ref_num", .text)
                t.column("aadhaar_last4", .text).check { length($0) == 4 }
                t.column("decided_at", .datetime).notNull()
                t.column("reported_at", .datetime)
                t.column("created_at", .datetime).notNull()
                t.column("updated_at", .datetime).notNull()
            }
            try db.create(index: "aeps_transaction_on_user_code", on: "aeps_transaction", columns: ["user_code"])
            try db.create(index: "aeps_transaction_on_state", on: "aeps_transaction", columns: ["state"])

            // Every callback request, whatever happened to it. Bodies are stored masked (see Redactor).
            try db.create(table: "callback_log") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("received_at", .datetime).notNull()
                t.column("request_id", .text).notNull()
                t.column("remote_address", .text)
                t.column("origin", .text)
                t.column("action", .text)
                t.column("client_ref_id", .text)
                t.column("http_status", .integer).notNull()
                t.column("outcome", .text).notNull()
                t.column("reason", .text)
                t.column("body", .text)
                t.column("body_bytes", .integer).notNull()
                t.column("latency_ms", .double).notNull()
            }
            try db.create(index: "callback_log_on_client_ref_id", on: "callback_log", columns: ["client_ref_id"])
            try db.create(index: "callback_log_on_received_at", on: "callback_log", columns: ["received_at"])

            // Each distinct eko-response once; a byte-identical repeat is recognised by its digest.
            try db.create(table: "eko_response") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("callback_log_id", .integer).notNull().references("callback_log")
                t.column("client_ref_id", .text)
                t.column("digest", .text).notNull()
                t.column("matched", .boolean).notNull()
                t.column("tx_status", .integer)
                t.column("eko_tid", .text)
                t.column("amount_paise", .integer)
                t.column("received_at", .datetime).notNull()
                t.uniqueKey(["client_ref_id", "digest"])
            }
        }

        migrator.registerMigration("2026-11-25-sessions") { db in
            // Retailers sign in on the page; only a bcrypt hash is kept. NULL: no password set, cannot sign in.
            try db.alter(table: "retailer") { t in
                t.add(column: "password_hash", .text)
            }

            // The page's sign-in sessions (hummingbird-auth's session storage). Keyed by a SHA-256 of the cookie.
            try db.create(table: "login_session") { t in
                t.primaryKey("key_hash", .text)
                t.column("value", .blob).notNull()
                t.column("expires_at", .datetime)
            }

            // Every sign-in attempt, for throttling per account and per address.
            try db.create(table: "login_attempt") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("account", .text).notNull()
                t.column("remote_address", .text)
                t.column("succeeded", .boolean).notNull()
                t.column("attempted_at", .datetime).notNull()
            }
            try db.create(index: "login_attempt_on_account", on: "login_attempt", columns: ["account", "attempted_at"])
            try db.create(index: "login_attempt_on_address", on: "login_attempt", columns: ["remote_address", "attempted_at"])

            // One gateway opening: a token bound to one retailer and user_code, stored as its SHA-256 only.
            try db.create(table: "gateway_session") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("token_hash", .text).notNull().unique()
                t.column("retailer_id", .integer).notNull().references("retailer", onDelete: .restrict)
                t.column("user_code", .text).notNull()
                t.column("environment", .text).notNull()
                t.column("issued_via", .text).notNull()
                t.column("created_at", .datetime).notNull()
                t.column("expires_at", .datetime).notNull()
                t.column("revoked_at", .datetime)
            }

            // Partner API keys, stored as SHA-256 only.
            try db.create(table: "api_key") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("name", .text).notNull().unique()
                t.column("key_hash", .text).notNull().unique()
                t.column("created_at", .datetime).notNull()
                t.column("revoked_at", .datetime)
            }

            try db.alter(table: "aeps_transaction") { t in
                t.add(column: "gateway_session_id", .integer).references("gateway_session")
            }
        }

        migrator.registerMigration("2026-11-25-policy") { db in
            try db.alter(table: "retailer") { t in
                t.add(column: "daily_count_cap", .integer)
                t.add(column: "daily_amount_cap_paise", .integer)
                t.add(column: "paused", .boolean).notNull().defaults(to: false)
            }
            try db.alter(table: "gateway_session") { t in
                t.add(column: "language", .text)
            }
            try db.alter(table: "aeps_transaction") { t in
                t.add(column: "ist_day", .text)
            }
            // Dates are stored as UTC text; the Indian day is 5 h 30 min ahead.
            try db.execute(sql: "UPDATE aeps_transaction SET ist_day = date(decided_at, '+330 minutes')")
            // The caps count approved withdrawals per customer, per retailer and per session: keep those fast.
            try db.create(index: "aeps_transaction_on_customer_day", on: "aeps_transaction", columns: ["customer_mobile", "ist_day"])
            try db.create(index: "aeps_transaction_on_retailer_day", on: "aeps_transaction", columns: ["retailer_id", "ist_day"])
            try db.create(index: "aeps_transaction_on_gateway_session", on: "aeps_transaction", columns: ["gateway_session_id"])
            // Switches that take effect without a restart (the global kill switch).
            try db.create(table: "setting") { t in
                t.primaryKey("name", .text)
                t.column("value", .text).notNull()
                t.column("updated_at", .datetime).notNull()
            }
        }

        migrator.registerMigration("2026-11-25-eko-calls") { db in
            // Every call to Eko's server API: what was asked, how long it took, what came back (masked).
            try db.create(table: "eko_call") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("called_at", .datetime).notNull()
                t.column("operation", .text).notNull()
                t.column("reference", .text).notNull()
                t.column("attempt", .integer).notNull()
                t.column("http_status", .integer)
                t.column("eko_status", .integer)
                t.column("tx_status", .integer)
                t.column("outcome", .text).notNull()
                t.column("note", .text)
                t.column("body", .text)
                t.column("latency_ms", .double).notNull()
            }
            try db.create(index: "eko_call_on_reference", on: "eko_call", columns: ["reference"])
        }

        migrator.registerMigration("2026-11-25-settlement") { db in
            // Money follows Eko's own answer: one settlement row per withdrawal, one reversal row per refund of a
            // settled one. The unique key makes a second credit impossible, whatever runs twice.
            try db.create(table: "settlement") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("kind", .text).notNull().check(sql: "kind IN ('settlement', 'reversal')")
                t.column("client_ref_id", .text).notNull().references("aeps_transaction", column: "client_ref_id")
                t.column("retailer_id", .integer).references("retailer")
                t.column("user_code", .text)
                t.column("eko_tid", .text)
                t.column("bank_ref_num", .text)
                t.column("amount_paise", .integer).notNull()
                t.column("commission_paise", .integer)
                t.column("tds_paise", .integer)
                t.column("verified_by", .text).notNull()
                t.column("created_at", .datetime).notNull()
                t.uniqueKey(["client_ref_id", "kind"])
            }
            try db.create(index: "settlement_on_retailer", on: "settlement", columns: ["retailer_id"])
            // The sweeper's bookkeeping: how often Eko was asked, and when to ask next.
            try db.alter(table: "aeps_transaction") { t in
                t.add(column: "inquiry_attempts", .integer).notNull().defaults(to: 0)
                t.add(column: "next_inquiry_at", .datetime)
            }
            try db.create(index: "aeps_transaction_on_state_next", on: "aeps_transaction", columns: ["state", "next_inquiry_at"])
        }

        migrator.registerMigration("2026-11-26-signing") { db in
            // What a hook sent as request_hash_params (the server signs its own list; a change at Eko shows here).
            try db.alter(table: "aeps_transaction") { t in
                t.add(column: "hash_params_sent", .text)
            }
            // A request's body digest, kept when its body is not (unbound senders, unparsable bodies).
            try db.alter(table: "callback_log") { t in
                t.add(column: "body_digest", .text)
            }
            // Requests no live session vouched for, counted per source and hour, so a flood is visible and what it
            // can make us write is bounded.
            try db.create(table: "callback_source") { t in
                t.column("source", .text).notNull()
                t.column("hour", .text).notNull()
                t.column("requests", .integer).notNull()
                t.column("bytes", .integer).notNull()
                t.column("logged", .integer).notNull()
                t.primaryKey(["source", "hour"])
            }
        }

        migrator.registerMigration("2026-11-26-sessions-hardening") { db in
            // Sign-in attempts are reserved before the password is checked ('pending'), in the transaction that
            // counts earlier ones, then marked 'failed' or 'succeeded'. Rebuilt rather than altered: the
            // boolean `succeeded` becomes `outcome`.
            try db.create(table: "login_attempt_new") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("account", .text).notNull()
                t.column("remote_address", .text)
                t.column("outcome", .text).notNull().check(sql: "outcome IN ('pending', 'failed', 'succeeded')")
                t.column("attempted_at", .datetime).notNull()
            }
            try db.execute(sql: """
                INSERT INTO login_attempt_new (id, account, remote_address, outcome, attempted_at)
                SELECT id, account, remote_address, CASE WHEN succeeded THEN 'succeeded' ELSE 'failed' END, attempted_at
                FROM login_attempt
                """)
            try db.drop(table: "login_attempt")
            try db.rename(table: "login_attempt_new", to: "login_attempt")
            try db.create(
                index: "login_attempt_on_account_address", on: "login_attempt",
                columns: ["account", "remote_address", "attempted_at"]
            )
            try db.create(index: "login_attempt_on_address", on: "login_attempt", columns: ["remote_address", "attempted_at"])

            // Which partner API key opened a gateway session, so revoking the key revokes its sessions.
            try db.alter(table: "gateway_session") { t in
                t.add(column: "api_key_id", .integer).references("api_key")
            }
            try db.execute(sql: """
                UPDATE gateway_session
                SET api_key_id = (SELECT id FROM api_key WHERE 'api:' || api_key.name = gateway_session.issued_via)
                WHERE issued_via LIKE 'api:%'
                """)
            try db.create(index: "gateway_session_on_api_key", on: "gateway_session", columns: ["api_key_id"])
            try db.create(index: "gateway_session_on_retailer", on: "gateway_session", columns: ["retailer_id"])

            // Whose page sign-in a session is, so a new password or disabling the retailer ends them at once.
            try db.alter(table: "login_session") { t in
                t.add(column: "retailer_id", .integer).references("retailer", onDelete: .cascade)
            }
            struct StoredSession: Decodable { var retailerID: Int64 }
            for row in try Row.fetchAll(db, sql: "SELECT key_hash, value FROM login_session") {
                let keyHash: String = row["key_hash"]
                let value: Data = row["value"]
                if let session = try? JSONDecoder().decode(StoredSession.self, from: value) {
                    try db.execute(
                        sql: "UPDATE login_session SET retailer_id = ? WHERE key_hash = ?",
                        arguments: [session.retailerID, keyHash]
                    )
                } else {
                    // Not a retailer's session: nobody can be signed in by it.
                    try db.execute(sql: "DELETE FROM login_session WHERE key_hash = ?", arguments: [keyHash])
                }
            }
            try db.create(index: "login_session_on_retailer", on: "login_session", columns: ["retailer_id"])
        }

        migrator.registerMigration("2026-11-26-settlement-rules") { db in
            // Money follows Eko, not the browser (Policy/SettlementRules). A transaction remembers Eko's latest
            // answer, carries a flag with both sides of a disagreement, and is queued for inquiry explicitly.
            try db.alter(table: "aeps_transaction") { t in
                // Why a person must look, and both values: what our side had (report, approval, ledger) and Eko.
                t.add(column: "flag_reason", .text)
                t.add(column: "flag_claimed", .text)
                t.add(column: "flag_eko", .text)
                t.add(column: "flagged_at", .datetime)
                // The latest answer applied: Eko's inquiry, or (verification off) the report, marked as such.
                t.add(column: "eko_tx_status", .integer)
                t.add(column: "eko_amount_paise", .integer)
                t.add(column: "eko_answered_at", .datetime)
                t.add(column: "eko_answer_source", .text)
                // The inquiry queue: when Eko was last asked, and until when a settled (or failed) one is re-asked.
                t.add(column: "last_inquiry_at", .datetime)
                t.add(column: "recheck_until", .datetime)
                // When a final answer from Eko was compared with the latest report (a report is flagged once).
                t.add(column: "report_checked_at", .datetime)
            }
            try db.create(
                index: "aeps_transaction_on_next_inquiry", on: "aeps_transaction", columns: ["next_inquiry_at"],
                condition: Column("next_inquiry_at") != nil
            )
            try db.create(
                index: "aeps_transaction_on_flag", on: "aeps_transaction", columns: ["flag_reason"],
                condition: Column("flag_reason") != nil
            )
            // Before this, a browser report moved the state. A state no Eko answer confirmed (no inquiry answered
            // with its tx_status, no reversal) was only a claim: back to what the ledger says, and ask Eko.
            try db.execute(sql: """
                UPDATE aeps_transaction SET
                  state = CASE WHEN EXISTS (SELECT 1 FROM settlement s WHERE s.client_ref_id = aeps_transaction.client_ref_id
                                            AND s.kind = 'settlement') THEN 'settled' ELSE 'approved' END,
                  next_inquiry_at = updated_at
                WHERE decision = 'approved'
                  AND state IN ('success', 'failed', 'pending', 'hold', 'refund_pending', 'refunded')
                  AND NOT EXISTS (SELECT 1 FROM settlement r WHERE r.client_ref_id = aeps_transaction.client_ref_id
                                  AND r.kind = 'reversal')
                  AND NOT EXISTS (SELECT 1 FROM eko_call c WHERE c.reference = aeps_transaction.client_ref_id
                                  AND c.outcome = 'answered' AND c.eko_status = 0
                                  AND c.tx_status = CASE aeps_transaction.state WHEN 'pending' THEN 2 WHEN 'hold' THEN 5
                                      WHEN 'refund_pending' THEN 3 WHEN 'refunded' THEN 4 ELSE -1 END)
                """)
            // The queue is explicit now: what the old sweeper found by state is given a due time.
            try db.execute(sql: """
                UPDATE aeps_transaction SET next_inquiry_at = updated_at
                WHERE decision = 'approved' AND next_inquiry_at IS NULL
                  AND (state IN ('pending', 'hold', 'refund_pending') OR (state = 'approved' AND reported_at IS NOT NULL))
                """)
            // Settled ones are re-asked for three days (the default of settlement.recheck_settled_days) after settling.
            try db.execute(sql: """
                UPDATE aeps_transaction SET
                  recheck_until = (SELECT strftime('%Y-%m-%d %H:%M:%f', s.created_at, '+3 days') FROM settlement s
                                   WHERE s.client_ref_id = aeps_transaction.client_ref_id AND s.kind = 'settlement'),
                  next_inquiry_at = COALESCE(next_inquiry_at, updated_at)
                WHERE state = 'settled'
                """)
        }

        migrator.registerMigration("2026-11-27-retention") { db in
            // Each retention run: when, how long, and what it removed per table (the console shows the last one).
            try db.create(table: "retention_run") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("ran_at", .datetime).notNull()
                t.column("duration_ms", .double).notNull()
                t.column("login_sessions", .integer).notNull()
                t.column("login_attempts", .integer).notNull()
                t.column("gateway_sessions", .integer).notNull()
                t.column("callback_sources", .integer).notNull()
                t.column("callback_bodies", .integer).notNull()
            }
            // What retention looks for, found without scanning the tables: bodies still held, by age; expired page
            // sessions; old attempts; ended gateway sessions; old per-source hours.
            try db.create(
                index: "callback_log_with_body_on_received_at", on: "callback_log", columns: ["received_at"],
                condition: Column("body") != nil
            )
            try db.create(index: "login_session_on_expires_at", on: "login_session", columns: ["expires_at"])
            try db.create(index: "login_attempt_on_attempted_at", on: "login_attempt", columns: ["attempted_at"])
            try db.create(index: "gateway_session_on_expires_at", on: "gateway_session", columns: ["expires_at"])
            try db.create(index: "callback_source_on_hour", on: "callback_source", columns: ["hour"])
        }

        migrator.registerMigration("2026-11-27-ops-console") { db in
            // People who use the ops console: a bcrypt hash only; a viewer reads, an operator may also act.
            try db.create(table: "ops_user") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("name", .text).notNull().unique()
                t.column("role", .text).notNull().check(sql: "role IN ('viewer', 'operator')")
                t.column("password_hash", .text).notNull()
                t.column("active", .boolean).notNull().defaults(to: true)
                t.column("created_at", .datetime).notNull()
            }
            // Who did what in the console, when, to what and why. Append only: the triggers refuse any change.
            try db.create(table: "ops_audit") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("at", .datetime).notNull()
                t.column("ops_user_id", .integer).references("ops_user")
                t.column("actor", .text).notNull()
                t.column("action", .text).notNull()
                t.column("target", .text)
                t.column("note", .text)
                t.column("outcome", .text)
            }
            try db.create(index: "ops_audit_on_target", on: "ops_audit", columns: ["target"])
            try db.execute(sql: """
                CREATE TRIGGER ops_audit_no_update BEFORE UPDATE ON ops_audit
                BEGIN SELECT RAISE(ABORT, 'ops_audit is append-only'); END;
                CREATE TRIGGER ops_audit_no_delete BEFORE DELETE ON ops_audit
                BEGIN SELECT RAISE(ABORT, 'ops_audit is append-only'); END;
                """)
            // A person's resolution of a transaction that needed one (the money rows are never touched by it).
            try db.alter(table: "aeps_transaction") { t in
                t.add(column: "resolved_at", .datetime)
                t.add(column: "resolved_by", .text)
                t.add(column: "resolution_note", .text)
            }
            // The console's list (newest first, keyset by decided_at and id) and its searches.
            try db.create(index: "aeps_transaction_on_decided_at", on: "aeps_transaction", columns: ["decided_at"])
            // The console's state filter pages by decided_at within one state (measured in make bench at 1,000,000).
            try db.create(
                index: "aeps_transaction_on_state_decided", on: "aeps_transaction", columns: ["state", "decided_at", "id"]
            )
            try db.create(index: "aeps_transaction_on_eko_tid", on: "aeps_transaction", columns: ["eko_tid"])
            try db.create(index: "aeps_transaction_on_bank_ref_num", on: "aeps_transaction", columns: ["bank_ref_num"])
            try db.create(index: "eko_response_on_client_ref_id", on: "eko_response", columns: ["client_ref_id"])
            try db.create(index: "settlement_on_created_at", on: "settlement", columns: ["created_at"])
        }

        // The caps' counts as small counter rows, kept in the decision's transaction, so a decision reads three
        // rows by primary key instead of counting the day's transactions; fewer indexes for each insert to write.
        migrator.registerMigration("2026-11-28-approval-counters") { db in
            try db.execute(sql: """
                CREATE TABLE approval_counter (
                    scope TEXT NOT NULL,
                    key TEXT NOT NULL,
                    day TEXT NOT NULL,
                    approvals INTEGER NOT NULL,
                    amount_paise INTEGER NOT NULL,
                    PRIMARY KEY (scope, key, day)
                ) WITHOUT ROWID
                """)
            try db.execute(sql: """
                INSERT INTO approval_counter (scope, key, day, approvals, amount_paise)
                SELECT 'customer', customer_mobile, ist_day, COUNT(*), COALESCE(SUM(amount_paise), 0) FROM aeps_transaction
                WHERE decision = 'approved' AND type = 2 AND customer_mobile IS NOT NULL AND customer_mobile <> ''
                GROUP BY customer_mobile, ist_day;
                INSERT INTO approval_counter (scope, key, day, approvals, amount_paise)
                SELECT 'retailer', CAST(retailer_id AS TEXT), ist_day, COUNT(*), COALESCE(SUM(amount_paise), 0)
                FROM aeps_transaction WHERE decision = 'approved' AND type = 2 AND retailer_id IS NOT NULL
                GROUP BY retailer_id, ist_day;
                INSERT INTO approval_counter (scope, key, day, approvals, amount_paise)
                SELECT 'session', CAST(gateway_session_id AS TEXT), '', COUNT(*), COALESCE(SUM(amount_paise), 0)
                FROM aeps_transaction WHERE decision = 'approved' AND gateway_session_id IS NOT NULL
                GROUP BY gateway_session_id;
                """)
            // Nothing reads these any more: state queries use (state, next_inquiry_at) and (state, decided_at, id),
            // and the retailer's daily counts are counter rows now.
            try db.drop(index: "aeps_transaction_on_state")
            try db.drop(index: "aeps_transaction_on_retailer_day")
            // Searched only for a value, never for NULL: partial indexes cost an insert (which has neither) nothing.
            try db.drop(index: "aeps_transaction_on_eko_tid")
            try db.drop(index: "aeps_transaction_on_bank_ref_num")
            try db.execute(sql: """
                CREATE INDEX aeps_transaction_on_eko_tid ON aeps_transaction (eko_tid) WHERE eko_tid IS NOT NULL;
                CREATE INDEX aeps_transaction_on_bank_ref_num ON aeps_transaction (bank_ref_num) WHERE bank_ref_num IS NOT NULL;
                """)
        }

        // Future migrations go here, below the shipped ones.
        return migrator
    }
}

extension AppDatabase {
    /// Applies migrations up to and including `identifier` only: tests build a database as an older version left
    /// it, to check what a later migration does to its rows.
    package func migrate(upTo identifier: String) throws {
        try Self.migrator.migrate(writer, upTo: identifier)
    }
}
