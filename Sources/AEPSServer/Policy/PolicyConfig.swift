import Foundation

/// The rules' settings (`policy.*` in `aeps.config`), with the defaults of Eko's and NPCI's limits.
public struct PolicyConfig: Sendable, Equatable {
    /// `policy.allowed_types`: 2 cash withdrawal, 3 balance enquiry, 4 mini statement.
    public var allowedTypes: Set<Int> = [2, 3, 4]
    /// `policy.min_withdrawal_rupees`, `policy.max_withdrawal_rupees`, `policy.withdrawal_multiple_rupees`.
    public var minWithdrawalPaise: Int64 = 10_000
    public var maxWithdrawalPaise: Int64 = 1_000_000
    public var withdrawalMultiplePaise: Int64 = 5_000
    /// `policy.max_withdrawals_per_customer_per_day`, counted per `customer_id` and Indian calendar day.
    public var maxWithdrawalsPerCustomerPerDay = 5
    /// `policy.retailer_daily_count_cap` and `policy.retailer_daily_amount_cap_rupees`: off (nil) by default;
    /// `aeps retailer set-caps` overrides them per retailer.
    public var retailerDailyCountCap: Int?
    public var retailerDailyAmountCapPaise: Int64?
    /// `policy.service_hours` (`{"from": "08:00", "to": "20:00"}`, Indian time); nil: always open.
    public var serviceHours: ServiceHours?
    /// `policy.max_transactions_per_session`: approved hooks per gateway opening.
    public var maxTransactionsPerSession = 10
    /// `policy.require_session` and `policy.session_ttl_seconds` (see ``AppConfig``).
    public var requireSession = true
    public var sessionTTLSeconds = 900
    /// `policy.decision_budget_ms`: the answer always leaves within this time.
    public var decisionBudgetMilliseconds = 3000
    /// `policy.hash_params`: per service type, the exact `request_hash_params` list a hook must send, in order. The
    /// server signs these fields' canonical values and nothing else; a hook that lists anything else is refused.
    public var hashParams: [Int: [String]] = PolicyConfig.ekoHashParams
    /// `policy.repeat_window_seconds`: how long the very same hook may be answered again (re-decided, re-signed).
    public var repeatWindowSeconds = 120

    /// The lists Eko's gateway sends today (protocol §5).
    public static let ekoHashParams: [Int: [String]] = [
        2: ["customer_id", "amount", "user_code"],
        3: ["customer_id", "user_code"],
        4: ["customer_id", "user_code"],
    ]

    public init() {}
}

/// The fields the server can sign: each has one canonical reading that the policy checks (a 10-digit
/// `customer_id`, whole-rupee `amount`, the session's retailer as `user_code`). Nothing else is ever signed.
public enum HashField: String, Sendable, CaseIterable {
    case customerID = "customer_id"
    case amount
    case userCode = "user_code"
}

/// Hours of service in Indian time, as minutes since midnight; `from` may be after `to` (open overnight).
public struct ServiceHours: Sendable, Equatable, CustomStringConvertible {
    public var from: Int
    public var to: Int

    public init(from: Int, to: Int) {
        self.from = from
        self.to = to
    }

    public func contains(_ minute: Int) -> Bool {
        from <= to ? (minute >= from && minute < to) : (minute >= from || minute < to)
    }

    public var description: String { "\(IndianTime.clock(from))-\(IndianTime.clock(to))" }

    /// Parses `HH:MM`.
    public static func minute(_ text: String) -> Int? {
        let parts = text.split(separator: ":")
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2, let hour = Int(parts[0]), let minute = Int(parts[1]),
            (0...23).contains(hour), (0...59).contains(minute)
        else { return nil }
        return hour * 60 + minute
    }
}

/// Indian Standard Time: UTC+05:30 all year (no daylight saving), whatever the server's own time zone.
public enum IndianTime {
    static let offsetSeconds = 19_800

    /// The Indian calendar day of an instant, `YYYY-MM-DD`.
    /// Plain arithmetic (days since 1970 in IST, then the proleptic Gregorian date: H. Hinnant's civil_from_days),
    /// because it runs in every decision and Foundation's calendar and `String(format:)` are slow on Linux.
    public static func day(_ date: Date) -> String {
        let seconds = Int64((date.timeIntervalSince1970 + Double(offsetSeconds)).rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    public static func minuteOfDay(_ date: Date) -> Int {
        let seconds = (Int(date.timeIntervalSince1970.rounded(.down)) + offsetSeconds) % 86_400
        return (seconds + 86_400) % 86_400 / 60
    }

    static func clock(_ minute: Int) -> String { String(format: "%02d:%02d", minute / 60, minute % 60) }
}
