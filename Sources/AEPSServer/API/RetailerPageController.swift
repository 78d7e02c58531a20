import Crypto
import EkoSigning
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdAuth
import HummingbirdBcrypt
import NIOPosix

/// What a retailer's page session holds (stored server-side; the cookie carries only its id).
public struct LoginSession: Codable, Sendable {
    var retailerID: Int64
    /// Sent back by the page in `X-CSRF-Token` on every state-changing request.
    var csrfToken: String
    /// A digest of the password hash the session was opened with: a new password ends old sessions.
    var credentialStamp: String
}

/// The retailer page's API: sign in and out, who is signed in, and a fresh gateway configuration.
struct RetailerPageController {
    let database: AppDatabase
    let config: AppConfig
    let issuer: GatewaySessionIssuer
    let clock: @Sendable () -> Date

    func addRoutes(to router: Router<AppRequestContext>) {
        let cookie = SessionCookieParameters(
            name: "aeps_login", path: "/", secure: config.usesHTTPS, sameSite: .lax
        )
        router.group("/api")
            .add(middleware: JSONErrorMiddleware())
            .add(middleware: SessionMiddleware(
                storage: LoginSessionStorage(database: database, clock: clock),
                configuration: .init(
                    sessionCookieParameters: cookie, keyPrefix: "login.",
                    defaultSessionExpiration: .seconds(config.loginTTLSeconds)
                )
            ))
            .post("login", use: login)
            .post("logout", use: logout)
            .get("me", use: me)
            .post("gateway-config", use: gatewayConfig)
            .get("transactions/:client_ref_id", use: transaction)
            .get("gateway-sessions/:opening_id/transaction", use: openingTransaction)
    }

    /// `POST /api/login` `{"user_code", "password"}`.
    @Sendable func login(_ request: Request, context: AppRequestContext) async throws -> Response {
        try Self.refuseCrossSite(request)
        var request = request
        let body = try await request.jsonObject()
        guard let userCode = body["user_code"]?.scalarText, !userCode.isEmpty, userCode.count <= 32,
            case .string(let password)? = body["password"], !password.isEmpty, password.utf8.count <= 72
        else {
            throw APIError.badRequest("user_code and password are required")
        }
        let now = clock()
        let address = context.clientAddress(request, trustForwardedFor: config.http.trustForwardedFor)
        let database = database
        let outcome = try await PasswordSignIn(database: database).check(
            account: userCode, address: address, password: password, now: now
        ) { () async throws -> (account: Retailer, passwordHash: String)? in
            guard let retailer = try await database.retailer(userCode: userCode), let hash = retailer.passwordHash else {
                return nil
            }
            return (retailer, hash)
        }
        let retailer: Retailer
        switch outcome {
        case .delayed(let seconds): throw Self.tooManyAttempts(wait: seconds)
        case .failed:
            // The same answer for a wrong password and an unknown account.
            throw APIError(status: .unauthorized, code: "invalid_credentials", message: "Wrong user code or password.")
        case .succeeded(let found): retailer = found
        }
        guard let passwordHash = retailer.passwordHash else { throw APIError.notSignedIn }  // found with one above
        guard retailer.active else {
            throw APIError(status: .forbidden, code: "retailer_disabled", message: RefusalCode.retailerDisabled.message)
        }
        let session = LoginSession(
            retailerID: retailer.id!, csrfToken: SecretToken.generate(prefix: ""),
            credentialStamp: Self.stamp(passwordHash)
        )
        context.sessions.createSession(session)
        context.logger.info("retailer signed in", metadata: ["user_code": "\(retailer.userCode)"])
        return signedInAnswer(retailer: retailer, session: session)
    }

    /// `POST /api/logout`: ends the page session and closes the retailer's open gateway sessions.
    @Sendable func logout(_ request: Request, context: AppRequestContext) async throws -> Response {
        try Self.refuseCrossSite(request)
        if let (session, retailer) = try await signedIn(context) {
            try Self.checkCSRF(request, session: session)
            try await database.revokeGatewaySessions(retailerID: retailer.id!, now: clock())
        }
        context.sessions.clearSession()
        return JSONResponse.make(.ok, [("status", .string("signed_out"))])
    }

