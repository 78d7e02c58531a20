import Foundation

/// How the console writes values: Indian time, rupees from paise, masked personal data. Pure, no I/O.
enum OpsFormat {
    static let india = TimeZone(identifier: "Asia/Kolkata") ?? TimeZone(secondsFromGMT: 19_800)!

    static func time(_ date: Date?) -> String {
        guard let date else { return "" }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = india
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(
            format: "%04d-%02d-%02d %02d:%02d:%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0,
            c.second ?? 0
        )
    }

    /// `₹500.00`; empty for none.
    static func rupees(_ paise: Int64?) -> String {
        paise.map { "₹" + Paise.format($0) } ?? ""
    }

    static func mobile(_ text: String?) -> String {
        text.map(Redactor.maskMobile) ?? ""
    }

    /// `3 d 4 h`, `2 h 5 min`, `40 s`.
    static func age(from start: Date, to now: Date) -> String {
        let seconds = max(0, Int(now.timeIntervalSince(start)))
        if seconds < 60 { return "\(seconds) s" }
        let minutes = seconds / 60
        if minutes < 60 { return "\(minutes) min" }
        let hours = minutes / 60
        if hours < 48 { return "\(hours) h \(minutes % 60) min" }
        return "\(hours / 24) d \(hours % 24) h"
    }

    static func bytes(_ count: Int64) -> String {
        if count < 1024 { return "\(count) B" }
        if count < 1024 * 1024 { return String(format: "%.1f KiB", Double(count) / 1024) }
        if count < 1024 * 1024 * 1024 { return String(format: "%.1f MiB", Double(count) / 1_048_576) }
        return String(format: "%.2f GiB", Double(count) / 1_073_741_824)
    }

    static func serviceName(_ type: Int?) -> String {
        switch type {
        case 2: "cash withdrawal"
        case 3: "balance enquiry"
        case 4: "mini statement"
        case let other?: "type \(other)"
        case nil: "unknown type"
        }
    }

    static func txStatusName(_ status: Int?) -> String {
        guard let status else { return "none" }
        switch status {
        case 0: return "0 success"
        case 1: return "1 failed"
        case 2: return "2 pending"
        case 3: return "3 refund pending"
        case 4: return "4 refunded"
        case 5: return "5 on hold"
        default: return "\(status)"
        }
    }

    /// A path segment made safe for an `href` (the template escapes it for HTML as well).
    static func pathSegment(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? ""
    }

    /// A stored body for display: already masked when stored; long runs of digits masked again and bounded.
    static func body(_ text: String?) -> String? {
        guard let text, !text.isEmpty else { return nil }
        let masked = Redactor.maskDigitRuns(text)
        return masked.count > 4000 ? String(masked.prefix(4000)) + "…" : masked
    }

    /// One list row as the templates read it.
    static func listRow(_ row: TransactionListRow, now: Date? = nil) -> [String: Any] {
        let t = row.transaction
        var values: [String: Any] = [
            "decidedAt": time(t.decidedAt), "clientRefID": t.clientRefId, "clientRefIDPath": pathSegment(t.clientRefId),
            "userCode": t.userCode ?? "", "retailerName": row.retailerName ?? "", "type": serviceName(t.type),
            "amount": rupees(t.amountPaise), "mobile": mobile(t.customerMobile), "decision": t.decision,
            "reason": t.reason, "state": t.state.rawValue, "flag": t.flagReason ?? "", "tid": t.ekoTid ?? "",
            "bankRef": t.bankRefNum ?? "",
            "settled": row.settledPaise.map { paise in
                rupees(paise - (row.reversedPaise ?? 0)) + (row.reversedPaise != nil ? " (reversed)" : "")
            } ?? "",
        ]
        if let now { values["age"] = age(from: t.decidedAt, to: now) }
        return values
    }
}

/// One line of a transaction's timeline.
struct TimelineEvent: Sendable, Equatable {
    var at: Date
    var title: String
    var details: [String]
    var body: String? = nil
    /// Breaks ties between events at the same instant: the hook, its decision, reports, inquiries, state, money,
    /// flags, operators.
    var order: Int = 0
}

