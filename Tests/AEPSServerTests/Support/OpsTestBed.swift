import AEPSServer
import EkoSigning
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdBcrypt
import HummingbirdTesting
import NIOCore
import Testing

let opsPassword = "ops password 1"
let xssScript = "<script>alert(1)</script>"
let xssImage = "\"><img src=x onerror=alert(1)>"

/// A test server with its router built alone (so its routes can be listed) and ops accounts `viewer` and
/// `operator` whose password is ``opsPassword``. The router is only read (its routes listed, an application built
/// on it) before any request runs, so sharing the bed with a test's closures is safe.
struct OpsTestBed: @unchecked Sendable {
    let server: TestServer
    let router: Router<AppRequestContext>

    init(overrides: [String: String] = [:]) async throws {
        var overrides = overrides
        if overrides["callback_url"] == nil {
            // The console's doctor page calls the callback URL over the network: a closed loopback port here (tests
            // never reach beyond loopback).
            overrides["callback_url"] = "\"https://127.0.0.1:\(try freeLoopbackPort())/aeps/callback\""
        }
        server = try TestServer(overrides: overrides)
        let dependencies = AppDependencies(
            database: server.database, signer: EkoSigner(accessKey: EkoAccessKey(uatAccessKey)!), clock: { pinnedNow },
            logger: server.logs.logger(), publicDirectory: server.directory.path("public"), ekoBackoff: { _ in .milliseconds(1) }
        )
        let settlement = buildSettlement(config: server.config, dependencies: dependencies)
        router = try buildRouter(config: server.config, dependencies: dependencies, settlement: settlement)
        for role in OpsUser.Role.allCases {
            try await server.database.addOpsUser(
                name: role.rawValue, role: role, passwordHash: Bcrypt.hash(opsPassword, cost: 4), now: pinnedNow
            )
        }
    }

    /// Every route under `/ops`, from the router itself.
    var opsRoutes: [(method: HTTPRequest.Method, path: String)] {
        router.routes.map { ($0.method, $0.path.description) }.filter { $0.path == "/ops" || $0.path.hasPrefix("/ops/") }
    }

    func test(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        try await Application(router: router).test(.router) { client in try await body(client) }
    }
}

/// A browser's view of the console through the test client: its cookies and the CSRF token of the last page.
struct OpsBrowser {
    let client: any TestClientProtocol
    var cookie: String = ""
    var csrf: String = ""

    /// Signs in with the sign-in form; returns the answer's status.
    static func signIn(_ client: any TestClientProtocol, name: String, password: String = opsPassword) async throws
        -> (browser: OpsBrowser, status: HTTPResponse.Status)
    {
        var browser = OpsBrowser(client: client)
        let form = try await browser.get("/ops/login")
        let formCookie = try #require(form.cookies["aeps_ops_form"])
        let token = try #require(hiddenToken(in: form.body))
        let answer = try await browser.post(
            "/ops/login", ["name": name, "password": password, "csrf_token": token], cookie: "aeps_ops_form=\(formCookie)"
        )
        if let session = answer.cookies["aeps_ops"] {
            browser.cookie = "aeps_ops=\(session)"
            let home = try await browser.get("/ops")
            browser.csrf = try #require(hiddenToken(in: home.body))
        }
        return (browser, answer.status)
    }

    struct Answer {
        var status: HTTPResponse.Status
        var headers: HTTPFields
        var body: String
        var cookies: [String: String]
    }

    func get(_ uri: String) async throws -> Answer {
        var headers = HTTPFields()
        if !cookie.isEmpty { headers[.cookie] = cookie }
        return try await client.execute(uri: uri, method: .get, headers: headers, body: nil) { Self.answer($0) }
    }

    func post(
        _ uri: String, _ fields: [String: String], cookie: String? = nil, extraHeaders: HTTPFields = [:]
    ) async throws -> Answer {
        var headers = extraHeaders
        headers[.contentType] = "application/x-www-form-urlencoded"
        let cookie = cookie ?? self.cookie
        if !cookie.isEmpty { headers[.cookie] = cookie }
        let body = fields.sorted { $0.key < $1.key }.map { key, value in
            "\(key)=" + (value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
        }.joined(separator: "&")
        return try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: body)) {
            Self.answer($0)
        }
    }

    /// An action with this session's CSRF token.
    func act(_ uri: String, _ fields: [String: String] = [:]) async throws -> Answer {
        try await post(uri, fields.merging(["csrf_token": csrf]) { $1 })
    }

    private static func answer(_ response: TestResponse) -> Answer {
        var cookies: [String: String] = [:]
        for field in response.headers where field.name == .setCookie {
            let pair = field.value.split(separator: ";")[0].split(separator: "=", maxSplits: 1)
            cookies[String(pair[0])] = pair.count > 1 ? String(pair[1]) : ""
        }
        return Answer(status: response.status, headers: response.headers, body: String(buffer: response.body), cookies: cookies)
    }

    static func hiddenToken(in html: String) -> String? {
        guard let start = html.range(of: "name=\"csrf_token\" value=\"") else { return nil }
        let rest = html[start.upperBound...]
        return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
    }
}

/// A concrete path for a route pattern: `{client_ref_id}` and `{user_code}` filled in.
func concretePath(_ pattern: String, clientRefID: String = "AEPS1700000000123", userCode: String = "20810200") -> String {
    pattern.replacingOccurrences(of: "{client_ref_id}", with: clientRefID).replacingOccurrences(of: "{user_code}", with: userCode)
}
