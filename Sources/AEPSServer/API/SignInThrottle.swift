import Foundation

/// How the page's sign-in slows down password guessing without letting anyone lock a retailer out.
///
/// Each (account, address) pair has a few free failures since its last success; after that each further attempt
/// must wait a delay that doubles per failure, up to a cap. Failures from other addresses never delay the
/// retailer's own address. One address is also limited across all accounts within a window.
/// An attempt counts as a failure from the moment it is admitted until its password is found right.
public struct SignInThrottle: Sendable, Equatable {
    /// Failures of one (account, address) pair, since its last success, that cost nothing.
    public var freeFailures = 5
    /// The wait after the first failure beyond the free ones; it doubles with each further failure.
    public var firstDelay: TimeInterval = 30
    public var maximumDelay: TimeInterval = 15 * 60
    /// How long a pair's failures are remembered.
    public var pairMemory: TimeInterval = 24 * 60 * 60
    /// Failures one address may have across all accounts within `addressWindow`.
    public var maxFailuresPerAddress = 20
    public var addressWindow: TimeInterval = 15 * 60

    public init() {}

    /// How long after its latest failure a pair with `failures` failures must wait before its next attempt.
    public func delay(afterFailures failures: Int) -> TimeInterval {
        guard failures >= freeFailures else { return 0 }
        let doublings = min(failures - freeFailures, 32)
        return min(maximumDelay, firstDelay * Double(UInt64(1) << UInt64(doublings)))
    }
}

/// The throttle's answer to one sign-in attempt.
public enum SignInAdmission: Sendable, Equatable {
    /// The attempt is reserved (stored as pending); its outcome is reported with `finishSignInAttempt`.
    case admitted(attemptID: Int64)
    /// Too many recent failures: nothing was recorded; the next attempt is considered from `until` on.
    case delayed(until: Date)
}
