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
        let members = try await issuer.issue(for: retailer, language: language, via: "page")
        return JSONResponse.make(.ok, members)
    }

    // MARK: Helpers

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

extension HTTPField.Name {
    static let csrfToken = HTTPField.Name("X-CSRF-Token")!
    static let secFetchSite = HTTPField.Name("Sec-Fetch-Site")!
}