    /// `GET /api/me`: the signed-in retailer, or 401.
    @Sendable func me(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let (session, retailer) = try await signedIn(context) else { throw APIError.notSignedIn }
        return signedInAnswer(retailer: retailer, session: session)
    }

    /// `POST /api/gateway-config` `{"language": "hi"}` (optional): a fresh configuration for the gateway form.
    @Sendable func gatewayConfig(_ request: Request, context: AppRequestContext) async throws -> Response {
        try Self.refuseCrossSite(request)
        guard let (session, retailer) = try await signedIn(context) else { throw APIError.notSignedIn }
        try Self.checkCSRF(request, session: session)
        var request = request
        let body = try await request.jsonObject()
        let language = try body.requestedLanguage()
        let (sessionID, members) = try await issuer.issueSession(for: retailer, language: language, via: "page")
        // `opening_id` is the page's own (not a gateway form field): it finds this opening's transaction later.
        return JSONResponse.make(.ok, members + [("opening_id", .string(String(sessionID)))])
    }

    /// `GET /api/transactions/{client_ref_id}`: one of the signed-in retailer's transactions, as the server
    /// decided and settled it; 404 for one that does not exist or is another retailer's.
    @Sendable func transaction(_ request: Request, context: AppRequestContext) async throws -> Response {
        let retailer = try await signedInReader(request, context: context)
        let raw = try context.parameters.require("client_ref_id")
        guard let reference = raw.removingPercentEncoding, !reference.isEmpty,
            reference.count <= DebitHook.maxClientRefIDLength,
            reference.unicodeScalars.allSatisfy({ (0x21...0x7E).contains($0.value) })
        else {
            throw APIError.badRequest("client_ref_id must be 1 to \(DebitHook.maxClientRefIDLength) printable ASCII characters")
        }
        guard let record = try await database.transaction(clientRefID: reference, retailerID: retailer.id!) else {
            throw APIError.noSuchTransaction
        }
        return JSONResponse.make(.ok, [("transaction", PageTransaction.json(record, language: try Self.language(request)))])
    }

    /// `GET /api/gateway-sessions/{opening_id}/transaction`: the latest transaction decided under one of the
    /// signed-in retailer's gateway openings (`{"transaction": null}` while there is none); 404 for an opening
    /// that is not this retailer's.
    @Sendable func openingTransaction(_ request: Request, context: AppRequestContext) async throws -> Response {
        let retailer = try await signedInReader(request, context: context)
        let raw = try context.parameters.require("opening_id")
        guard raw.count <= 18, raw.allSatisfy(\.isASCIIDigit), let openingID = Int64(raw), openingID > 0 else {
            throw APIError.badRequest("the opening id must be a positive whole number")
        }
        guard let found = try await database.latestTransaction(gatewaySessionID: openingID, retailerID: retailer.id!) else {
            throw APIError(status: .notFound, code: "not_found", message: "No such gateway opening.")
        }
        let language = try Self.language(request)
        return JSONResponse.make(.ok, [
            ("opening_id", .string(String(openingID))),
            ("transaction", found.map { PageTransaction.json($0, language: language) } ?? .null),
        ])
    }

    // MARK: Helpers

    /// The `lang` query parameter (refusal messages follow it): one of Eko's languages, English by default.
    private static func language(_ request: Request) throws -> String {
        guard let requested = request.uri.queryParameters.get("lang") else { return "en" }
        guard AppConfig.languages.contains(requested) else {
            throw APIError.badRequest("lang must be one of \(AppConfig.languages.joined(separator: ", "))")
        }
        return requested
    }

    /// The signed-in retailer for a read: same-site, with the session's CSRF token (the page sends it on every call).
    private func signedInReader(_ request: Request, context: AppRequestContext) async throws -> Retailer {
        try Self.refuseCrossSite(request)
        guard let (session, retailer) = try await signedIn(context) else { throw APIError.notSignedIn }
        try Self.checkCSRF(request, session: session)
        return retailer
    }

