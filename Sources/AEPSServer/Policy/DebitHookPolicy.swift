/// A machine-readable reason for refusing a debit-hook, stored with the transaction and the callback log.
public enum RefusalCode: String, Sendable, Codable, CaseIterable {
    case missingUserCode = "missing_user_code"
    case unknownRetailer = "unknown_retailer"
    case retailerDisabled = "retailer_disabled"
    case typeNotAllowed = "type_not_allowed"
    case invalidAmount = "invalid_amount"
    case clientRefIDConflict = "client_ref_id_conflict"
    case storageUnavailable = "storage_unavailable"

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
        }
    }
}

/// The outcome of a debit-hook: approve (then the server signs), or refuse with a reason.
public enum PolicyDecision: Sendable, Equatable {
    case approve
    case refuse(RefusalCode)

    public var isApproved: Bool { self == .approve }
}

/// What the policy knows besides the hook itself. Gathered by the store inside the decision's write transaction.
///
/// Later inputs join here: the session bound to the hook (retailer sessions), and the day's counters for the
/// customer and the retailer (policy engine).
public struct DebitHookFacts: Sendable, Equatable {
    /// The retailer registered under the hook's `user_code`, if any.
    public var retailer: Retailer?

    public init(retailer: Retailer?) {
        self.retailer = retailer
    }
}

/// Decides a debit-hook. Pure: no clock, no I/O, so every rule is table-tested.
public struct DebitHookPolicy: Sendable, Equatable {
    /// Services the gateway may run: 2 cash withdrawal, 3 balance enquiry, 4 mini statement.
    public var allowedTypes: Set<Int> = [2, 3, 4]

    public init() {}

    public func evaluate(_ hook: DebitHook, facts: DebitHookFacts) -> PolicyDecision {
        guard let userCode = hook.userCode, !userCode.isEmpty else { return .refuse(.missingUserCode) }
        guard let retailer = facts.retailer, retailer.userCode == userCode else { return .refuse(.unknownRetailer) }
        guard retailer.active else { return .refuse(.retailerDisabled) }
        // Session binding (a live token of this retailer's) is checked here once retailer sessions exist.
        guard let type = hook.type, allowedTypes.contains(type) else { return .refuse(.typeNotAllowed) }
        if type == DebitHook.cashWithdrawal {
            guard let paise = hook.amountPaise, paise > 0 else { return .refuse(.invalidAmount) }
        }
        // Amount limits, daily counts and kill switches join here with the policy engine.
        return .approve
    }
}
