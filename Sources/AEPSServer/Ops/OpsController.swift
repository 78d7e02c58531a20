import EkoSigning
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// What an ops console sign-in holds (stored server-side under a SHA-256 of its cookie; see ``LoginSessionStorage``).
struct OpsSession: Codable, Sendable {
    var opsUserID: Int64
    /// Every console form carries it in `csrf_token`.
    var csrfToken: String
    /// A digest of the password hash the session was opened with.
    var credentialStamp: String
}

/// The ops console (`/ops`): server-rendered pages for ops and finance, and the operator's actions. Every route
/// but the sign-in page needs a signed-in account; every POST needs the session's CSRF token and is refused when
/// a browser marks it cross-site; operator actions refuse viewers; every action is written to the audit log.
struct OpsController {
    static let sessionCookie = "aeps_ops"
    static let formCookie = "aeps_ops_form"
    static let pageSize = 50

    let database: AppDatabase
    let config: AppConfig
    let settler: Settler
    let clock: @Sendable () -> Date
    /// The running server's signer: the doctor page checks the key it was started with (never shows it).
    let signer: EkoSigner

    func addRoutes(to router: Router<AppRequestContext>) {
        let ops = router.group("/ops").add(middleware: OpsErrorMiddleware())
        ops.get("login", use: loginPage)
            .post("login", use: login)
            .post("logout", use: logout)
            .get(use: overview)
            .get("transactions", use: transactions)
            .get("transactions/{client_ref_id}", use: transaction)
            .post("transactions/{client_ref_id}/inquire", use: reInquire)
            .post("transactions/{client_ref_id}/resolve", use: resolve)
            .get("stuck", use: stuck)
            .get("settlements", use: settlements)
            .get("retailers", use: retailers)
            .post("retailers/{user_code}/enable", use: enableRetailer)
            .post("retailers/{user_code}/disable", use: disableRetailer)
            .post("retailers/{user_code}/revoke-sessions", use: revokeSessions)
            .post("kill-switch", use: killSwitch)
            .get("callbacks", use: callbacks)
            .get("audit", use: audit)
            .get("export.csv", use: exportCSV)
            .get("export.json", use: exportJSON)
            .get("doctor", use: doctor)
            .get("troubleshooting", use: troubleshooting)
    }

    /// The signed-in person and their session.
    struct Signed {
        var user: OpsUser
        var session: OpsSession
        var canAct: Bool { user.role == .operator }

        /// What every page's header needs.
        func layout(_ title: String, _ values: [String: Any] = [:]) -> [String: Any] {
            var merged = values
            merged["title"] = title
            merged["user"] = ["name": user.name, "role": user.role.rawValue, "csrf": session.csrfToken] as [String: Any]
            merged["csrf"] = session.csrfToken
            merged["canAct"] = canAct
            return merged
        }
    }

    private var storage: LoginSessionStorage { LoginSessionStorage(database: database, clock: clock) }

    // MARK: Sign-in

    /// `GET /ops/login`: the form, with a fresh token in a cookie and in the form (double submit).
    @Sendable func loginPage(_ request: Request, context: AppRequestContext) async throws -> Response {
        if try await signedIn(request) != nil { return Self.redirect("/ops") }
        return loginForm(status: .ok, error: nil, name: "")
    }

    private func loginForm(status: HTTPResponse.Status, error: String?, name: String) -> Response {
        let token = SecretToken.generate(prefix: "")
        var response = OpsPages.render("login", status: status, [
            "title": "Ops console sign-in", "formToken": token, "nameTried": name, "error": OpsPages.optional(error),
        ])
        response.setCookie(Cookie(
            name: Self.formCookie, value: token, maxAge: 3600, path: "/ops/login", secure: config.usesHTTPS,
            httpOnly: true, sameSite: .strict
        ))
        return response
    }

