import NIOConcurrencyHelpers

/// What came first: the work's value, its error, or the end of the time allowed.
enum WithinOutcome<Value: Sendable>: Sendable {
    case value(Value)
    case failed(any Error)
    case timedOut
}

/// Runs `work` in a task of its own and returns its outcome, or `.timedOut` once `limit` has passed. The work is
/// not cancelled when time runs out: it finishes on its own (e.g. to record what happened).
func firstWithin<Value: Sendable>(
    _ limit: Duration,
    _ work: @escaping @Sendable () async throws -> Value
) async -> WithinOutcome<Value> {
    let settled = NIOLockedValueBox(false)
    return await withCheckedContinuation { (continuation: CheckedContinuation<WithinOutcome<Value>, Never>) in
        @Sendable func settle(_ outcome: WithinOutcome<Value>) {
            let first = settled.withLockedValue { done in
                defer { done = true }
                return !done
            }
            if first { continuation.resume(returning: outcome) }
        }
        let timer = Task {
            try? await Task.sleep(for: limit)
            settle(.timedOut)
        }
        Task {
            do {
                settle(.value(try await work()))
            } catch {
                settle(.failed(error))
            }
            timer.cancel()
        }
    }
}
