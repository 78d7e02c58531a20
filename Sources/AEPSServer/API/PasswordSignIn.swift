import Foundation
import Hummingbird
import HummingbirdBcrypt
import NIOPosix

/// A password sign-in behind the throttle, shared by the retailer page and the ops console: the attempt is
/// reserved before the password is checked (in the transaction that counts earlier ones), an unknown account is
/// compared against a fixed hash so both answers take the same time, and the outcome is recorded.
struct PasswordSignIn: Sendable {
    /// Growing delays per (account, address) pair and a limit per address: see ``SignInThrottle``.
    static let throttle = SignInThrottle()
    /// Compared against when the account does not exist, so both answers take the same time.
    static let unknownAccountHash = Bcrypt.hash("aeps-unknown-account", cost: 12)

    enum Outcome<Account: Sendable>: Sendable {
        /// The password matched this account's stored hash (the one it was checked against).
        case succeeded(Account)
        /// A wrong password or an unknown account (the same answer for both).
        case failed
        /// Too many recent failures: try again after this many seconds. Nothing was checked.
        case delayed(seconds: TimeInterval)
    }

    let database: AppDatabase

    /// Checks `password` for `account` (the throttle's key: give each kind of account its own namespace) from
    /// `address`. The account and its password hash are looked up only once the attempt is admitted; nil means no
    /// such account (or no password set).
    func check<Account: Sendable>(
        account: String, address: String?, password: String, now: Date,
        lookup: @Sendable () async throws -> (account: Account, passwordHash: String)?
    ) async throws -> Outcome<Account> {
        let attemptID: Int64
        switch try await database.reserveSignInAttempt(
            account: account, remoteAddress: address, throttle: Self.throttle, now: now
        ) {
        case .admitted(let reserved): attemptID = reserved
        case .delayed(let until): return .delayed(seconds: until.timeIntervalSince(now))
        }
        let found = try await lookup()
        let hash = found?.passwordHash ?? Self.unknownAccountHash
        let matches = try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
        let succeeded = matches && found != nil
        try await database.finishSignInAttempt(attemptID, succeeded: succeeded)
        guard succeeded, let found else { return .failed }
        return .succeeded(found.account)
    }

    /// A digest of the password hash a session was opened with: a new password ends old sessions.
    static func stamp(_ passwordHash: String) -> String {
        String(SecretToken.hash(passwordHash).prefix(32))
    }

    /// Browsers mark requests from other sites (`Sec-Fetch-Site: cross-site`); those never change anything here.
    static func isCrossSite(_ request: Request) -> Bool {
        request.headers[.secFetchSite] == "cross-site"
    }
}
