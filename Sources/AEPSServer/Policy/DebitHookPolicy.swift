import Foundation

/// A machine-readable reason for refusing a debit-hook, stored with the transaction and the callback log.
public enum RefusalCode: String, Sendable, Codable, CaseIterable {
    case missingUserCode = "missing_user_code"
    case unknownRetailer = "unknown_retailer"
    case retailerDisabled = "retailer_disabled"
    case typeNotAllowed = "type_not_allowed"
    case invalidAmount = "invalid_amount"
    case amountBelowMinimum = "amount_below_minimum"
    case amountAboveMaximum = "amount_above_maximum"
    case amountNotMultiple = "amount_not_multiple"
    case customerDailyLimit = "customer_daily_limit"
    case retailerDailyCountCap = "retailer_daily_count_cap"
    case retailerDailyAmountCap = "retailer_daily_amount_cap"
    case servicePaused = "service_paused"
    case retailerPaused = "retailer_paused"
    case outsideServiceHours = "outside_service_hours"
    case sessionTransactionLimit = "session_transaction_limit"
    case clientRefIDConflict = "client_ref_id_conflict"
    case storageUnavailable = "storage_unavailable"
    case storageTimeout = "storage_timeout"
    case sessionMissing = "session_missing"
    case sessionUnknown = "session_unknown"
    case sessionExpired = "session_expired"
    case sessionRevoked = "session_revoked"
    case sessionOtherRetailer = "session_other_retailer"
    case clientRefIDOtherSession = "client_ref_id_other_session"
    /// `request_hash_params` is not the server's list for the hook's type (`policy.hash_params`).
    case hashParamsUnexpected = "hash_params_unexpected"
    /// `customer_id` is not exactly 10 digits.
    case invalidCustomerID = "invalid_customer_id"
    /// The same request again, but after `policy.repeat_window_seconds`.
    case repeatWindowPassed = "repeat_window_passed"
    /// The same request again after a result was reported for it.
    case repeatAfterResult = "repeat_after_result"

    /// Refusals that mean no live session vouches for the sender (no retailer, no or a dead token, a token of
    /// another retailer, a client_ref_id of another session): such a hook leaves no transaction row.
    public var isBeforeBinding: Bool {
        switch self {
        case .missingUserCode, .unknownRetailer, .sessionMissing, .sessionUnknown, .sessionExpired, .sessionRevoked,
            .sessionOtherRetailer, .clientRefIDOtherSession:
            true
        default:
            false
        }
    }

    /// The English message (the one stored with the transaction).
    public var message: String { message(language: "en") }

    /// A short message the retailer can act on, in Hindi for `hi` and in English otherwise (Eko's popup shows it).
    public func message(language: String) -> String {
        let (english, hindi) = texts
        return language == "hi" ? hindi : english
    }