    /// The session and its retailer, when the session is live, the retailer active and the password unchanged.
    private func signedIn(_ context: AppRequestContext) async throws -> (LoginSession, Retailer)? {
        guard let session = context.sessions.session else { return nil }
        guard let retailer = try await database.retailer(id: session.retailerID), retailer.active,
            let hash = retailer.passwordHash, SecretToken.constantTimeEquals(Self.stamp(hash), session.credentialStamp)
        else {
            context.sessions.clearSession()
            return nil
        }
        return (session, retailer)
    }

    /// Who is signed in, the CSRF token to echo, and what the page needs to know about the gateway.
    private func signedInAnswer(retailer: Retailer, session: LoginSession) -> Response {
        JSONResponse.make(.ok, [
            ("user_code", .string(retailer.userCode)),
            ("name", .string(retailer.name)),
            ("csrf_token", .string(session.csrfToken)),
            ("partner_name", .string(config.partnerName)),
            ("gateway_origin", .string(config.gatewayOrigin)),
        ])
    }

    /// 429 with `Retry-After` (whole seconds) and a message saying how long to wait.
    static func tooManyAttempts(wait: TimeInterval) -> APIError {
        let seconds = max(1, Int(wait.rounded(.up)))
        let minutes = (seconds + 59) / 60
        let when = seconds < 60 ? "\(seconds) seconds" : minutes == 1 ? "1 minute" : "\(minutes) minutes"
        return APIError(
            status: .tooManyRequests, code: "too_many_attempts",
            message: "Too many failed sign-ins. Please wait \(when) and try again.",
            headers: [(.retryAfter, String(seconds))]
        )
    }

    static func stamp(_ passwordHash: String) -> String {
        PasswordSignIn.stamp(passwordHash)
    }

    /// State-changing requests must echo the session's CSRF token in `X-CSRF-Token`.
    private static func checkCSRF(_ request: Request, session: LoginSession) throws {
        guard let presented = request.headers[.csrfToken], SecretToken.constantTimeEquals(presented, session.csrfToken)
        else { throw APIError.csrf }
    }

    /// Browsers mark requests from other sites; those never change anything here.
    private static func refuseCrossSite(_ request: Request) throws {
        if PasswordSignIn.isCrossSite(request) { throw APIError.crossSite }
    }
}

/// A transaction as the retailer page sees it: the server's decision and state, the amount in paise and as text,
/// and no customer data beyond a masked mobile.
enum PageTransaction {
    /// `language`: the language of a refusal's message (the stored one when its reason is not a known code).
    static func json(_ record: TransactionRecord, language: String) -> JSONValue {
        func text(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
        let service: String? = switch record.type {
        case 2: "cash_withdrawal"
        case 3: "balance_enquiry"
        case 4: "mini_statement"
        default: nil
        }
        let iso = ISO8601DateFormatter()
        return .object(JSONObject([
            ("client_ref_id", JSONValue.string(record.clientRefId)),
            ("type", record.type.map { .number(String($0)) } ?? .null),
            ("service", text(service)),
            ("decision", .string(record.decision)),
            ("message", record.decision == "refused"
                ? text(RefusalCode(rawValue: record.reason)?.message(language: language) ?? record.message) : .null),
            ("amount_paise", record.amountPaise.map { .number(String($0)) } ?? .null),
            ("amount", text(record.amountPaise.map(Paise.format))),
            ("state", .string(record.state.rawValue)),
            ("tid", text(record.ekoTid)),
            ("bank_ref_num", text(record.bankRefNum)),
            ("decided_at", .string(iso.string(from: record.decidedAt))),
            ("customer_mobile", text(record.customerMobile.map(Redactor.maskMobile))),
        ].map { JSONObject.Member(key: $0.0, value: $0.1) }))
    }
}

extension APIError {
    static let noSuchTransaction = APIError(
        status: .notFound, code: "not_found", message: "No such transaction for this retailer."
    )
}

extension HTTPField.Name {
    static let csrfToken = HTTPField.Name("X-CSRF-Token")!
    static let secFetchSite = HTTPField.Name("Sec-Fetch-Site")!
}
