import Foundation
import GRDB

/// What `/metrics` reads from the database at scrape time.
public struct TransactionGauges: Sendable, Equatable {
    /// Stored transactions per `state` (as stored; the metrics map unknown states to `other`).
    public var countsByState: [String: Int]
    /// Seconds since the oldest transaction still waiting for Eko's final answer was decided (0 when none).
    public var oldestOpenAgeSeconds: Double
}

extension AppDatabase {
    /// Transactions by state (one GROUP BY over the `state` index) and the age of the oldest one still waiting for
    /// Eko (approved, success, pending, hold, refund_pending), in one read.
    public func transactionGauges(now: Date) async throws -> TransactionGauges {
        let open = TransactionState.allCases.filter(\.awaitsEko).map(\.rawValue)
        return try await writer.read { db in
            var counts: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM aeps_transaction GROUP BY state") {
                counts[row["state"]] = row["n"]
            }
            let placeholders = open.map { _ in "?" }.joined(separator: ", ")
            let oldest = try Date.fetchOne(
                db, sql: "SELECT MIN(decided_at) FROM aeps_transaction WHERE state IN (\(placeholders))",
                arguments: StatementArguments(open)
            )
            return TransactionGauges(
                countsByState: counts, oldestOpenAgeSeconds: oldest.map { max(0, now.timeIntervalSince($0)) } ?? 0
            )
        }
    }
}