    private var texts: (String, String) {
        switch self {
        case .missingUserCode:
            ("This request has no retailer code. Please open the gateway again from your partner page.",
             "इस अनुरोध में रिटेलर कोड नहीं है। कृपया पार्टनर पेज से गेटवे फिर से खोलें।")
        case .unknownRetailer:
            ("This retailer is not registered for cash withdrawal here. Please contact your partner's support.",
             "यह रिटेलर यहाँ नकद निकासी के लिए पंजीकृत नहीं है। कृपया अपने पार्टनर की सहायता से संपर्क करें।")
        case .retailerDisabled:
            ("This retailer account is disabled. Please contact your partner's support.",
             "यह रिटेलर खाता बंद है। कृपया अपने पार्टनर की सहायता से संपर्क करें।")
        case .typeNotAllowed:
            ("This service is not available. Cash withdrawal, balance enquiry and mini statement are allowed.",
             "यह सेवा उपलब्ध नहीं है। नकद निकासी, बैलेंस पूछताछ और मिनी स्टेटमेंट की अनुमति है।")
        case .invalidAmount:
            ("The amount is not valid. Please enter the amount in whole rupees (no paise) and try again.",
             "राशि सही नहीं है। कृपया पूरे रुपयों में राशि दर्ज करें और फिर कोशिश करें।")
        case .amountBelowMinimum:
            ("The amount is below the minimum for cash withdrawal. Please enter a larger amount.",
             "राशि नकद निकासी की न्यूनतम सीमा से कम है। कृपया अधिक राशि दर्ज करें।")
        case .amountAboveMaximum:
            ("The amount is above the limit for one cash withdrawal. Please enter a smaller amount.",
             "राशि एक नकद निकासी की सीमा से अधिक है। कृपया कम राशि दर्ज करें।")
        case .amountNotMultiple:
            ("The amount must be a multiple of the allowed step (for example ₹50). Please change the amount.",
             "राशि तय गुणज (जैसे ₹50) में होनी चाहिए। कृपया राशि बदलें।")
        case .customerDailyLimit:
            ("This customer has reached today's limit of cash withdrawals. Please try again tomorrow.",
             "इस ग्राहक की आज की नकद निकासी सीमा पूरी हो गई है। कृपया कल फिर कोशिश करें।")
        case .retailerDailyCountCap:
            ("Your shop has reached today's number of cash withdrawals. Please contact your partner's support.",
             "आपकी दुकान की आज की नकद निकासी की संख्या पूरी हो गई है। कृपया पार्टनर की सहायता से संपर्क करें।")
        case .retailerDailyAmountCap:
            ("Your shop has reached today's cash withdrawal amount limit. Please contact your partner's support.",
             "आपकी दुकान की आज की नकद निकासी राशि सीमा पूरी हो गई है। कृपया पार्टनर की सहायता से संपर्क करें।")
        case .servicePaused:
            ("Cash withdrawal is paused for now. Please try again later.",
             "नकद निकासी अभी रोकी गई है। कृपया बाद में कोशिश करें।")
        case .retailerPaused:
            ("Transactions are paused for your shop. Please contact your partner's support.",
             "आपकी दुकान के लिए लेनदेन रोके गए हैं। कृपया पार्टनर की सहायता से संपर्क करें।")
        case .outsideServiceHours:
            ("This service is closed at this hour. Please try again during service hours.",
             "यह सेवा इस समय बंद है। कृपया सेवा के समय में कोशिश करें।")
        case .sessionTransactionLimit:
            ("This gateway window has done its most transactions. Please close it and open the gateway again.",
             "इस गेटवे विंडो में अधिकतम लेनदेन हो चुके हैं। कृपया इसे बंद करके गेटवे फिर से खोलें।")
        case .clientRefIDConflict:
            ("This transaction reference was already used for a different request. Please start a new transaction.",
             "यह लेनदेन संदर्भ किसी दूसरे अनुरोध के लिए इस्तेमाल हो चुका है। कृपया नया लेनदेन शुरू करें।")
        case .storageUnavailable, .storageTimeout:
            ("The server could not record this transaction in time. Please try again.",
             "सर्वर यह लेनदेन समय पर दर्ज नहीं कर सका। कृपया फिर कोशिश करें।")
        case .sessionMissing:
            ("This request did not come from your partner page. Please open the gateway again from the page.",
             "यह अनुरोध आपके पार्टनर पेज से नहीं आया। कृपया पेज से गेटवे फिर से खोलें।")
        case .sessionUnknown:
            ("This gateway session is not recognised. Please open the gateway again from your partner page.",
             "यह गेटवे सत्र पहचाना नहीं गया। कृपया पार्टनर पेज से गेटवे फिर से खोलें।")
        case .sessionExpired:
            ("Your gateway session has expired. Please close this window and open the gateway again.",
             "आपका गेटवे सत्र समाप्त हो गया है। कृपया यह विंडो बंद करके गेटवे फिर से खोलें।")
        case .sessionRevoked:
            ("This gateway session was closed. Please sign in and open the gateway again.",
             "यह गेटवे सत्र बंद कर दिया गया। कृपया साइन इन करके गेटवे फिर से खोलें।")
        case .sessionOtherRetailer:
            ("This gateway session belongs to another retailer. Please sign in with your own account.",
             "यह गेटवे सत्र किसी दूसरे रिटेलर का है। कृपया अपने खाते से साइन इन करें।")
        case .clientRefIDOtherSession:
            ("This transaction reference belongs to another session. Please start a new transaction.",
             "यह लेनदेन संदर्भ किसी दूसरे सत्र का है। कृपया नया लेनदेन शुरू करें।")
        case .hashParamsUnexpected:
            ("This request is not in the form this server accepts. Please close the window and open the gateway again.",
             "यह अनुरोध उस रूप में नहीं है जिसे यह सर्वर स्वीकार करता है। कृपया विंडो बंद करके गेटवे फिर से खोलें।")
        case .invalidCustomerID:
            ("The customer's mobile number must be exactly 10 digits. Please check it and try again.",
             "ग्राहक का मोबाइल नंबर ठीक 10 अंकों का होना चाहिए। कृपया जाँचें और फिर कोशिश करें।")
        case .repeatWindowPassed:
            ("This transaction was started too long ago. Please start a new transaction.",
             "यह लेनदेन बहुत पहले शुरू हुआ था। कृपया नया लेनदेन शुरू करें।")
        case .repeatAfterResult:
            ("This transaction already has a result. Please start a new transaction.",
             "इस लेनदेन का परिणाम आ चुका है। कृपया नया लेनदेन शुरू करें।")
        }
    }
}

