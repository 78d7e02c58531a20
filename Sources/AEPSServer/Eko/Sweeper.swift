import Foundation
import GRDB
import Logging
import ServiceLifecycle

/// Asks Eko about every transaction still without a final answer: approved but never reported (a closed popup)
/// after `settlement.result_grace_seconds`, and reported success, failure, pending, hold or refund pending, with
/// growing intervals; after `settlement.give_up_after_hours` it moves them to `needs_attention`. Safe to stop at
/// any moment: settling is one transaction guarded by a unique key, so nothing is ever settled twice.
public struct Sweeper: Service {
    let database: AppDatabase
    let settler: Settler
    let config: AppConfig
    let clock: @Sendable () -> Date
    let logger: Logger

    public init(database: AppDatabase, settler: Settler, config: AppConfig, clock: @escaping @Sendable () -> Date, logger: Logger) {
        self.database = database
        self.settler = settler
        self.config = config
        self.clock = clock
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let swept = await sweepOnce()
            if swept > 0 { logger.info("sweep", metadata: ["transactions": "\(swept)"]) }
            let interval = Duration.seconds(config.sweepIntervalSeconds)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }

    /// One pass over what is due now; returns how many transactions it looked at.
    @discardableResult
    public func sweepOnce(limit: Int = 100) async -> Int {
        let now = clock()
        let due: [TransactionRecord]
        do {
            due = try await database.dueForInquiry(now: now, graceSeconds: config.resultGraceSeconds, limit: limit)
        } catch {
            logger.error("sweep could not read the database", metadata: ["error": "\(error)"])
            return 0
        }
        for transaction in due {
            if Task.isCancelled { break }
            let outcome = await settler.verify(clientRefID: transaction.clientRefId)
            let final: Set<SettlementOutcome> = [.settled, .reversed, .closed, .needsAttention, .notApplicable]
            let giveUp = now.timeIntervalSince(transaction.decidedAt) > Double(config.giveUpAfterHours) * 3600
            do {
                try await database.recordSweep(
                    clientRefID: transaction.clientRefId, finished: outcome.map(final.contains) ?? false, giveUp: giveUp,
                    now: now
                )
            } catch {
                logger.error("sweep could not record", metadata: ["client_ref_id": "\(transaction.clientRefId)"])
            }
        }
        return due.count
    }
}

extension AppDatabase {
    /// Transactions the sweeper should ask Eko about now.
    func dueForInquiry(now: Date, graceSeconds: Int, limit: Int) async throws -> [TransactionRecord] {
        try await writer.read { db in
            try TransactionRecord.fetchAll(db, sql: """
                SELECT * FROM aeps_transaction
                WHERE decision = 'approved'
                  AND (state IN ('success', 'failed', 'pending', 'hold', 'refund_pending')
                       OR (state = 'approved' AND decided_at <= ?))
                  AND (next_inquiry_at IS NULL OR next_inquiry_at <= ?)
                ORDER BY decided_at LIMIT ?
                """, arguments: [now.addingTimeInterval(-Double(graceSeconds)), now, limit])
        }
    }

    /// After one sweep look: schedule the next (30 s, doubling, at most an hour), or give up to `needs_attention`.
    func recordSweep(clientRefID: String, finished: Bool, giveUp: Bool, now: Date) async throws {
        try await writer.write { db in
            guard var transaction = try TransactionRecord.filter(TransactionRecord.Columns.clientRefId == clientRefID)
                .fetchOne(db)
            else { return }
            transaction.inquiryAttempts += 1
            let delay = min(3600, 30 * (1 << min(transaction.inquiryAttempts - 1, 7)))
            transaction.nextInquiryAt = finished ? nil : now.addingTimeInterval(Double(delay))
            if !finished, giveUp, transaction.state.canMove(to: .needsAttention) {
                transaction.state = .needsAttention
                transaction.nextInquiryAt = nil
            }
            transaction.updatedAt = now
            try transaction.update(db)
        }
    }
}