    /// `POST /ops/login` (`name`, `password`, `csrf_token`).
    @Sendable func login(_ request: Request, context: AppRequestContext) async throws -> Response {
        if PasswordSignIn.isCrossSite(request) { throw OpsError.crossSite }
        var request = request
        let form = try await OpsInput.form(&request)
        guard let presented = form["csrf_token"], let expected = request.cookies[Self.formCookie]?.value,
            SecretToken.constantTimeEquals(presented, expected)
        else { throw OpsError.csrf }
        let name = form["name"]?.trimmingCharacters(in: .whitespaces) ?? ""
        let password = form["password"] ?? ""
        guard !name.isEmpty, name.count <= 64, !password.isEmpty, password.utf8.count <= 72 else {
            return loginForm(status: .badRequest, error: "Name and password are required.", name: String(name.prefix(64)))
        }
        let now = clock()
        let address = context.clientAddress(request, trustForwardedFor: config.http.trustForwardedFor)
        let database = database
        let outcome = try await PasswordSignIn(database: database).check(
            account: "ops:" + name, address: address, password: password, now: now
        ) { () async throws -> (account: OpsUser, passwordHash: String)? in
            guard let user = try await database.opsUser(name: name), user.active else { return nil }
            return (user, user.passwordHash)
        }
        let user: OpsUser
        switch outcome {
        case .delayed(let seconds):
            let wait = max(1, Int(seconds.rounded(.up)))
            throw OpsError(
                status: .tooManyRequests, message: "Too many failed sign-ins. Please wait \(wait) seconds and try again.",
                headers: [(.retryAfter, String(wait))]
            )
        case .failed:
            return loginForm(status: .unauthorized, error: "Wrong name or password.", name: name)
        case .succeeded(let found): user = found
        }
        let token = SecretToken.generate(prefix: "")
        let session = OpsSession(
            opsUserID: user.id!, csrfToken: SecretToken.generate(prefix: ""),
            credentialStamp: PasswordSignIn.stamp(user.passwordHash)
        )
        try await storage.create(key: "ops." + token, value: session, expires: .seconds(config.opsSessionTTLSeconds))
        try await database.recordAudit(OpsAuditEntry(
            at: now, opsUserId: user.id, actor: user.name, action: "sign_in", target: nil, note: nil,
            outcome: "from \(address ?? "unknown")"
        ))
        context.logger.info("ops user signed in", metadata: ["ops_user": "\(user.name)"])
        var response = Self.redirect("/ops/transactions")
        response.setCookie(sessionCookie(token, maxAge: config.opsSessionTTLSeconds))
        response.setCookie(Cookie(name: Self.formCookie, value: "", maxAge: 0, path: "/ops/login", sameSite: .strict))
        return response
    }

    /// `POST /ops/logout`.
    @Sendable func logout(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let (signed, _) = try await action(&request, operatorOnly: false)
        if let token = request.cookies[Self.sessionCookie]?.value { try await storage.remove(key: "ops." + token) }
        try await database.recordAudit(OpsAuditEntry(
            at: clock(), opsUserId: signed.user.id, actor: signed.user.name, action: "sign_out"
        ))
        var response = Self.redirect("/ops/login")
        response.setCookie(sessionCookie("", maxAge: 0))
        return response
    }

    private func sessionCookie(_ value: String, maxAge: Int) -> Cookie {
        Cookie(
            name: Self.sessionCookie, value: value, maxAge: maxAge, path: "/ops", secure: config.usesHTTPS, httpOnly: true,
            sameSite: .strict
        )
    }

    /// The signed-in account, when the cookie names a live session of an active account whose password is
    /// unchanged.
    private func signedIn(_ request: Request) async throws -> Signed? {
        guard let token = request.cookies[Self.sessionCookie]?.value, !token.isEmpty, token.count <= SecretToken.maxLength,
            let session = try await storage.get(key: "ops." + token, as: OpsSession.self)
        else { return nil }
        guard let user = try await database.opsUser(id: session.opsUserID), user.active,
            SecretToken.constantTimeEquals(PasswordSignIn.stamp(user.passwordHash), session.credentialStamp)
        else {
            try await storage.remove(key: "ops." + token)
            return nil
        }
        return Signed(user: user, session: session)
    }

    /// A page: the signed-in account, or a redirect to the sign-in page.
    func viewer(_ request: Request) async throws -> Signed {
        guard let signed = try await signedIn(request) else { throw Redirect(location: "/ops/login") }
        return signed
    }