/// What the server signs for an approved debit-hook: the values of the server's own hash-parameter list for the
/// hook's type (`policy.hash_params`), each in its one canonical reading, in that list's order.
///
/// Only the policy can make one (its initialiser is private to this file), and the callback signs nothing else: a
/// request can never choose what is signed.
public struct Approval: Sendable, Equatable, CustomStringConvertible {
    /// The parameter names, as the server's table lists them for the type (what `request_hash_params` had to be).
    public let fields: [String]
    /// Their canonical values, in the same order: what `request_hash` is computed over.
    public let values: [String]

    fileprivate init(fields: [String], values: [String]) {
        self.fields = fields
        self.values = values
    }

    /// Names only: the values hold the customer's mobile.
    public var description: String { "Approval(fields: \(fields.joined(separator: ", ")))" }
}

/// The outcome of a debit-hook: approve (with exactly what to sign), or refuse with a reason.
public enum PolicyDecision: Sendable, Equatable {
    case approve(Approval)
    case refuse(RefusalCode)

    public var isApproved: Bool {
        if case .approve = self { return true }
        return false
    }

    public var approval: Approval? {
        if case .approve(let approval) = self { return approval }
        return nil
    }
}

/// An earlier decision stored under the hook's `client_ref_id`: what a repeat is judged against.
public struct EarlierDecision: Sendable, Equatable {
    /// Whether the earlier hook was approved, and its stored reason code (`approved` or the refusal's).
    public var approved: Bool
    public var reason: String
    /// The earlier hook asked for exactly the same thing (same fingerprint).
    public var sameRequest: Bool
    /// It was decided under the same gateway session as this one (or both without one).
    public var sameSession: Bool
    public var decidedAt: Date
    /// A result (eko-response) has been reported for it.
    public var resultReported: Bool

    public init(approved: Bool, reason: String, sameRequest: Bool, sameSession: Bool, decidedAt: Date, resultReported: Bool) {
        self.approved = approved
        self.reason = reason
        self.sameRequest = sameRequest
        self.sameSession = sameSession
        self.decidedAt = decidedAt
        self.resultReported = resultReported
    }
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

/// What is already stored that the caps depend on, counted inside the decision's own write transaction.
public struct DebitHookCounters: Sendable, Equatable {
    /// Approved cash withdrawals for the hook's `customer_id` on its Indian day.
    public var customerWithdrawalsToday = 0
    /// Approved cash withdrawals of the retailer on the Indian day, and their amount.
    public var retailerWithdrawalsToday = 0
    public var retailerAmountTodayPaise: Int64 = 0
    /// Approved hooks under the hook's gateway session.
    public var sessionApprovals = 0
    // A repeat is never counted twice: the store leaves the hook's own client_ref_id out of every count.

    public init(
        customerWithdrawalsToday: Int = 0, retailerWithdrawalsToday: Int = 0, retailerAmountTodayPaise: Int64 = 0,
        sessionApprovals: Int = 0
    ) {
        self.customerWithdrawalsToday = customerWithdrawalsToday
        self.retailerWithdrawalsToday = retailerWithdrawalsToday
        self.retailerAmountTodayPaise = retailerAmountTodayPaise
        self.sessionApprovals = sessionApprovals
    }
}

/// What the policy knows besides the hook itself. Gathered by the store inside the decision's write transaction.
public struct DebitHookFacts: Sendable, Equatable {
    /// The retailer registered under the hook's `user_code`, if any.
    public var retailer: Retailer?
    public var session: SessionEvidence
    public var counters: DebitHookCounters
    /// The global kill switch (`aeps kill-switch on`).
    public var servicePaused: Bool
    /// The decision's time (session expiry, hours of service and the Indian day are judged against it).
    public var now: Date
    /// The decision already stored under this client_ref_id, when the hook is a repeat.
    public var earlier: EarlierDecision?

