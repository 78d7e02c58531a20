import AEPSServer
import EkoSigning
import Foundation
import GRDB
import Hummingbird
import HummingbirdBcrypt
import HummingbirdTesting
import Testing

/// Sign-in, sign-out, throttling, CSRF and the gateway configuration, through HTTP.
@Suite struct RetailerPageAPITests {
    static let password = "correct horse battery"

    /// A server with one retailer whose page password is `password` (bcrypt at the lowest cost, for speed).
    func serverWithPassword() async throws -> TestServer {
        let server = try TestServer()
        try await server.addRetailer()
        try await server.database.setRetailerPassword(
            userCode: "20810200", passwordHash: Bcrypt.hash(Self.password, cost: 4), now: pinnedNow
        )
        return server
    }

    struct Answer {
        var status: HTTPResponse.Status
        var headers: HTTPFields
        var json: JSONValue
    }

    func call(
        _ client: some TestClientProtocol, _ method: HTTPRequest.Method, _ path: String, body: String? = nil,
        cookie: String? = nil, csrf: String? = nil, extra: HTTPFields = [:]
    ) async throws -> Answer {
        var headers = extra
        if body != nil { headers[.contentType] = "application/json" }
        if let cookie { headers[.cookie] = cookie }
        if let csrf { headers[.init("X-CSRF-Token")!] = csrf }
        return try await client.execute(
            uri: path, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }
        ) { response in
            let text = String(buffer: response.body)
            return Answer(status: response.status, headers: response.headers, json: (try? JSONValue.parse(text)) ?? .null)
        }
    }

    /// Signs in; returns the cookie pair to send back and the CSRF token.
    func signIn(_ client: some TestClientProtocol, password: String = password) async throws -> (cookie: String, csrf: String) {
        let answer = try await call(client, .post, "/api/login", body: #"{"user_code": "20810200", "password": "\#(password)"}"#)
        #expect(answer.status == .ok)
        let setCookie = try #require(answer.headers[.setCookie])
        let cookie = try #require(setCookie.split(separator: ";").first.map(String.init))
        return (cookie, try #require(answer.json["csrf_token"]?.scalarText))
    }

    /// Asks for a gateway configuration as the page does; returns its session token.
    func openGateway(_ client: some TestClientProtocol, cookie: String, csrf: String) async throws -> String {
        let config = try await call(client, .post, "/api/gateway-config", body: "{}", cookie: cookie, csrf: csrf)
        let params = try JSONValue.parse(try #require(config.json["callback_url_custom_params"]?.scalarText))
        return try #require(params["aeps_session"]?.scalarText)
    }

    @Test func signingInSetsAProtectedCookieAndMeAnswers() async throws {
        let server = try await serverWithPassword()
        try await server.makeApp().test(.router) { client in
            let answer = try await call(client, .post, "/api/login", body: #"{"user_code": "20810200", "password": "\#(Self.password)"}"#)
            #expect(answer.status == .ok)
            #expect(answer.json["user_code"] == .string("20810200"))
            #expect(answer.json["name"] == .string("Test Shop"))
            let setCookie = try #require(answer.headers[.setCookie])
            #expect(setCookie.hasPrefix("aeps_login="))
            #expect(setCookie.contains("HttpOnly"))
            #expect(setCookie.contains("SameSite=Lax"))
            #expect(setCookie.contains("Secure"))  // the callback URL is https
            let cookie = String(setCookie.split(separator: ";")[0])
            let me = try await call(client, .get, "/api/me", cookie: cookie)
            #expect(me.status == .ok)
            #expect(me.json["csrf_token"] == answer.json["csrf_token"])
            let nobody = try await call(client, .get, "/api/me")
            #expect(nobody.status == .unauthorized)
            #expect(nobody.json["error"] == .string("not_signed_in"))
        }
        // Only a hash of the cookie is stored.
        let keys = try await server.rows("SELECT key_hash FROM login_session")
        #expect(keys.count == 1)
        #expect((keys.first?["key_hash"] ?? nil)?.count == 64)
    }

    @Test func aWrongPasswordAndAnUnknownAccountGetTheSameAnswer() async throws {
        let server = try await serverWithPassword()
        try await server.makeApp().test(.router) { client in
            let wrong = try await call(client, .post, "/api/login", body: #"{"user_code": "20810200", "password": "not the password"}"#)
            let unknown = try await call(client, .post, "/api/login", body: #"{"user_code": "99999999", "password": "not the password"}"#)
            #expect(wrong.status == .unauthorized)
            #expect(unknown.status == wrong.status)
            #expect(unknown.json == wrong.json)
            #expect(wrong.json["error"] == .string("invalid_credentials"))
            #expect(wrong.headers[.setCookie] == nil)
        }
    }

    @Test func repeatedFailuresDelayTheNextAttemptFromThatAddressEvenForTheRightPassword() async throws {
        let server = try await serverWithPassword()
        try await server.makeApp().test(.router) { client in
            for _ in 0..<5 {
                let failed = try await call(client, .post, "/api/login", body: #"{"user_code": "20810200", "password": "guess guess"}"#)
                #expect(failed.status == .unauthorized)
            }
            let delayed = try await call(client, .post, "/api/login", body: #"{"user_code": "20810200", "password": "\#(Self.password)"}"#)
            #expect(delayed.status == .tooManyRequests)
            #expect(delayed.json["error"] == .string("too_many_attempts"))
            #expect(delayed.headers[.retryAfter] == "30")
        }
        // Once the delay has passed the retailer can sign in again (SignInThrottleTests has the rest).
        try await server.makeApp(clock: { pinnedNow.addingTimeInterval(30) }).test(.router) { client in
            _ = try await signIn(client)
        }
    }

    @Test func manyFailuresFromOneAddressAreThrottledAcrossAccounts() async throws {
        let server = try await serverWithPassword()
        try await server.makeApp().test(.live) { client in
            for index in 0..<20 {
                let failed = try await call(client, .post, "/api/login", body: #"{"user_code": "7000\#(index)", "password": "guess guess"}"#)
                #expect(failed.status == .unauthorized)
            }
            let throttled = try await call(client, .post, "/api/login", body: #"{"user_code": "20810200", "password": "\#(Self.password)"}"#)
            #expect(throttled.status == .tooManyRequests)
        }
    }

    @Test func behindATrustedProxyTheForwardedAddressIsThrottledNotTheProxy() async throws {
        let server = try TestServer(overrides: ["http": #"{"trust_forwarded_for": true}"#])
        try await server.addRetailer()
        try await server.database.setRetailerPassword(
            userCode: "20810200", passwordHash: Bcrypt.hash(Self.password, cost: 4), now: pinnedNow
        )
        try await server.makeApp().test(.router) { client in
            for index in 0..<20 {
                let failed = try await call(
                    client, .post, "/api/login", body: #"{"user_code": "7000\#(index)", "password": "guess guess"}"#,
                    extra: [.init("X-Forwarded-For")!: "198.51.100.9, 203.0.113.7"]
                )
                #expect(failed.status == .unauthorized)
            }
            let sameClient = try await call(
                client, .post, "/api/login", body: #"{"user_code": "20810200", "password": "\#(Self.password)"}"#,
                extra: [.init("X-Forwarded-For")!: "203.0.113.7"]
            )
            #expect(sameClient.status == .tooManyRequests)
            let otherClient = try await call(
                client, .post, "/api/login", body: #"{"user_code": "20810200", "password": "\#(Self.password)"}"#,
                extra: [.init("X-Forwarded-For")!: "203.0.113.8"]
            )
            #expect(otherClient.status == .ok)
        }
        let addresses = try await server.rows("SELECT DISTINCT remote_address FROM login_attempt ORDER BY remote_address")
        #expect(addresses == [["remote_address": "203.0.113.7"], ["remote_address": "203.0.113.8"]])
    }

    @Test func withoutTrustTheForwardedHeaderIsIgnored() async throws {
        let server = try await serverWithPassword()
        try await server.makeApp().test(.router) { client in
            _ = try await call(
                client, .post, "/api/login", body: #"{"user_code": "20810200", "password": "guess guess"}"#,
                extra: [.init("X-Forwarded-For")!: "203.0.113.7"]
            )
        }
        #expect(try await server.rows("SELECT remote_address FROM login_attempt") == [["remote_address": nil]])
    }

    @Test func theGatewayConfigurationNeedsTheCSRFToken() async throws {
        let server = try await serverWithPassword()
        try await server.makeApp().test(.router) { client in
            let (cookie, csrf) = try await signIn(client)
            let none = try await call(client, .post, "/api/gateway-config", body: "{}", cookie: cookie)
            #expect(none.status == .forbidden)
            #expect(none.json["error"] == .string("csrf_failed"))
            let wrong = try await call(client, .post, "/api/gateway-config", body: "{}", cookie: cookie, csrf: "x" + csrf)
            #expect(wrong.status == .forbidden)
            let crossSite = try await call(
                client, .post, "/api/gateway-config", body: "{}", cookie: cookie, csrf: csrf,
                extra: [.init("Sec-Fetch-Site")!: "cross-site"]
            )
            #expect(crossSite.json["error"] == .string("cross_site_request"))
            let signedOut = try await call(client, .post, "/api/gateway-config", body: "{}", csrf: csrf)
            #expect(signedOut.status == .unauthorized)
            let good = try await call(client, .post, "/api/gateway-config", body: "{}", cookie: cookie, csrf: csrf)
            #expect(good.status == .ok)
        }
    }

    @Test func theGatewayConfigurationHasEveryFieldAFreshSignatureAndAStoredHashOfItsToken() async throws {
        let server = try await serverWithPassword()
        let token = try await server.makeApp().test(.router) { client in
            let (cookie, csrf) = try await signIn(client)
            let answer = try await call(client, .post, "/api/gateway-config", body: #"{"language": "hi"}"#, cookie: cookie, csrf: csrf)
            #expect(answer.status == .ok)
            let object = try #require(answer.json.objectValue)
            #expect(object.keys == [
                "partner_name", "initiator_logo_url", "initiator_id", "developer_key", "secret_key", "secret_key_timestamp",
                "user_code", "environment", "language", "callback_url", "callback_url_custom_params",
                "callback_url_custom_headers", "gateway_url", "expires_at", "opening_id",
            ])
            for member in object.members { #expect(member.value.scalarText != nil, "\(member.key) is not a string") }
            #expect(object["secret_key_timestamp"] == .string("1700000000000"))
            #expect(object["secret_key"] == .string(referenceHMAC("1700000000000")))
            #expect(object["user_code"] == .string("20810200"))
            #expect(object["environment"] == .string("uat"))
            #expect(object["language"] == .string("hi"))
            #expect(object["developer_key"] == .string("becbbce45f79c6f5109f848acd540567"))
            #expect(object["callback_url"] == .string("https://partner.example/aeps/callback"))
            #expect(object["gateway_url"] == .string("https://stagegateway.eko.in/v2/aeps"))
            #expect(object["expires_at"] == .string("2023-11-14T22:28:20Z"))
            let params = try JSONValue.parse(try #require(object["callback_url_custom_params"]?.scalarText))
            let headers = try JSONValue.parse(try #require(object["callback_url_custom_headers"]?.scalarText))
            let token = try #require(params["aeps_session"]?.scalarText)
            #expect(headers["X-AePS-Session"] == .string(token))
            #expect(token.count >= 40)
            let bad = try await call(client, .post, "/api/gateway-config", body: #"{"language": "fr"}"#, cookie: cookie, csrf: csrf)
            #expect(bad.status == .badRequest)
            return token
        }
        let stored = try await server.rows("SELECT token_hash, user_code, environment, issued_via FROM gateway_session WHERE issued_via = 'page'")
        #expect(stored == [["token_hash": SecretToken.hash(token), "user_code": "20810200", "environment": "uat", "issued_via": "page"]])
        let dump = try await server.query { db in try String.fetchAll(db, sql: "SELECT quote(token_hash) FROM gateway_session").joined() }
        #expect(!dump.contains(token))
    }

    @Test func theIssuedTokenGetsItsHookApproved() async throws {
        let server = try await serverWithPassword()
        try await server.makeApp().test(.router) { client in
            let (cookie, csrf) = try await signIn(client)
            let token = try await openGateway(client, cookie: cookie, csrf: csrf)
            let answer = try await postCallback(client, debitHookBody(clientRefID: "PAGE1", session: token))
            #expect(answer.json["allow"] == .bool(true))
        }
    }

    @Test func signingOutEndsTheSessionAndClosesItsGatewaySessions() async throws {
        let server = try await serverWithPassword()
        try await server.makeApp().test(.router) { client in
            let (cookie, csrf) = try await signIn(client)
            let token = try await openGateway(client, cookie: cookie, csrf: csrf)
            let noCSRF = try await call(client, .post, "/api/logout", cookie: cookie)
            #expect(noCSRF.status == .forbidden)
            let out = try await call(client, .post, "/api/logout", cookie: cookie, csrf: csrf)
            #expect(out.status == .ok)
            #expect(out.headers[.setCookie]?.contains("aeps_login=") == true)
            let checked = try await call(client, .get, "/api/me", cookie: cookie)
            #expect(checked.status == .unauthorized)
            let hook = try await postCallback(client, debitHookBody(clientRefID: "AFTER-LOGOUT", session: token))
            #expect(hook.json["allow"] == .bool(false))
            #expect(hook.json["message"] == .string(RefusalCode.sessionRevoked.message))
        }
    }

    @Test func aSignInSurvivesARestartButNotAPasswordChange() async throws {
        let server = try await serverWithPassword()
        let (cookie, _) = try await server.makeApp().test(.router) { client in try await signIn(client) }
        try await server.makeApp().test(.router) { client in
            let checked = try await call(client, .get, "/api/me", cookie: cookie)
            #expect(checked.status == .ok)
        }
        try await server.database.setRetailerPassword(
            userCode: "20810200", passwordHash: Bcrypt.hash("a brand new password", cost: 4), now: pinnedNow
        )
        try await server.makeApp().test(.router) { client in
            let checked = try await call(client, .get, "/api/me", cookie: cookie)
            #expect(checked.status == .unauthorized)
        }
    }

    @Test func aDisabledRetailerCannotSignIn() async throws {
        let server = try await serverWithPassword()
        try await server.database.setRetailerActive(userCode: "20810200", active: false, now: pinnedNow)
        try await server.makeApp().test(.router) { client in
            let answer = try await call(client, .post, "/api/login", body: #"{"user_code": "20810200", "password": "\#(Self.password)"}"#)
            #expect(answer.status == .forbidden)
            #expect(answer.json["error"] == .string("retailer_disabled"))
        }
    }
}