    /// An action (POST): refused when cross-site (403), without a session (401), without the session's CSRF
    /// token (403), or, for operator actions, from a viewer (403). Returns the account and the form.
    private func action(_ request: inout Request, operatorOnly: Bool) async throws -> (Signed, [String: String]) {
        if PasswordSignIn.isCrossSite(request) { throw OpsError.crossSite }
        guard let signed = try await signedIn(request) else { throw OpsError.notSignedIn }
        let form = try await OpsInput.form(&request)
        guard let presented = form["csrf_token"], SecretToken.constantTimeEquals(presented, signed.session.csrfToken) else {
            throw OpsError.csrf
        }
        if operatorOnly, !signed.canAct { throw OpsError.operatorOnly }
        return (signed, form)
    }

    /// Thrown by a page to send the browser elsewhere (to sign in).
    struct Redirect: Error, HTTPResponseError {
        var location: String
        var status: HTTPResponse.Status { .seeOther }
        func response(from request: Request, context: some RequestContext) throws -> Response {
            OpsController.redirect(location)
        }
    }

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }

    // MARK: Pages

    /// `GET /ops`: what needs attention, the kill switch, the database's size.
    @Sendable func overview(_ request: Request, context: AppRequestContext) async throws -> Response {
        let signed = try await viewer(request)
        let counts = try await database.attentionCounts()
        let status = try await database.databaseStatus()
        let retention = try await database.retentionStatus().lastRun.map { run in
            "\(OpsFormat.time(run.ranAt)): removed "
                + run.removed.byTable.map { "\($0.count) from \($0.table)" }.joined(separator: ", ")
        }
        return OpsPages.render("overview", signed.layout("Overview", [
            "paused": try await database.isServicePaused(), "stuck": counts.stuck, "flagged": counts.flagged,
            "databaseSize": OpsFormat.bytes(status.totalBytes), "fileSize": OpsFormat.bytes(status.fileBytes),
            "walSize": OpsFormat.bytes(status.walBytes), "retention": retention ?? "not run yet",
            "notice": OpsPages.optional(Self.notice(request)),
        ]))
    }

    /// `GET /ops/transactions?q=&state=&type=&reason=&from=&to=&after=`.
    @Sendable func transactions(_ request: Request, context: AppRequestContext) async throws -> Response {
        let signed = try await viewer(request)
        let filter = try OpsInput.transactionFilter(request)
        let after = try OpsInput.cursor(request, "after")
        let rows = try await database.searchTransactions(filter, after: after, limit: Self.pageSize + 1)
        let shown = Array(rows.prefix(Self.pageSize))
        let next = rows.count > Self.pageSize ? shown.last?.transaction.id.map { OpsInput.query(filter, after: $0) } : nil
        return OpsPages.render("transactions", signed.layout("Transactions", [
            "q": filter.query ?? "", "reason": filter.reason ?? "", "from": filter.from ?? "", "to": filter.to ?? "",
            "states": TransactionState.allCases.map { ["value": $0.rawValue, "selected": $0.rawValue == filter.state] },
            "types": [2, 3, 4].map { ["value": String($0), "label": OpsFormat.serviceName($0), "selected": $0 == filter.type] },
            "rows": shown.map { OpsFormat.listRow($0) }, "next": OpsPages.optional(next), "filterQuery": OpsInput.query(filter),
        ]))
    }

    /// `GET /ops/transactions/{client_ref_id}`: one timeline of everything that touched it.
    @Sendable func transaction(_ request: Request, context: AppRequestContext) async throws -> Response {
        let signed = try await viewer(request)
        let clientRefID = try context.parameters.require("client_ref_id")
        guard let history = try await database.transactionHistory(clientRefID: clientRefID) else { throw OpsError.notFound }
        let t = history.transaction
        let settled = history.settlements.filter { $0.kind == "settlement" }.reduce(Int64(0)) { $0 + $1.amountPaise }
        let reversed = history.settlements.filter { $0.kind == "reversal" }.reduce(Int64(0)) { $0 + $1.amountPaise }
        let money = history.settlements.isEmpty
            ? "nothing settled"
            : "settled \(OpsFormat.rupees(settled)), reversed \(OpsFormat.rupees(reversed)), net \(OpsFormat.rupees(settled - reversed))"
        var values: [String: Any] = [
            "clientRefID": t.clientRefId, "clientRefIDPath": OpsFormat.pathSegment(t.clientRefId),
            "userCode": t.userCode ?? "", "retailerName": history.retailerName ?? "", "type": OpsFormat.serviceName(t.type),
            "amount": OpsFormat.rupees(t.amountPaise), "amountRaw": t.amountRaw ?? "", "mobile": OpsFormat.mobile(t.customerMobile),
            "aadhaar": t.aadhaarLast4.map { "XXXX XXXX " + $0 } ?? "", "decision": t.decision, "reason": t.reason,
            "message": OpsPages.optional(t.message), "state": t.state.rawValue, "tid": t.ekoTid ?? "", "bankRef": t.bankRefNum ?? "",
            "ekoAnswer": t.ekoTxStatus.map {
                "\(OpsFormat.txStatusName($0)), amount \(OpsFormat.rupees(t.ekoAmountPaise)), at \(OpsFormat.time(t.ekoAnsweredAt))"
            } ?? "none yet",
            "money": money, "notice": OpsPages.optional(Self.notice(request)),
            "events": Timeline.events(history).map { event -> [String: Any] in
                ["at": OpsFormat.time(event.at), "title": event.title, "details": event.details, "body": OpsPages.optional(event.body)]
            },
        ]
        if let reason = t.flagReason {
            values["flag"] = [
                "reason": reason, "claimed": t.flagClaimed ?? "", "eko": t.flagEko ?? "", "at": OpsFormat.time(t.flaggedAt),
            ] as [String: Any]
        }
        if let resolution = try await database.resolution(clientRefID: clientRefID) {
            values["resolution"] = ["by": resolution.by, "at": OpsFormat.time(resolution.at), "note": resolution.note]
        }
        return OpsPages.render("transaction", signed.layout("Transaction \(t.clientRefId)", values))
    }

    /// `GET /ops/stuck`.
    @Sendable func stuck(_ request: Request, context: AppRequestContext) async throws -> Response {
        let signed = try await viewer(request)
        let now = clock()
        let rows = try await database.stuckTransactions(limit: 500)
        return OpsPages.render("stuck", signed.layout("Stuck and flagged (\(rows.count))", [
            "rows": rows.map { OpsFormat.listRow($0, now: now) }, "showAge": true,
        ]))
    }

    /// `GET /ops/settlements?from=&to=`.
    @Sendable func settlements(_ request: Request, context: AppRequestContext) async throws -> Response {
        let signed = try await viewer(request)
        let from = try OpsInput.day(request, "from")
        let to = try OpsInput.day(request, "to")
        func table(_ heading: String, _ totals: [SettlementTotal]) -> [String: Any] {
            [
                "heading": heading,
                "totals": totals.map { total -> [String: Any] in
                    [
                        "key": total.key, "label": total.label ?? "", "settlements": total.settlements,
                        "settled": OpsFormat.rupees(total.settledPaise), "commission": OpsFormat.rupees(total.commissionPaise),
                        "tds": OpsFormat.rupees(total.tdsPaise), "reversals": total.reversals,
                        "reversed": OpsFormat.rupees(total.reversedPaise), "net": OpsFormat.rupees(total.netPaise),
                    ]
                },
            ]
        }
        return OpsPages.render("settlements", signed.layout("Settlements", [
            "from": from ?? "", "to": to ?? "",
            "days": table("Day (IST)", try await database.settlementTotals(byRetailer: false, from: from, to: to)),
            "retailers": table("Retailer", try await database.settlementTotals(byRetailer: true, from: from, to: to)),
        ]))
    }

    /// `GET /ops/retailers`.
    @Sendable func retailers(_ request: Request, context: AppRequestContext) async throws -> Response {
        let signed = try await viewer(request)
        let overviews = try await database.retailerOverviews(now: clock())
        return OpsPages.render("retailers", signed.layout("Retailers", [
            "notice": OpsPages.optional(Self.notice(request)),
            "retailers": overviews.map { overview -> [String: Any] in
                let r = overview.retailer
                let count = r.dailyCountCap.map { "\($0) a day" } ?? "policy default count"
                let amount = r.dailyAmountCapPaise.map { OpsFormat.rupees($0) + " a day" } ?? "policy default amount"
                return [
                    "userCode": r.userCode, "userCodePath": OpsFormat.pathSegment(r.userCode), "name": r.name,
                    "state": r.active ? "active" : "disabled", "paused": r.paused ? "paused" : "no", "caps": "\(count), \(amount)",
                    "openSessions": overview.openGatewaySessions, "pageSignIns": overview.pageSignIns,
                    "balance": OpsFormat.rupees(overview.balancePaise), "active": r.active,
                    "toggleAction": r.active ? "disable" : "enable", "toggleLabel": r.active ? "Disable" : "Enable",
                    "csrf": signed.session.csrfToken,
                ]
            },
        ]))
    }

    /// `GET /ops/callbacks?origin=&action=&outcome=&before=`.
    @Sendable func callbacks(_ request: Request, context: AppRequestContext) async throws -> Response {
        let signed = try await viewer(request)
        var filter = CallbackLogFilter()
        filter.origin = try OpsInput.identifier(request, "origin", maxLength: 200)
        filter.action = try OpsInput.identifier(request, "action", maxLength: 40)
        filter.outcome = try OpsInput.identifier(request, "outcome", maxLength: 40)
        let before = try OpsInput.cursor(request, "before")
        let rows = try await database.callbackLog(filter, before: before, limit: Self.pageSize + 1)
        let shown = Array(rows.prefix(Self.pageSize))
        var next: String?
        if rows.count > Self.pageSize, let last = shown.last?.id {
            let pairs = [("origin", filter.origin), ("action", filter.action), ("outcome", filter.outcome), ("before", String(last))]
            next = pairs.compactMap { name, value in
                value.map { "\(name)=" + ($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "") }
            }.joined(separator: "&")
        }
        return OpsPages.render("callbacks", signed.layout("Callback log", [
            "origin": filter.origin ?? "", "action": filter.action ?? "", "outcome": filter.outcome ?? "", "next": OpsPages.optional(next),
            "rows": shown.map { row -> [String: Any] in
                [
                    "at": OpsFormat.time(row.receivedAt), "address": row.remoteAddress ?? "", "origin": row.origin ?? "",
                    "action": row.action ?? "", "clientRefID": row.clientRefId ?? "",
                    "clientRefIDPath": OpsPages.optional(row.clientRefId.map(OpsFormat.pathSegment)), "status": row.httpStatus,
                    "outcome": row.outcome, "reason": row.reason ?? "", "latency": String(format: "%.1f ms", row.latencyMs),
                    "body": OpsPages.optional(OpsFormat.body(row.body)), "bytes": row.bodyBytes, "digest": row.bodyDigest ?? "unknown",
                ]
            },
        ]))
    }

    /// `GET /ops/audit?before=`.
    @Sendable func audit(_ request: Request, context: AppRequestContext) async throws -> Response {
        let signed = try await viewer(request)
        let before = try OpsInput.cursor(request, "before")
        let rows = try await database.auditLog(before: before, limit: Self.pageSize + 1)
        let shown = Array(rows.prefix(Self.pageSize))
        let next = rows.count > Self.pageSize ? shown.last?.id.map { "before=\($0)" } : nil
        return OpsPages.render("audit", signed.layout("Audit log", [
            "next": OpsPages.optional(next),
            "rows": shown.map { entry -> [String: Any] in
                [
                    "at": OpsFormat.time(entry.at), "actor": entry.actor, "action": entry.action, "target": entry.target ?? "",
                    "note": entry.note ?? "", "outcome": entry.outcome ?? "",
                ]
            },
        ]))
    }

    // MARK: Operator actions

    /// `POST /ops/transactions/{client_ref_id}/inquire`: asks Eko now and records its answer like the sweeper.
    @Sendable func reInquire(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let (signed, _) = try await action(&request, operatorOnly: true)
        let clientRefID = try context.parameters.require("client_ref_id")
        guard try await database.transaction(clientRefID: clientRefID) != nil else { throw OpsError.notFound }
        let step = await settler.verify(clientRefID: clientRefID)
        let outcome = step.map { "\($0.outcome.rawValue); state \($0.state.rawValue)" + ($0.flag.map { "; flag \($0.reason.rawValue)" } ?? "") }
            ?? "Eko's answer could not be recorded"
        try await database.recordAudit(OpsAuditEntry(
            at: clock(), opsUserId: signed.user.id, actor: signed.user.name, action: "re_inquire",
            target: "transaction:\(clientRefID)", outcome: outcome
        ))
        return Self.redirect("/ops/transactions/\(OpsFormat.pathSegment(clientRefID))?notice=inquired")
    }

    /// `POST /ops/transactions/{client_ref_id}/resolve` (`note` required).
    @Sendable func resolve(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let (signed, form) = try await action(&request, operatorOnly: true)
        let clientRefID = try context.parameters.require("client_ref_id")
        let note = try Self.note(form, required: true)
        do {
            try await database.resolveTransaction(clientRefID: clientRefID, by: signed.user, note: note, now: clock())
        } catch OpsActionError.transactionNotFound {
            throw OpsError.notFound
        }
        return Self.redirect("/ops/transactions/\(OpsFormat.pathSegment(clientRefID))?notice=resolved")
    }

    @Sendable func enableRetailer(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await setRetailerActive(true, request, context)
    }

    @Sendable func disableRetailer(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await setRetailerActive(false, request, context)
    }

    /// Enables or disables a retailer (disabling ends its page and gateway sessions).
    private func setRetailerActive(_ active: Bool, _ request: Request, _ context: AppRequestContext) async throws -> Response {
        var request = request
        let (signed, form) = try await action(&request, operatorOnly: true)
        let userCode = try context.parameters.require("user_code")
        let note = try Self.note(form, required: false)
        do {
            try await database.setRetailerActive(userCode: userCode, active: active, now: clock())
        } catch RetailerError.notFound {
            throw OpsError.notFound
        }
        try await database.recordAudit(OpsAuditEntry(
            at: clock(), opsUserId: signed.user.id, actor: signed.user.name,
            action: active ? "retailer_enable" : "retailer_disable", target: "retailer:\(userCode)",
            note: note.isEmpty ? nil : note, outcome: active ? "active" : "disabled; page and gateway sessions ended"
        ))
        return Self.redirect("/ops/retailers?notice=\(active ? "enabled" : "disabled")")
    }

    /// `POST /ops/retailers/{user_code}/revoke-sessions`: ends its page sign-ins and gateway sessions.
    @Sendable func revokeSessions(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let (signed, form) = try await action(&request, operatorOnly: true)
        let userCode = try context.parameters.require("user_code")
        let note = try Self.note(form, required: false)
        let revoked: Int
        do {
            revoked = try await database.revokeRetailerSessions(userCode: userCode, now: clock())
        } catch RetailerError.notFound {
            throw OpsError.notFound
        }
        try await database.recordAudit(OpsAuditEntry(
            at: clock(), opsUserId: signed.user.id, actor: signed.user.name, action: "revoke_sessions",
            target: "retailer:\(userCode)", note: note.isEmpty ? nil : note,
            outcome: "\(revoked) open gateway sessions revoked; page sign-ins ended"
        ))
        return Self.redirect("/ops/retailers?notice=revoked")
    }

    /// `POST /ops/kill-switch` (`state` on or off; `note`).
    @Sendable func killSwitch(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let (signed, form) = try await action(&request, operatorOnly: true)
        guard let state = form["state"], state == "on" || state == "off" else {
            throw OpsError.badRequest("state: expected on or off")
        }
        let note = try Self.note(form, required: false)
        try await database.setServicePaused(state == "on", now: clock())
        try await database.recordAudit(OpsAuditEntry(
            at: clock(), opsUserId: signed.user.id, actor: signed.user.name, action: "kill_switch_\(state)",
            target: "service", note: note.isEmpty ? nil : note,
            outcome: state == "on" ? "every debit-hook refused" : "debit-hooks decided by the policy"
        ))
        return Self.redirect("/ops?notice=kill-switch-\(state)")
    }

    /// A form's `note`: trimmed, at most 500 characters, without control characters; required or not.
    static func note(_ form: [String: String], required: Bool) throws -> String {
        let note = (form["note"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        if required, note.isEmpty { throw OpsError.badRequest("note: a note saying why is required") }
        guard note.count <= 500 else { throw OpsError.badRequest("note: at most 500 characters") }
        guard !note.unicodeScalars.contains(where: { $0.properties.generalCategory == .control && $0 != "\n" && $0 != "\r" })
        else { throw OpsError.badRequest("note: control characters are not allowed") }
        return note
    }

    /// A fixed message named by `?notice=` (never text from the URL itself).
    static func notice(_ request: Request) -> String? {
        switch request.uri.queryParameters.get("notice") {
        case "inquired": "Eko was asked; its answer is in the timeline."
        case "resolved": "Marked resolved; the note is in the audit log."
        case "enabled": "Retailer enabled."
        case "disabled": "Retailer disabled; its page and gateway sessions were ended."
        case "revoked": "The retailer's sessions were revoked."
        case "kill-switch-on": "Kill switch ON: every debit-hook is refused."
        case "kill-switch-off": "Kill switch off."
        default: nil
        }
    }

    // MARK: Export

    static let exportColumns = [
        "client_ref_id", "decided_at_ist", "ist_day", "user_code", "retailer", "type", "amount", "customer_mobile",
        "decision", "reason", "state", "eko_tid", "bank_ref_num", "aadhaar_last4", "settled_amount", "reversed_amount",
        "flag_reason",
    ]

    static func exportValues(_ row: TransactionListRow) -> [String] {
        let t = row.transaction
        return [
            t.clientRefId, OpsFormat.time(t.decidedAt), t.istDay ?? "", t.userCode ?? "", row.retailerName ?? "",
            t.type.map(String.init) ?? "", t.amountPaise.map(Paise.format) ?? "", OpsFormat.mobile(t.customerMobile),
            t.decision, t.reason, t.state.rawValue, t.ekoTid ?? "", t.bankRefNum ?? "", t.aadhaarLast4 ?? "",
            row.settledPaise.map(Paise.format) ?? "", row.reversedPaise.map(Paise.format) ?? "", t.flagReason ?? "",
        ]
    }

    /// `GET /ops/export.csv` with the list's filters: streamed a page of rows at a time.
    @Sendable func exportCSV(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await export(request, format: "csv") { rows, first in
            var text = first ? Self.exportColumns.joined(separator: ",") + "\r\n" : ""
            for row in rows { text += Self.exportValues(row).map(CSV.field).joined(separator: ",") + "\r\n" }
            return text
        } end: { "" }
    }

    /// `GET /ops/export.json` with the list's filters: one JSON array, streamed.
    @Sendable func exportJSON(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await export(request, format: "json") { rows, first in
            var text = first ? "[" : ""
            for (index, row) in rows.enumerated() {
                let members = zip(Self.exportColumns, Self.exportValues(row)).map { JSONObject.Member(key: $0, value: .string($1)) }
                text += (first && index == 0 ? "\n" : ",\n") + JSONValue.object(JSONObject(members)).serialized()
            }
            return text
        } end: { "\n]\n" }
    }

    private func export(
        _ request: Request, format: String, rows encode: @escaping @Sendable ([TransactionListRow], Bool) -> String,
        end: @escaping @Sendable () -> String
    ) async throws -> Response {
        let signed = try await viewer(request)
        let filter = try OpsInput.transactionFilter(request)
        try await database.recordAudit(OpsAuditEntry(
            at: clock(), opsUserId: signed.user.id, actor: signed.user.name, action: "export_\(format)",
            target: OpsInput.auditDescription(filter)
        ))
        let database = database
        let body = ResponseBody { writer in
            var after: Int64?
            var first = true
            while true {
                let rows = try await database.searchTransactions(filter, after: after, limit: 500)
                let text = encode(rows, first)
                if !text.isEmpty { try await writer.write(ByteBuffer(string: text)) }
                first = false
                guard rows.count == 500, let last = rows.last?.transaction.id else { break }
                after = last
            }
            try await writer.write(ByteBuffer(string: end()))
            try await writer.finish(nil)
        }
        let day = OpsFormat.time(clock()).prefix(10)
        return Response(
            status: .ok,
            headers: [
                .contentType: format == "csv" ? "text/csv; charset=utf-8" : "application/json; charset=utf-8",
                .contentDisposition: "attachment; filename=\"aeps-transactions-\(day).\(format)\"",
                .cacheControl: "no-store",
            ],
            body: body
        )
    }
}
