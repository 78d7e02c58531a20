import AEPSServer
import EkoSigning
import Foundation
import Hummingbird
import HummingbirdBcrypt
import HummingbirdTesting
import Testing

/// A new password, disabling a retailer and revoking a partner API key end what they let someone open: the
/// gateway sessions (a debit-hook under the old token is refused as `session_revoked`) and, for the retailer's
/// own credentials, the page sign-ins (the old cookie gets 401). Changed through the real `aeps` command line,
/// against the running app's database file.
@Suite struct SessionRevocationTests {
    static let password = "correct horse battery"
    static let portalKey = "aeps_test-portal-key-0123456789abcdef"
    static let otherKey = "aeps_test-other-key-0123456789abcdef0"

    /// A server with one retailer (page password `password`) and two partner API keys, `portal` and `other`.
    func server() async throws -> TestServer {
        let server = try TestServer()
        try await server.addRetailer()
        try await server.database.setRetailerPassword(
            userCode: "20810200", passwordHash: Bcrypt.hash(Self.password, cost: 4), now: pinnedNow
        )
        try await server.database.createAPIKey(name: "portal", keyHash: SecretToken.hash(Self.portalKey), now: pinnedNow)
        try await server.database.createAPIKey(name: "other", keyHash: SecretToken.hash(Self.otherKey), now: pinnedNow)
        return server
    }

    /// Runs `aeps ARGS...` against the server's database file.
    func aeps(_ server: TestServer, _ arguments: [String], stdin: String? = nil) async throws {
        let cli = try CLIRunner()
        try cli.writeConfig(configJSON(["database": "{\"path\": \"\(server.config.databasePath)\"}"]))
        let result = try await cli.run(arguments, stdin: stdin)
        #expect(result.status == 0, "aeps \(arguments.joined(separator: " ")): \(result.stderr)")
    }

    struct Openings {
        var cookie: String
        var pageToken: String
        var portalToken: String
        var otherToken: String
    }

    /// Signs in on the page and opens the gateway from there and through each API key.
    func open(_ client: some TestClientProtocol) async throws -> Openings {
        let page = RetailerPageAPITests()
        let (cookie, csrf) = try await page.signIn(client, password: Self.password)
        return Openings(
            cookie: cookie,
            pageToken: try await page.openGateway(client, cookie: cookie, csrf: csrf),
            portalToken: try await apiGatewayToken(client, key: Self.portalKey),
            otherToken: try await apiGatewayToken(client, key: Self.otherKey)
        )
    }

