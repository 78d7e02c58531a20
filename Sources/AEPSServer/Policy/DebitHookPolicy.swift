import Foundation

/// A machine-readable reason for refusing a debit-hook, stored with the transaction and the callback log.
public enum RefusalCode: String, Sendable, Codable, CaseIterable {
    case missingUserCode = "missing_user_code"
    case unknownRetailer = "unknown_retailer"
    case retailerDisabled = "retailer_disabled"
    case typeNotAllowed = "type_not_allowed"
    case invalidAmount = "invalid_amount"
    case clientRefIDConflict = "client_ref_id_conflict"
    case storageUnavailable = "storage_unavailable"
    case sessionMissing = "session_missing"
    case sessionUnknown = "session_unknown"
    case sessionExpired = "session_expired"
    case sessionRevoked = "session_revoked"
    case sessionOtherRetailer = "session_other_retailer"
    case clientRefIDOtherSession = "client_ref_id_other_session"

    /// A short message the retailer can act on; Eko's popup shows it as is.
    public var message: String {
        switch self {
        case .missingUserCode:
            "This request has no retailer code. Please open the gateway again from your partner page."
        case .unknownRetailer:
            "This retailer is not registered for cash withdrawal here. Please contact your partner's support."
        case .retailerDisabled:
            "This retailer account is disabled. Please contact your partner's support."
        case .typeNotAllowed:
            "This service is not available. Cash withdrawal, balance enquiry and mini statement are allowed."
        case .invalidAmount:
            "The amount is not valid. Please enter the amount in whole rupees and try again."
        case .clientRefIDConflict:
            "This transaction reference was already used for a different request. Please start a new transaction."
        case .storageUnavailable:
            "The server could not record this transaction. Please try again in a minute."
        case .sessionMissing:
            "This request did not come from your partner page. Please open the gateway again from the page."
        case .sessionUnknown:
            "This gateway session is not recognised. Please open the gateway again from your partner page."
        case .sessionExpired:
            "Your gateway session has expired. Please close this window and open the gateway again."
        case .sessionRevoked:
            "This gateway session was closed. Please sign in and open the gateway again."
        case .sessionOtherRetailer:
            "This gateway session belongs to another retailer. Please sign in with your own account."
        case .clientRefIDOtherSession:
            "This transaction reference belongs to another session. Please start a new transaction."
        }
    }
}

/// The outcome of a debit-hook: approve (then the server signs), or refuse with a reason.
public enum PolicyDecision: Sendable, Equatable {
    case approve
    case refuse(RefusalCode)

    public var isApproved: Bool { self == .approve }
}

/// What the callback found for the gateway-session token the hook carried.
public enum SessionEvidence: Sendable, Equatable {
    /// No token in the body (`aeps_session`) or the `X-AePS-Session` header.
    case none
    /// A token that matches no session issued here.
    case unknown
    /// The session the token belongs to.
    case found(GatewaySession)
}

/// What the policy knows besides the hook itself. Gathered by the store inside the decision's write transaction.
///
/// The day's counters for the customer and the retailer join here with the policy engine.
public struct DebitHookFacts: Sendable, Equatable {
    /// The retailer registered under the hook's `user_code`, if any.
    public var retailer: Retailer?
    public var session: SessionEvidence
    /// The decision's time (session expiry is judged against it).
    public var now: Date

    public init(retailer: Retailer?, session: SessionEvidence = .none, now: Date) {
        self.retailer = retailer
        self.session = session
        self.now = now
    }
}

/// Decides a debit-hook. Pure: no clock, no I/O, so every rule is table-tested.
public struct DebitHookPolicy: Sendable, Equatable {
    /// Services the gateway may run: 2 cash withdrawal, 3 balance enquiry, 4 mini statement.
    public var allowedTypes: Set<Int> = [2, 3, 4]
    /// Whether a live gateway-session token is required (`policy.require_session`). When false, a token that is
    /// presented is still checked, but its absence is allowed (retailer-only binding).
    public var requireSession: Bool

    public init(requireSession: Bool = true) {
        self.requireSession = requireSession
    }

    public func evaluate(_ hook: DebitHook, facts: DebitHookFacts) -> PolicyDecision {
        guard let userCode = hook.userCode, !userCode.isEmpty else { return .refuse(.missingUserCode) }
        guard let retailer = facts.retailer, retailer.userCode == userCode else { return .refuse(.unknownRetailer) }
        switch facts.session {
        case .none:
            if requireSession { return .refuse(.sessionMissing) }
        case .unknown:
            return .refuse(.sessionUnknown)
        case .found(let session):
            if session.revokedAt != nil { return .refuse(.sessionRevoked) }
            if facts.now >= session.expiresAt { return .refuse(.sessionExpired) }
            if session.userCode != userCode || session.retailerId != retailer.id { return .refuse(.sessionOtherRetailer) }
        }
        guard retailer.active else { return .refuse(.retailerDisabled) }
        guard let type = hook.type, allowedTypes.contains(type) else { return .refuse(.typeNotAllowed) }
        if type == DebitHook.cashWithdrawal {
            guard let paise = hook.amountPaise, paise > 0 else { return .refuse(.invalidAmount) }
        }
        // Amount limits, daily counts and kill switches join here with the policy engine.
        return .approve
    }
}
