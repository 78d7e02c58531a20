import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Drains the inquiry queue: asks Eko about every transaction due (a report just queued, an approval never
/// reported after `settlement.result_grace_seconds`, pending, hold and refund pending ones with backoff, settled
/// and failed ones within `settlement.recheck_settled_days`) and records each answer through the settlement
/// rules. Wakes when a report queues an inquiry, and every `settlement.sweep_interval_seconds`. Safe to stop at
/// any moment, and to run in two processes: what it claims is leased, and each answer is one transaction behind
/// unique keys, so nothing is ever settled twice.
///
/// It also runs retention (``AppDatabase/applyRetention(_:now:batchSize:)``): when it starts, then every
/// `retention.interval_minutes`.
public struct Sweeper: Service {
    let database: AppDatabase
    let settler: Settler
    let schedule: InquirySchedule
    let interval: Duration
    let clock: @Sendable () -> Date
    let logger: Logger
    let signal: InquirySignal
    let events: SettlementEvents
    let retention: RetentionPolicy
    let retentionInterval: Duration
    let metrics: AppMetrics

    init(
        database: AppDatabase, settler: Settler, schedule: InquirySchedule, interval: Duration,
        clock: @escaping @Sendable () -> Date, logger: Logger, signal: InquirySignal, events: SettlementEvents,
        retention: RetentionPolicy, retentionInterval: Duration, metrics: AppMetrics
    ) {
        self.database = database
        self.settler = settler
        self.schedule = schedule
        self.interval = interval
        self.clock = clock
        self.logger = logger
        self.signal = signal
        self.events = events
        self.retention = retention
        self.retentionInterval = retentionInterval
        self.metrics = metrics
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var nextRetention = ContinuousClock.now
            while !Task.isCancelled {
                let swept = await drain()
                if swept > 0 { logger.info("sweep", metadata: ["transactions": "\(swept)"]) }
                if ContinuousClock.now >= nextRetention, !Task.isCancelled {
                    await runRetention()
                    nextRetention = ContinuousClock.now + retentionInterval
                }
                await signal.wait(upTo: interval)
            }
        }
    }

    /// One retention run against the clock's now: prunes, records the run, logs and counts what it removed.
    /// Returns nil when the database could not be written (it is tried again at the next interval).
    @discardableResult
    public func runRetention() async -> RetentionRun? {
        do {
            let run = try await database.applyRetention(retention, now: clock())
            metrics.retentionRun(run)
            var metadata: Logger.Metadata = ["duration_ms": "\(Int(run.durationMilliseconds.rounded()))"]
            for (table, count) in run.removed.byTable { metadata[table] = "\(count)" }
            logger.info("retention", metadata: metadata)
            return run
        } catch {
            logger.error("retention could not write the database", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// Sweeps until nothing is due now; returns how many transactions it looked at.
    @discardableResult
    public func drain(batch: Int = 100) async -> Int {
        var total = 0
        while !Task.isCancelled {
            let swept = await sweepOnce(limit: batch)
            total += swept
            if swept < batch { break }
        }
        return total
    }

    /// One pass over what is due now (at most `limit`); returns how many transactions it looked at.
    @discardableResult
    public func sweepOnce(limit: Int = 100) async -> Int {
        let due: [String]
        do {
            due = try await database.claimDueInquiries(now: clock(), schedule: schedule, limit: limit)
        } catch {
            logger.error("sweep could not read the database", metadata: ["error": "\(error)"])
            return 0
        }
        for clientRefID in due {
            if Task.isCancelled { break }
            let step = await settler.verify(clientRefID: clientRefID)
            events.publish(SettlementEvents.Verified(clientRefID: clientRefID, step: step))
        }
        return due.count
    }
}

/// The in-process signal that an inquiry was queued: wakes the sweeper at once instead of at its next interval.
/// Wakes that come while it is busy are remembered (as one).
public final class InquirySignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

    public init() {}

    public func wake() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.pending = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Returns when woken (at once if a wake came since the last wait), after `timeout`, or when cancelled.
    func wait(upTo timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForWake() }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForWake() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let (now, replaced) = state.withLock { state -> (Bool, CheckedContinuation<Void, Never>?) in
                    if state.pending || Task.isCancelled {
                        state.pending = false
                        return (true, nil)
                    }
                    let replaced = state.waiter
                    state.waiter = continuation
                    return (false, replaced)
                }
                replaced?.resume()
                if now { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }
}

/// What the sweeper did to each transaction it asked Eko about, for whoever listens (tests wait on it instead
/// of polling the database).
public final class SettlementEvents: Sendable {
    public struct Verified: Sendable, Equatable {
        public var clientRefID: String
        /// nil when the answer could not be recorded.
        public var step: SettlementStep?
    }

    private let subscribers = Mutex<[UUID: AsyncStream<Verified>.Continuation]>([:])

    public init() {}

    /// Every event from now on, until the stream is dropped.
    public func subscribe() -> AsyncStream<Verified> {
        let (stream, continuation) = AsyncStream.makeStream(of: Verified.self)
        let id = UUID()
        subscribers.withLock { $0[id] = continuation }
        continuation.onTermination = { [weak self] _ in
            _ = self?.subscribers.withLock { $0.removeValue(forKey: id) }
        }
        return stream
    }

    func publish(_ event: Verified) {
        for continuation in subscribers.withLock({ Array($0.values) }) { continuation.yield(event) }
    }
}
