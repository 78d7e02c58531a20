import Foundation
import GRDB

/// What the retailer page may read about its own transactions: always scoped to the signed-in retailer.
extension AppDatabase {
    /// The transaction with this client_ref_id when it is this retailer's; nil when there is none or it belongs
    /// to another retailer (the caller cannot tell the two apart).
    public func transaction(clientRefID: String, retailerID: Int64) async throws -> TransactionRecord? {
        try await writer.read { db in
            try TransactionRecord.fetchOne(db, sql: """
                SELECT * FROM aeps_transaction WHERE client_ref_id = ? AND retailer_id = ?
                """, arguments: [clientRefID, retailerID])
        }
    }

    /// The latest transaction decided under one of this retailer's gateway sessions (an opening of the gateway).
    /// `nil` when the session is not this retailer's (or does not exist); `.some(nil)` while it has none yet.
    public func latestTransaction(gatewaySessionID: Int64, retailerID: Int64) async throws -> TransactionRecord?? {
        try await writer.read { db -> TransactionRecord?? in
            let owned = try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM gateway_session WHERE id = ? AND retailer_id = ?
                """, arguments: [gatewaySessionID, retailerID]) ?? 0
            guard owned > 0 else { return nil }
            let latest = try TransactionRecord.fetchOne(db, sql: """
                SELECT * FROM aeps_transaction WHERE gateway_session_id = ? AND retailer_id = ?
                ORDER BY decided_at DESC, id DESC LIMIT 1
                """, arguments: [gatewaySessionID, retailerID])
            return .some(latest)
        }
    }
}