    public init(
        retailer: Retailer?, session: SessionEvidence = .none, counters: DebitHookCounters = .init(),
        servicePaused: Bool = false, now: Date, earlier: EarlierDecision? = nil
    ) {
        self.retailer = retailer
        self.session = session
        self.counters = counters
        self.servicePaused = servicePaused
        self.now = now
        self.earlier = earlier
    }
}

/// One rule's verdict, for `aeps policy check`.
public struct RuleVerdict: Sendable, Equatable {
    public var rule: String
    /// nil: passed (or did not apply).
    public var refusal: RefusalCode?
    public var detail: String
}

/// Decides a debit-hook. Pure: no clock, no I/O, so every rule is table-tested. The rules run in a fixed order;
/// the first that fails decides.
public struct DebitHookPolicy: Sendable, Equatable {
    public var config: PolicyConfig

    public init(_ config: PolicyConfig = PolicyConfig()) {
        self.config = config
    }

    /// The decision: the first failing rule's refusal, or an ``Approval`` carrying the canonical values of the
    /// server's hash-parameter list for the hook's type. Repeats are decided like new hooks, against the present.
    public func evaluate(_ hook: DebitHook, facts: DebitHookFacts) -> PolicyDecision {
        for verdict in explain(hook, facts: facts) {
            if let refusal = verdict.refusal { return .refuse(refusal) }
        }
        // Every rule passed, so the type is allowed, the list is the server's and each value is canonical.
        guard let type = hook.type, let fields = config.hashParams[type] else { return .refuse(.typeNotAllowed) }
        var values: [String] = []
        for field in fields {
            switch HashField(rawValue: field) {
            case .customerID: values.append(hook.customerMobile ?? "")
            case .amount: values.append(hook.amountRaw ?? "")
            case .userCode: values.append(facts.retailer?.userCode ?? "")
            case nil: return .refuse(.hashParamsUnexpected)
            }
        }
        return .approve(Approval(fields: fields, values: values))
    }

