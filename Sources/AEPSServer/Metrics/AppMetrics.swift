import Foundation
import Prometheus

/// The application's Prometheus metrics: one registry per application (built in the composition root), so tests
/// that build many applications in one process each read their own numbers, and nothing is bootstrapped globally.
///
/// Every label value comes from a fixed list (actions, outcomes, reason codes, states); anything else is counted
/// as `other`. No label ever carries a client_ref_id, a user_code, a mobile or an address. Every series is created
/// up front at zero, so `rate()` and alerts work from the first scrape.
///
/// The registry's own API is used (not swift-metrics' `MetricsFactory`), because only it carries the HELP text;
/// swift-prometheus refuses two help texts for one name, so the two cannot be mixed for a metric.
public final class AppMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry

    /// `debit-hook`, `eko-response`, or `other` (a missing or unknown action).
    public enum CallbackAction: String, Sendable, CaseIterable {
        case debitHook = "debit_hook"
        case ekoResponse = "eko_response"
        case other

        public init(_ action: String?) {
            switch action {
            case "debit-hook": self = .debitHook
            case "eko-response": self = .ekoResponse
            default: self = .other
            }
        }
    }

    /// What a callback request came to (the `outcome` of its `callback_log` row, plus `error` when it could not be
    /// recorded and was answered 503).
    public enum CallbackOutcome: String, Sendable, CaseIterable {
        case approved, refused, received, rejected, error
    }

    /// What one Transaction Inquiry gave: Eko's envelope with status 0, Eko's envelope saying the call failed, or
    /// no usable answer (down, timeout, 403, not Eko's envelope).
    public enum InquiryResult: String, Sendable, CaseIterable {
        case answered
        case ekoError = "eko_error"
        case unavailable
    }

    public enum LedgerKind: String, Sendable, CaseIterable {
        case settlement, reversal
    }

    /// Seconds; the debit-hook's answer budget is 3 s by default (at most 10 s).
    public static let debitHookBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    public static let httpMethods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    public static let statusClasses = ["1xx", "2xx", "3xx", "4xx", "5xx"]
    /// Decision reason label values: `approved` and every refusal code.
    public static let decisionReasons = ["approved"] + RefusalCode.allCases.map(\.rawValue)
    public static let ekoResponseOutcomes: [String] = [
        EkoResponseOutcome.inquiryQueued, .recorded, .appliedUnverified, .duplicate, .unknownClientRefID,
        .responseForRefusedHook, .unknownTxStatus, .missingClientRefID, .invalidClientRefID, .tooManyReports,
    ].map(\.rawValue)
    public static let settlementOutcomes: [String] = [
        SettlementOutcome.settled, .reversed, .closed, .needsAttention, .inProgress, .flagged, .unchanged, .noAnswer,
        .notApplicable,
    ].map(\.rawValue)

    private static let callbacksName = "aeps_callbacks_total"
    private static let callbacksHelp = "Callback requests by action and outcome"
    private static let decisionsName = "aeps_debit_hook_decisions_total"
    private static let decisionsHelp = "Debit-hook decisions by reason code (approved, or the refusal's code)"
    private static let ekoResponsesName = "aeps_eko_responses_total"
    private static let ekoResponsesHelp = "eko-response reports by what became of them"
    private static let inquiriesName = "aeps_eko_inquiries_total"
    private static let inquiriesHelp = "Transaction Inquiries the sweeper made, by result"
    private static let stepsName = "aeps_settlement_steps_total"
    private static let stepsHelp = "What each recorded Eko answer did to its transaction"
    private static let ledgerName = "aeps_ledger_rows_total"
    private static let ledgerHelp = "Settlement and reversal rows the sweeper wrote"
    private static let ledgerPaiseName = "aeps_ledger_paise_total"
    private static let ledgerPaiseHelp = "Paise of the settlement and reversal rows the sweeper wrote"
    private static let flagsName = "aeps_settlement_flags_total"
    private static let flagsHelp = "Disagreements flagged for a person, by reason"
    private static let httpName = "aeps_http_requests_total"
    private static let httpHelp = "HTTP requests by route pattern, method and status class"
    private static let retentionName = "aeps_retention_removed_total"
    private static let retentionHelp = "Rows removed (or callback bodies dropped) by retention runs"
    private static let transactionsName = "aeps_transactions"
    private static let transactionsHelp = "Stored transactions by state, read from the database at scrape time"

    private let debitHookSeconds: ValueHistogram
    private let oldestOpenAge: Gauge
    private let lastRetention: Gauge

    public init() {
        registry = PrometheusCollectorRegistry()
        debitHookSeconds = registry.makeValueHistogram(
            descriptor: Self.descriptor(
                "aeps_debit_hook_duration_seconds", "Time from receiving a debit-hook to its answer, in seconds"
            ),
            buckets: Self.debitHookBuckets
        )
        oldestOpenAge = registry.makeGauge(descriptor: Self.descriptor(
            "aeps_oldest_open_transaction_age_seconds",
            "Age of the oldest approved transaction still waiting for Eko's final answer (0 when none)"
        ))
        lastRetention = registry.makeGauge(descriptor: Self.descriptor(
            "aeps_retention_last_run_timestamp_seconds", "When the last retention run ran (Unix time)"
        ))
        for action in CallbackAction.allCases {
            for outcome in CallbackOutcome.allCases { _ = callbackCounter(action, outcome) }
        }
        for reason in Self.decisionReasons { _ = counter(Self.decisionsName, Self.decisionsHelp, ("reason", reason)) }
        for outcome in Self.ekoResponseOutcomes + ["other"] {
            _ = counter(Self.ekoResponsesName, Self.ekoResponsesHelp, ("outcome", outcome))
        }
        for result in InquiryResult.allCases { _ = counter(Self.inquiriesName, Self.inquiriesHelp, ("result", result.rawValue)) }
        for outcome in Self.settlementOutcomes { _ = counter(Self.stepsName, Self.stepsHelp, ("outcome", outcome)) }
        for kind in LedgerKind.allCases {
            _ = counter(Self.ledgerName, Self.ledgerHelp, ("kind", kind.rawValue))
            _ = counter(Self.ledgerPaiseName, Self.ledgerPaiseHelp, ("kind", kind.rawValue))
        }
        for reason in FlagReason.allCases { _ = counter(Self.flagsName, Self.flagsHelp, ("reason", reason.rawValue)) }
        for table in RetentionRemoved.tables { _ = counter(Self.retentionName, Self.retentionHelp, ("table", table)) }
        for state in TransactionState.allCases.map(\.rawValue) + ["other"] {
            _ = stateGauge(state)
        }
    }

    /// A full metric name (no namespace or unit parts: the names above are complete) with its HELP text.
    private static func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    private func counter(_ name: String, _ help: String, _ labels: (String, String)...) -> Counter {
        registry.makeCounter(descriptor: Self.descriptor(name, help), labels: labels)
    }

    private func stateGauge(_ state: String) -> Gauge {
        registry.makeGauge(descriptor: Self.descriptor(Self.transactionsName, Self.transactionsHelp), labels: [("state", state)])
    }

    private func callbackCounter(_ action: CallbackAction, _ outcome: CallbackOutcome) -> Counter {
        counter(Self.callbacksName, Self.callbacksHelp, ("action", action.rawValue), ("outcome", outcome.rawValue))
    }

    // MARK: Recording

    /// One callback request, by its (raw, untrusted) `action` and what it came to.
    public func callback(action: String?, outcome: CallbackOutcome) {
        callbackCounter(CallbackAction(action), outcome).increment()
    }

    /// One debit-hook decision (`approved` or a refusal code; anything else is `other`) and its answer's latency.
    public func debitHook(reason: String, latencyMilliseconds: Double) {
        let label = Self.decisionReasons.contains(reason) ? reason : "other"
        counter(Self.decisionsName, Self.decisionsHelp, ("reason", label)).increment()
        debitHookSeconds.record(max(0, latencyMilliseconds) / 1000)
    }

    public func ekoResponse(outcome: EkoResponseOutcome) {
        let label = Self.ekoResponseOutcomes.contains(outcome.rawValue) ? outcome.rawValue : "other"
        counter(Self.ekoResponsesName, Self.ekoResponsesHelp, ("outcome", label)).increment()
    }

    public func inquiry(_ result: InquiryResult) {
        counter(Self.inquiriesName, Self.inquiriesHelp, ("result", result.rawValue)).increment()
    }

    /// What one recorded answer did: its outcome, its flag, and a ledger row with its amount.
    public func settlementStep(outcome: SettlementOutcome, flag: FlagReason?, ledger: (LedgerKind, Int64)?) {
        if Self.settlementOutcomes.contains(outcome.rawValue) {
            counter(Self.stepsName, Self.stepsHelp, ("outcome", outcome.rawValue)).increment()
        }
        if let flag { counter(Self.flagsName, Self.flagsHelp, ("reason", flag.rawValue)).increment() }
        if let (kind, paise) = ledger {
            counter(Self.ledgerName, Self.ledgerHelp, ("kind", kind.rawValue)).increment()
            counter(Self.ledgerPaiseName, Self.ledgerPaiseHelp, ("kind", kind.rawValue)).increment(by: paise)
        }
    }

    /// One HTTP request: `route` is the matched route pattern (bounded by the router), never the raw path.
    public func httpRequest(route: String, method: String, status: Int) {
        let method = Self.httpMethods.contains(method) ? method : "other"
        let statusClass = (1...5).contains(status / 100) ? "\(status / 100)xx" : "other"
        counter(Self.httpName, Self.httpHelp, ("route", route), ("method", method), ("status_class", statusClass))
            .increment()
    }

    public func retentionRun(_ run: RetentionRun) {
        for (table, count) in run.removed.byTable {
            counter(Self.retentionName, Self.retentionHelp, ("table", table)).increment(by: Int64(count))
        }
        lastRetention.set(run.ranAt.timeIntervalSince1970)
    }

    // MARK: Scraping

    /// The Prometheus text: the counters, and the gauges set from `snapshot` (read from the database now).
    public func exposition(_ snapshot: TransactionGauges) -> String {
        let known = Set(TransactionState.allCases.map(\.rawValue))
        var other = 0
        for (state, count) in snapshot.countsByState where !known.contains(state) { other += count }
        for state in TransactionState.allCases {
            stateGauge(state.rawValue).set(Double(snapshot.countsByState[state.rawValue] ?? 0))
        }
        stateGauge("other").set(Double(other))
        oldestOpenAge.set(snapshot.oldestOpenAgeSeconds)
        return registry.emitToString()
    }
}