    func apiGatewayToken(_ client: some TestClientProtocol, key: String) async throws -> String {
        try await client.execute(
            uri: "/api/v1/gateway-sessions", method: .post,
            headers: [.authorization: "Bearer \(key)", .contentType: "application/json"],
            body: ByteBuffer(string: #"{"user_code": "20810200"}"#)
        ) { response in
            #expect(response.status == .ok)
            let json = try JSONValue.parse(String(buffer: response.body))
            let params = try JSONValue.parse(try #require(json["callback_url_custom_params"]?.scalarText))
            return try #require(params["aeps_session"]?.scalarText)
        }
    }

    /// Posts a debit-hook under `token`; returns whether it was approved, checking a refusal's reason.
    func hookApproved(
        _ client: some TestClientProtocol, _ server: TestServer, token: String, clientRefID: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> Bool {
        let answer = try await postCallback(client, debitHookBody(clientRefID: clientRefID, session: token))
        if answer.json["allow"] == .bool(true) { return true }
        #expect(answer.json["message"] == .string(RefusalCode.sessionRevoked.message), sourceLocation: sourceLocation)
        let logged = try await server.rows("SELECT reason FROM callback_log WHERE client_ref_id = '\(clientRefID)'")
        #expect(logged == [["reason": "session_revoked"]], sourceLocation: sourceLocation)
        return false
    }

    func meStatus(_ client: some TestClientProtocol, cookie: String) async throws -> HTTPResponse.Status {
        try await client.execute(uri: "/api/me", method: .get, headers: [.cookie: cookie]) { $0.status }
    }

    func pageSessions(_ server: TestServer) async throws -> String? {
        try await server.rows("SELECT COUNT(*) AS n FROM login_session").first?["n"] ?? nil
    }

    @Test func aNewPasswordEndsPageSignInsAndTheGatewaySessionsThePageOpened() async throws {
        let server = try await server()
        try await server.makeApp().test(.router) { client in
            let opened = try await open(client)
            #expect(try await pageSessions(server) == "1")
            try await aeps(server, ["retailer", "set-password", "--user-code", "20810200", "--password-stdin"],
                           stdin: "a brand new password\n")
            #expect(try await meStatus(client, cookie: opened.cookie) == .unauthorized)
            #expect(try await pageSessions(server) == "0")
            #expect(try await !hookApproved(client, server, token: opened.pageToken, clientRefID: "PW-PAGE"))
            // What the partner's portal opened under its own key does not depend on the page password.
            #expect(try await hookApproved(client, server, token: opened.portalToken, clientRefID: "PW-PORTAL"))
            // The new password signs in.
            let answer = try await RetailerPageAPITests().call(
                client, .post, "/api/login", body: #"{"user_code": "20810200", "password": "a brand new password"}"#
            )
            #expect(answer.status == .ok)
        }
    }

    @Test func disablingARetailerEndsEverySessionItHadAndEnablingRevivesNone() async throws {
        let server = try await server()
        try await server.makeApp().test(.router) { client in
            let opened = try await open(client)
            try await aeps(server, ["retailer", "disable", "--user-code", "20810200"])
            #expect(try await meStatus(client, cookie: opened.cookie) == .unauthorized)
            #expect(try await pageSessions(server) == "0")
            #expect(try await !hookApproved(client, server, token: opened.pageToken, clientRefID: "OFF-PAGE"))
            #expect(try await !hookApproved(client, server, token: opened.portalToken, clientRefID: "OFF-PORTAL"))
            try await aeps(server, ["retailer", "enable", "--user-code", "20810200"])
            #expect(try await meStatus(client, cookie: opened.cookie) == .unauthorized)
            #expect(try await !hookApproved(client, server, token: opened.otherToken, clientRefID: "ON-OTHER"))
            // Enabled again, the retailer opens new sessions as before.
            let fresh = try await open(client)
            #expect(try await hookApproved(client, server, token: fresh.pageToken, clientRefID: "ON-PAGE"))
        }
    }

    @Test func revokingAnAPIKeyRevokesTheGatewaySessionsItOpenedAndNoOthers() async throws {
        let server = try await server()
        try await server.makeApp().test(.router) { client in
            let opened = try await open(client)
            try await aeps(server, ["api-key", "revoke", "--name", "portal"])
            #expect(try await !hookApproved(client, server, token: opened.portalToken, clientRefID: "KEY-PORTAL"))
            #expect(try await hookApproved(client, server, token: opened.otherToken, clientRefID: "KEY-OTHER"))
            #expect(try await hookApproved(client, server, token: opened.pageToken, clientRefID: "KEY-PAGE"))
            #expect(try await meStatus(client, cookie: opened.cookie) == .ok)
        }
        let sessions = try await server.rows("""
            SELECT g.issued_via, k.name AS key_name, g.revoked_at IS NOT NULL AS revoked
            FROM gateway_session g LEFT JOIN api_key k ON k.id = g.api_key_id
            WHERE g.issued_via LIKE 'api:%' ORDER BY g.id
            """)
        #expect(sessions == [
            ["issued_via": "api:portal", "key_name": "portal", "revoked": "1"],
            ["issued_via": "api:other", "key_name": "other", "revoked": "0"],
        ])
    }
}