    /// Every rule's verdict, in order, including those after the first failure.
    public func explain(_ hook: DebitHook, facts: DebitHookFacts) -> [RuleVerdict] {
        var verdicts: [RuleVerdict] = []
        func rule(_ name: String, _ refusal: RefusalCode?, _ detail: String) {
            verdicts.append(RuleVerdict(rule: name, refusal: refusal, detail: detail))
        }
        if let earlier = facts.earlier {
            rule("client_ref_id under this session", earlier.sameSession ? nil : .clientRefIDOtherSession,
                 earlier.sameSession ? "same session" : "decided under another session")
            rule("same request as before", earlier.sameRequest ? nil : .clientRefIDConflict,
                 earlier.sameRequest ? "same request" : "different request under a used client_ref_id")
            rule("earlier decision", earlier.approved ? nil : RefusalCode(rawValue: earlier.reason) ?? .clientRefIDConflict,
                 earlier.reason)
            rule("no result reported yet", earlier.resultReported ? .repeatAfterResult : nil,
                 earlier.resultReported ? "a result was reported" : "none")
            let age = facts.now.timeIntervalSince(earlier.decidedAt)
            let inWindow = age >= 0 && age <= Double(config.repeatWindowSeconds)
            rule("repeat window", inWindow ? nil : .repeatWindowPassed,
                 "\(Int(age)) s after the first, window \(config.repeatWindowSeconds) s")
        }
        let userCode = hook.userCode ?? ""
        rule("user_code present", userCode.isEmpty ? .missingUserCode : nil, userCode.isEmpty ? "missing" : userCode)
        let retailer = facts.retailer.flatMap { $0.userCode == userCode ? $0 : nil }
        rule("retailer registered", retailer == nil ? .unknownRetailer : nil, retailer?.name ?? "no retailer \(userCode)")

        switch facts.session {
        case .none:
            rule("gateway session", config.requireSession ? .sessionMissing : nil,
                 config.requireSession ? "no token" : "no token (policy.require_session is false)")
        case .unknown:
            rule("gateway session", .sessionUnknown, "token not issued here")
        case .found(let session):
            if session.revokedAt != nil {
                rule("gateway session", .sessionRevoked, "revoked")
            } else if facts.now >= session.expiresAt {
                rule("gateway session", .sessionExpired, "expired at \(session.expiresAt)")
            } else if session.userCode != userCode || session.retailerId != retailer?.id {
                rule("gateway session", .sessionOtherRetailer, "issued for \(session.userCode)")
            } else {
                rule("gateway session", nil, "live until \(session.expiresAt)")
            }
        }
        rule("retailer active", retailer?.active == false ? .retailerDisabled : nil, retailer?.active == false ? "disabled" : "active")
        rule("service switched on", facts.servicePaused ? .servicePaused : nil, facts.servicePaused ? "kill switch on" : "on")
        rule("retailer switched on", retailer?.paused == true ? .retailerPaused : nil,
             retailer?.paused == true ? "retailer kill switch on" : "on")
        if let hours = config.serviceHours {
            let minute = IndianTime.minuteOfDay(facts.now)
            rule("hours of service", hours.contains(minute) ? nil : .outsideServiceHours,
                 "\(hours) IST, now \(IndianTime.clock(minute))")
        } else {
            rule("hours of service", nil, "no hours set")
        }
        let typeAllowed = hook.type.map { config.allowedTypes.contains($0) } ?? false
        rule("service allowed", typeAllowed ? nil : .typeNotAllowed,
             "type \(hook.type.map(String.init) ?? "?"), allowed \(config.allowedTypes.sorted().map(String.init).joined(separator: ", "))")
        let expected = hook.type.flatMap { config.hashParams[$0] }
        let listMatches = expected != nil && expected == hook.hashParams
        rule("request_hash_params as expected", listMatches ? nil : .hashParamsUnexpected,
             "sent [\(hook.hashParams.joined(separator: ", "))], expected [\(expected?.joined(separator: ", ") ?? "-")]")
        let customerValid = hook.customerMobile.map(DebitHook.isCanonicalMobile) ?? false
        rule("customer_id is 10 digits", customerValid ? nil : .invalidCustomerID,
             customerValid ? Redactor.maskMobile(hook.customerMobile ?? "") : "not 10 digits")
        if case .found = facts.session {
            let full = facts.counters.sessionApprovals >= config.maxTransactionsPerSession
            rule("transactions per session", full ? .sessionTransactionLimit : nil,
                 "\(facts.counters.sessionApprovals) of \(config.maxTransactionsPerSession)")
        }

        // Any amount that is not nothing is checked like a withdrawal's, whatever the type says: a balance enquiry
        // or mini statement carries none ("", "0" or absent) or is refused.
        guard hook.type == DebitHook.cashWithdrawal else {
            let none = DebitHook.isNoAmount(hook.amountRaw)
            rule("no amount for this service", none ? nil : .invalidAmount,
                 none ? "none" : "type \(hook.type.map(String.init) ?? "?") with an amount")
            return verdicts
        }
        guard let paise = hook.amountPaise else {
            rule("whole rupees", .invalidAmount, "not whole rupees without sign, space or leading zero")
            return verdicts
        }
        rule("whole rupees", nil, "₹\(Paise.format(paise))")
        rule("minimum amount", paise < config.minWithdrawalPaise ? .amountBelowMinimum : nil,
             "minimum ₹\(Paise.format(config.minWithdrawalPaise))")
        rule("maximum amount", paise > config.maxWithdrawalPaise ? .amountAboveMaximum : nil,
             "maximum ₹\(Paise.format(config.maxWithdrawalPaise))")
        rule("multiple", paise % config.withdrawalMultiplePaise != 0 ? .amountNotMultiple : nil,
             "multiple of ₹\(Paise.format(config.withdrawalMultiplePaise))")
        let customerDone = facts.counters.customerWithdrawalsToday
        rule("customer withdrawals today", customerDone >= config.maxWithdrawalsPerCustomerPerDay ? .customerDailyLimit : nil,
             "\(customerDone) of \(config.maxWithdrawalsPerCustomerPerDay) today (IST)")
        let countCap = retailer?.dailyCountCap ?? config.retailerDailyCountCap
        if let countCap {
            rule("retailer withdrawals today", facts.counters.retailerWithdrawalsToday >= countCap ? .retailerDailyCountCap : nil,
                 "\(facts.counters.retailerWithdrawalsToday) of \(countCap)")
        } else {
            rule("retailer withdrawals today", nil, "no cap")
        }
        let amountCap = retailer?.dailyAmountCapPaise ?? config.retailerDailyAmountCapPaise
        if let amountCap {
            let after = facts.counters.retailerAmountTodayPaise + paise
            rule("retailer amount today", after > amountCap ? .retailerDailyAmountCap : nil,
                 "₹\(Paise.format(after)) with this one, cap ₹\(Paise.format(amountCap))")
        } else {
            rule("retailer amount today", nil, "no cap")
        }
        return verdicts
    }
}