/// Everything recorded about one transaction, merged into one list in time order. Pure.
enum Timeline {
    static func events(_ history: TransactionHistory) -> [TimelineEvent] {
        let t = history.transaction
        var events: [TimelineEvent] = []
        let approved = t.decision == "approved"
        events.append(TimelineEvent(
            at: t.decidedAt, title: "Decision: \(t.decision)",
            details: [
                approved
                    ? "every rule passed: session binding, retailer active, switches, hours, type, hash params, customer id, session limit, amount, daily caps"
                    : "refused by rule: \(t.reason)" + (t.message.map { " (“\($0)”)" } ?? ""),
                "service \(OpsFormat.serviceName(t.type)), amount \(OpsFormat.rupees(t.amountPaise)) (sent “\(t.amountRaw ?? "")”), customer \(OpsFormat.mobile(t.customerMobile))",
            ] + (t.hashParamsSent.map { ["request_hash_params sent: \($0)"] } ?? []),
            order: 1
        ))
        for callback in history.callbacks {
            var details = [
                "HTTP \(callback.httpStatus), outcome \(callback.outcome)" + (callback.reason.map { ", reason \($0)" } ?? ""),
                "answered in \(String(format: "%.1f", callback.latencyMs)) ms; from \(callback.remoteAddress ?? "unknown") origin \(callback.origin ?? "none")",
            ]
            if callback.body == nil {
                details.append("\(callback.bodyBytes) bytes, body not kept; SHA-256 \(callback.bodyDigest ?? "unknown")")
            }
            events.append(TimelineEvent(
                at: callback.receivedAt, title: "Callback: \(callback.action ?? "unknown action")", details: details,
                body: OpsFormat.body(callback.body), order: callback.action == "debit-hook" ? 0 : 2
            ))
        }
        for response in history.ekoResponses {
            let agreement: String
            if let eko = t.ekoTxStatus {
                agreement = response.txStatus == eko
                    ? "agrees with Eko's answer (\(OpsFormat.txStatusName(eko)))"
                    : "DISAGREES with Eko's answer (\(OpsFormat.txStatusName(eko)))"
            } else {
                agreement = "Eko has not answered yet"
            }
            events.append(TimelineEvent(
                at: response.receivedAt, title: "eko-response (a claim)",
                details: [
                    "reported tx_status \(OpsFormat.txStatusName(response.txStatus)), amount \(OpsFormat.rupees(response.amountPaise)), tid \(response.ekoTid ?? "none")",
                    agreement,
                ],
                order: 3
            ))
        }
        for call in history.ekoCalls {
            events.append(TimelineEvent(
                at: call.calledAt, title: "Eko \(call.operation) (attempt \(call.attempt))",
                details: [
                    "outcome \(call.outcome); HTTP \(call.httpStatus.map(String.init) ?? "none"), Eko status \(call.ekoStatus.map(String.init) ?? "none"), tx_status \(OpsFormat.txStatusName(call.txStatus))",
                    "took \(String(format: "%.1f", call.latencyMs)) ms" + (call.note.map { "; \($0)" } ?? ""),
                ],
                body: OpsFormat.body(call.body), order: 4
            ))
        }
        if let answered = t.ekoAnsweredAt {
            events.append(TimelineEvent(
                at: answered, title: "State now \(t.state.rawValue)",
                details: [
                    "latest answer applied: \(OpsFormat.txStatusName(t.ekoTxStatus)), amount \(OpsFormat.rupees(t.ekoAmountPaise)) from \(t.ekoAnswerSource ?? "unknown")",
                ],
                order: 5
            ))
        }
        for row in history.settlements {
            events.append(TimelineEvent(
                at: row.createdAt, title: row.kind == "reversal" ? "Reversal row" : "Settlement row",
                details: [
                    "\(OpsFormat.rupees(row.amountPaise)), commission \(OpsFormat.rupees(row.commissionPaise)), TDS \(OpsFormat.rupees(row.tdsPaise))",
                    "tid \(row.ekoTid ?? "none"), bank reference \(row.bankRefNum ?? "none"), verified by \(row.verifiedBy)",
                ],
                order: 6
            ))
        }
        if let flagged = t.flaggedAt, let reason = t.flagReason {
            events.append(TimelineEvent(
                at: flagged, title: "Flagged: \(reason)",
                details: ["our side had “\(t.flagClaimed ?? "")”, Eko said “\(t.flagEko ?? "")”"], order: 7
            ))
        }
        for entry in history.audit {
            events.append(TimelineEvent(
                at: entry.at, title: "Operator: \(entry.action) by \(entry.actor)",
                details: [entry.note.map { "note: \($0)" }, entry.outcome.map { "outcome: \($0)" }].compactMap { $0 },
                order: 8
            ))
        }
        // In time order; at the same instant, in the order things happen (hook, decision, report, inquiry, ...),
        // then as recorded.
        return events.enumerated().sorted { ($0.element.at, $0.element.order, $0.offset) < ($1.element.at, $1.element.order, $1.offset) }
            .map(\.element)
    }
}
