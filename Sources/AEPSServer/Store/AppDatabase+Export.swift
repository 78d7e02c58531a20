import Foundation
import GRDB

/// One exported transaction: columns as text, personal data masked.
public enum ExportRow {
    public static let columns = [
        "client_ref_id", "ist_day", "decided_at", "user_code", "type", "amount", "customer_mobile", "decision", "reason",
        "state", "eko_tid", "bank_ref_num", "aadhaar_last4", "settled_amount", "commission", "tds", "verified_by",
        "reversed",
    ]
}

extension AppDatabase {
    /// Transactions between two Indian days (inclusive), with their settlement, for `aeps export`.
    public func exportRows(from: String?, to: String?) async throws -> [[String: String]] {
        try await writer.read { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT t.client_ref_id, t.ist_day, t.decided_at, t.user_code, t.type, t.amount_paise, t.customer_mobile,
                       t.decision, t.reason, t.state, t.eko_tid, t.bank_ref_num, t.aadhaar_last4,
                       s.amount_paise AS settled, s.commission_paise, s.tds_paise, s.verified_by,
                       (SELECT COUNT(*) FROM settlement r WHERE r.client_ref_id = t.client_ref_id AND r.kind = 'reversal') AS reversed
                FROM aeps_transaction t
                LEFT JOIN settlement s ON s.client_ref_id = t.client_ref_id AND s.kind = 'settlement'
                WHERE (? IS NULL OR t.ist_day >= ?) AND (? IS NULL OR t.ist_day <= ?)
                ORDER BY t.decided_at, t.id
                """, arguments: [from, from, to, to])
            let iso = ISO8601DateFormatter()
            return rows.map { row in
                func money(_ column: String) -> String { (row[column] as Int64?).map(Paise.format) ?? "" }
                return [
                    "client_ref_id": row["client_ref_id"], "ist_day": row["ist_day"] ?? "",
                    "decided_at": (row["decided_at"] as Date?).map(iso.string) ?? "", "user_code": row["user_code"] ?? "",
                    "type": (row["type"] as Int?).map(String.init) ?? "", "amount": money("amount_paise"),
                    "customer_mobile": (row["customer_mobile"] as String?).map(Redactor.maskMobile) ?? "",
                    "decision": row["decision"], "reason": row["reason"], "state": row["state"],
                    "eko_tid": row["eko_tid"] ?? "", "bank_ref_num": row["bank_ref_num"] ?? "",
                    "aadhaar_last4": row["aadhaar_last4"] ?? "", "settled_amount": money("settled"),
                    "commission": money("commission_paise"), "tds": money("tds_paise"), "verified_by": row["verified_by"] ?? "",
                    "reversed": (row["reversed"] as Int? ?? 0) > 0 ? "yes" : "no",
                ]
            }
        }
    }
}
