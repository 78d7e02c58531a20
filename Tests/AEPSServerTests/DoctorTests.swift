import AEPSServer
import EkoSigning
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Testing

/// A configuration whose every URL is on loopback: the callback and Eko's API at closed ports unless given.
func doctorConfigJSON(_ overrides: [String: String] = [:]) throws -> String {
    var members = overrides
    if members["callback_url"] == nil {
        members["callback_url"] = "\"https://127.0.0.1:\(try freeLoopbackPort())/aeps/callback\""
    }
    if members["eko"] == nil {
        members["eko"] = "{\"api_base\": \"http://127.0.0.1:\(try freeLoopbackPort())/ekoapi/v1\"}"
    }
    if members["database"] == nil { members["database"] = #"{"path": "data/aeps.sqlite"}"# }
    return configJSON(members)
}

/// What `aeps doctor --json` printed, by check id.
func doctorChecks(_ stdout: String) throws -> [String: JSONValue] {
    guard case .array(let items) = try JSONValue.parse(stdout) else { throw CommandLineTimeout(waitingFor: "a JSON array", stderr: stdout) }
    var byID: [String: JSONValue] = [:]
    for item in items {
        let id = try #require(item["id"]?.scalarText)
        for key in ["title", "status", "detail", "fix", "link"] { #expect(item[key]?.scalarText != nil, "\(id) has no \(key)") }
        byID[id] = item
    }
    return byID
}

/// A stand-in for Eko's API for the doctor: any GET of the base answers (with the server's real `Date`), and the
/// User Services Enquiry answers per user code, refusing with 403 a request not signed with the UAT key.
final class DoctorFakeEko: Sendable {
    let port: Int
    let task: Task<Void, any Error>
    var apiBase: String { "http://127.0.0.1:\(port)/ekoapi/v1" }

    private init(port: Int, task: Task<Void, any Error>) {
        self.port = port
        self.task = task
    }

    static let services: [String: String] = [
        "20810200": #"[{"service_code":"43","status":"1","status_desc":"Activated"}]"#,
        "20810201": #"[{"service_code":"43","status":0,"status_desc":"Deactivated"}]"#,
        "20810202": #"[{"service_code":"52","status":"1","status_desc":"Activated"}]"#,
    ]

    static func start() async throws -> DoctorFakeEko {
        let router = Router()
        router.get("/ekoapi/v1") { _, _ in Response(status: .notFound) }
        router.get("/ekoapi/v1/user/services/{who}") { request, context -> Response in
            let who = try context.parameters.require("who")
            let timestamp = request.headers[HTTPField.Name("secret-key-timestamp")!] ?? ""
            guard request.headers[HTTPField.Name("developer_key")!] == "becbbce45f79c6f5109f848acd540567",
                request.headers[HTTPField.Name("secret-key")!] == referenceHMAC(timestamp),
                request.uri.queryParameters["initiator_id"] == "9962981729", who.hasPrefix("user_code:")
            else {
                return Response(status: .forbidden, body: .init(byteBuffer: ByteBuffer(string: #"{"message":"Forbidden"}"#)))
            }
            let code = String(who.dropFirst("user_code:".count))
            let list = services[code] ?? "[]"
            let body = """
                {"status":0,"response_status_id":0,"message":"Success","data":{"user_code":"\(code)","service_status_list":\(list)}}
                """
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        let (port, task) = try await startOnFreePort(router: router, host: "127.0.0.1")
        return DoctorFakeEko(port: port, task: task)
    }

    func stop() { task.cancel() }
}

/// A real `aeps` application serving HTTP on a free loopback port, its callback_url pointing at itself
/// (environment `local`, so plain http on loopback is allowed).
struct RunningApp {
    let server: TestServer
    let port: Int
    let task: Task<Void, any Error>
    var callbackURL: String { "http://127.0.0.1:\(port)/aeps/callback" }

    static func start(overrides: [String: String] = [:]) async throws -> RunningApp {
        let port = try freeLoopbackPort()
        var members = overrides
        members["environment"] = members["environment"] ?? #""local""#
        members["http"] = "{\"host\": \"127.0.0.1\", \"port\": \(port)}"
        members["callback_url"] = "\"http://127.0.0.1:\(port)/aeps/callback\""
        let server = try TestServer(overrides: members)
        let app = try server.makeApp(clock: { Date() })
        let task = Task { try await app.runService() }
        try await waitUntilListening(host: "127.0.0.1", port: port)
        return RunningApp(server: server, port: port, task: task)
    }

    func stop() { task.cancel() }
}

/// A server on the callback path that answers JSON but sends no CORS header at all.
func startPlainCallbackServer() async throws -> (port: Int, task: Task<Void, any Error>) {
    let router = Router()
    @Sendable func json() -> Response {
        Response(status: .badRequest, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"error":"bad"}"#)))
    }
    router.post("/aeps/callback") { _, _ in json() }
    router.on("/aeps/callback", method: .options) { _, _ in Response(status: .noContent) }
    return try await startOnFreePort(router: router, host: "127.0.0.1")
}

func runDoctor(
    _ json: String, key: String? = uatAccessKey, userCode: String? = nil, now: @escaping @Sendable () -> Date = { Date() }
) async throws -> [String: DoctorCheck] {
    let config = try AppConfig.parse(Data(json.utf8))
    let report = await Doctor(
        configuration: .success(config), accessKey: .lookUp(environment: key.map { ["EKO_ACCESS_KEY": $0] } ?? [:]),
        userCode: userCode, timeout: .seconds(5), now: now
    ).run()
    return Dictionary(uniqueKeysWithValues: report.checks.map { ($0.id, $0) })
}

@Suite struct DoctorCLITests {
    @Test func aBadKeyFailsNamingItAndTheChecksThatNeedTheConfigurationAreSkipped() async throws {
        let cli = try CLIRunner()
        try cli.writeConfig(try doctorConfigJSON(["http": #"{"prot": 8080}"#]))
        let text = try await cli.run(["doctor"], environment: ["EKO_ACCESS_KEY": uatAccessKey])
        #expect(text.status != 0)
        #expect(text.stdout.contains("[FAIL]    config: Configuration"), "\(text.stdout)")
        #expect(text.stdout.contains("http.prot: unknown key"), "\(text.stdout)")
        #expect(text.stdout.contains("[PASS]    signing"), "\(text.stdout)")
        #expect(text.stderr == "aeps: doctor: 1 check failed (config)\n")

        let json = try await cli.run(["doctor", "--json"], environment: ["EKO_ACCESS_KEY": uatAccessKey])
        #expect(json.status != 0)
        let checks = try doctorChecks(json.stdout)
        #expect(checks["config"]?["status"] == .string("fail"))
        #expect(checks["config"]?["detail"]?.scalarText?.contains("http.prot") == true)
        #expect(checks["signing"]?["status"] == .string("pass"))
        for id in ["access_key", "environment", "callback_url", "cors", "database", "retailers"] {
            #expect(checks[id]?["status"] == .string("skipped"), "\(id)")
            #expect(checks[id]?["detail"]?.scalarText?.contains("needs a valid configuration") == true, "\(id)")
        }
    }

    @Test func aMissingAccessKeyFails() async throws {
        let cli = try CLIRunner()
        try cli.writeConfig(try doctorConfigJSON())
        let result = try await cli.run(["doctor", "--json"])
        #expect(result.status != 0)
        let check = try #require(try doctorChecks(result.stdout)["access_key"])
        #expect(check["status"] == .string("fail"))
        #expect(check["detail"]?.scalarText?.contains("EKO_ACCESS_KEY") == true)
        #expect(check["link"] == .string("https://developers.eko.in/docs/authentication"))
    }

    @Test func theDeveloperKeyUsedAsTheAccessKeyFailsWithoutPrintingIt() async throws {
        let cli = try CLIRunner()
        try cli.writeConfig(try doctorConfigJSON())
        let developerKey = "becbbce45f79c6f5109f848acd540567"
        let result = try await cli.run(["doctor"], environment: ["EKO_ACCESS_KEY": developerKey])
        #expect(result.status != 0)
        #expect(result.stdout.contains("[FAIL]    access_key"), "\(result.stdout)")
        #expect(result.stdout.contains("the access key is the developer_key"), "\(result.stdout)")
        #expect(!result.stdout.contains(developerKey) && !result.stderr.contains(developerKey))
    }

    @Test func aPublicUATKeyInProductionFailsWithoutPrintingIt() async throws {
        let cli = try CLIRunner()
        try cli.writeConfig(try doctorConfigJSON([
            "environment": #""production""#, "developer_key": #""0123456789abcdef0123456789abcdef""#,
        ]))
        for key in EkoAccessKey.publicUATKeys {
            let result = try await cli.run(["doctor", "--json"], environment: ["EKO_ACCESS_KEY": key])
            #expect(result.status != 0)
            let check = try #require(try doctorChecks(result.stdout)["access_key"])
            #expect(check["status"] == .string("fail"))
            #expect(check["detail"]?.scalarText?.contains("public UAT access keys, in production") == true, "\(check)")
            #expect(!result.stdout.contains(key))
        }
        // With its own key, production's access key check passes and says only where the key came from.
        let own = try await cli.run(["doctor", "--json"], environment: ["EKO_ACCESS_KEY": "0f0e0d0c-own-production-key"])
        let check = try #require(try doctorChecks(own.stdout)["access_key"])
        #expect(check["status"] == .string("pass"))
        #expect(check["detail"] == .string("set via EKO_ACCESS_KEY (27 characters)"))
        #expect(!own.stdout.contains("0f0e0d0c-own-production-key"))
    }

    @Test func anHTTPCallbackInProductionFailsNamingCallbackURL() async throws {
        let cli = try CLIRunner()
        try cli.writeConfig(try doctorConfigJSON([
            "environment": #""production""#, "developer_key": #""0123456789abcdef0123456789abcdef""#,
            "callback_url": #""http://127.0.0.1:9/aeps/callback""#,
        ]))
        let result = try await cli.run(["doctor", "--json"], environment: ["EKO_ACCESS_KEY": "own-key"])
        #expect(result.status != 0)
        let check = try #require(try doctorChecks(result.stdout)["config"])
        #expect(check["status"] == .string("fail"))
        #expect(check["detail"]?.scalarText?.hasPrefix("callback_url: production needs an https:// URL") == true, "\(check)")
    }

    @Test func thePublicUATDeveloperKeyInProductionFailsNamingDeveloperKey() async throws {
        let cli = try CLIRunner()
        try cli.writeConfig(try doctorConfigJSON(["environment": #""production""#]))
        let result = try await cli.run(["doctor"], environment: ["EKO_ACCESS_KEY": "own-key"])
        #expect(result.status != 0)
        #expect(result.stdout.contains("developer_key: this is Eko's public UAT developer key"), "\(result.stdout)")
    }

    @Test func aBadUserCodeIsOneLineNamingTheFlag() async throws {
        let cli = try CLIRunner()
        let result = try await cli.run(["doctor", "--user-code", "abc"])
        #expect(result.status != 0)
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(result.stderr.contains("--user-code"))
    }

    /// The whole path with the real binary against a real running server, a migrated database with a retailer,
    /// and a stand-in for Eko: every check passes (tls has no section: skipped) and the exit status is 0; a user
    /// code whose service 43 is not active fails it.
    @Test func aHealthyInstallationPassesAndExitsZero() async throws {
        let eko = try await DoctorFakeEko.start()
        defer { eko.stop() }
        let app = try await RunningApp.start(overrides: ["eko": "{\"api_base\": \"\(eko.apiBase)\"}"])
        defer { app.stop() }
        try await app.server.addRetailer()
        let cli = try CLIRunner()
        try cli.writeConfig(configJSON([
            "environment": #""local""#, "callback_url": "\"\(app.callbackURL)\"",
            "eko": "{\"api_base\": \"\(eko.apiBase)\"}", "database": "{\"path\": \"\(app.server.config.databasePath)\"}",
        ]))
        let result = try await cli.run(["doctor", "--json", "--user-code", "20810200"], environment: ["EKO_ACCESS_KEY": uatAccessKey])
        let checks = try doctorChecks(result.stdout)
        for (id, check) in checks {
            #expect(check["status"] == .string(id == "tls" ? "skipped" : "pass"), "\(id): \(check)")
        }
        #expect(checks.count == 11)
        #expect(result.status == 0, "\(result.stderr)")

        let inactive = try await cli.run(["doctor", "--user-code", "20810201"], environment: ["EKO_ACCESS_KEY": uatAccessKey])
        #expect(inactive.status == 1)
        #expect(inactive.stdout.contains("[FAIL]    user_services"), "\(inactive.stdout)")
        #expect(inactive.stdout.contains("https://developers.eko.in/reference/activate-service"))
        #expect(inactive.stderr == "aeps: doctor: 1 check failed (user_services)\n")
    }
}

@Suite struct DoctorChecksTests {
    @Test func theCORSSelfTestPassesAgainstTheRealServer() async throws {
        let app = try await RunningApp.start()
        defer { app.stop() }
        let checks = try await runDoctor(configJSON([
            "environment": #""local""#, "callback_url": "\"\(app.callbackURL)\"",
            "database": "{\"path\": \"\(app.server.config.databasePath)\"}",
        ]))
        let cors = try #require(checks["cors"])
        #expect(cors.status == .pass, "\(cors.detail)")
        // Both allowed origins (local's gateway, the extra one) and the foreign one, each with what a browser decides.
        #expect(cors.detail.contains("http://localhost:3004: a browser allows the call"), "\(cors.detail)")
        #expect(cors.detail.contains("https://extra.example: a browser allows the call"), "\(cors.detail)")
        #expect(cors.detail.contains("https://evil.example (not allowed): no CORS headers"), "\(cors.detail)")
        #expect(checks["callback_url"]?.status == .pass, "\(checks["callback_url"]!.detail)")
        #expect(checks["database"]?.status == .pass)
        #expect(checks["retailers"]?.status == .warn)
        #expect(checks["retailers"]?.fix.contains("aeps retailer add") == true)
        // The probes were refused by the callback as an unknown action (recorded, nothing decided).
        let rows = try await app.server.rows("SELECT http_status, reason FROM callback_log")
        #expect(!rows.isEmpty)
        #expect(rows.allSatisfy { $0["http_status"] == "400" }, "\(rows)")
    }

    @Test func theCORSSelfTestFailsAgainstAServerWithoutCORSHeaders() async throws {
        let (port, task) = try await startPlainCallbackServer()
        defer { task.cancel() }
        let checks = try await runDoctor(try doctorConfigJSON([
            "environment": #""local""#, "callback_url": "\"http://127.0.0.1:\(port)/aeps/callback\"",
        ]))
        let cors = try #require(checks["cors"])
        #expect(cors.status == .fail)
        #expect(cors.detail.contains("http://localhost:3004: a browser REFUSES the call"), "\(cors.detail)")
        #expect(cors.detail.contains("the preflight has no Access-Control-Allow-Origin"), "\(cors.detail)")
        #expect(cors.detail.contains("the POST answer has no Access-Control-Allow-Origin"), "\(cors.detail)")
        #expect(cors.detail.contains("Connection to callback server failed"))
        #expect(cors.link == "https://developers.eko.in/docs/enable-cors")
        // It answers JSON on the path, so the callback check itself passes.
        #expect(checks["callback_url"]?.status == .pass)
    }

    @Test func anUnreachableCallbackFailsTheCORSSelfTest() async throws {
        let checks = try await runDoctor(try doctorConfigJSON())
        let cors = try #require(checks["cors"])
        #expect(cors.status == .fail)
        #expect(cors.fix.contains("Is `aeps serve` running? Is callback_url right"))
        #expect(checks["callback_url"]?.status == .warn)
        #expect(checks["clock"]?.status == .warn)
        #expect(checks["clock"]?.detail.contains("not reachable") == true)
        #expect(checks["database"]?.status == .fail)
        #expect(checks["database"]?.fix.contains("aeps migrate") == true)
    }

    @Test func anHTTPCallbackOnAnotherHostFailsEvenInLocal() async throws {
        let checks = try await runDoctor(try doctorConfigJSON([
            "environment": #""local""#, "callback_url": #""http://192.0.2.1/aeps/callback""#,
        ]))
        #expect(checks["callback_url"]?.status == .fail)
        #expect(checks["callback_url"]?.detail.contains("only for localhost") == true)
    }

    @Test func anAccessKeyFileOthersCanReadIsAWarningAndTheKeyIsNeverShown() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("access.key")
        #expect(FileManager.default.createFile(atPath: path, contents: Data((uatAccessKey + "\n").utf8), attributes: [.posixPermissions: 0o644]))
        let json = try doctorConfigJSON(["access_key_file": "\"\(path)\""])
        let open = try #require(try await runDoctor(json, key: nil)["access_key"])
        #expect(open.status == .warn, "\(open.detail)")
        #expect(open.detail.contains("read from access_key_file \(path) (36 characters)"), "\(open.detail)")
        #expect(open.fix.contains("chmod 600"))
        #expect(!open.detail.contains(uatAccessKey) && !open.fix.contains(uatAccessKey))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        #expect(try await runDoctor(json, key: nil)["access_key"]?.status == .pass)
    }

    @Test func anHTTPCallbackInUATFailsAndCORSIsNotProbed() async throws {
        let checks = try await runDoctor(try doctorConfigJSON(["callback_url": #""http://127.0.0.1:9/aeps/callback""#]))
        #expect(checks["callback_url"]?.status == .fail)
        #expect(checks["callback_url"]?.detail.contains("http:// in uat") == true)
        #expect(checks["cors"]?.status == .skipped)
    }

    @Test func aCallbackURLWhosePathTheServerDoesNotServeFails() async throws {
        let app = try await RunningApp.start()
        defer { app.stop() }
        let checks = try await runDoctor(try doctorConfigJSON([
            "environment": #""local""#, "callback_url": "\"http://127.0.0.1:\(app.port)/eko/other\"",
        ]))
        let callback = try #require(checks["callback_url"])
        #expect(callback.status == .fail, "\(callback.detail)")
        #expect(callback.detail.contains("answered HTTP 404"), "\(callback.detail)")
        #expect(checks["cors"]?.status == .fail)
    }

    @Test func aCallbackURLWithoutAPathFails() async throws {
        let port = try freeLoopbackPort()
        let checks = try await runDoctor(try doctorConfigJSON(["callback_url": "\"https://127.0.0.1:\(port)\""]))
        #expect(checks["callback_url"]?.status == .fail)
        #expect(checks["callback_url"]?.fix.contains("/aeps/callback") == true)
    }

    @Test func theClockIsComparedWithEkosDateHeader() async throws {
        let eko = try await DoctorFakeEko.start()
        defer { eko.stop() }
        let json = try doctorConfigJSON(["eko": "{\"api_base\": \"\(eko.apiBase)\"}"])
        let right = try #require(try await runDoctor(json)["clock"])
        #expect(right.status == .pass, "\(right.detail)")
        let hoursOff = try #require(try await runDoctor(json, now: { Date().addingTimeInterval(3 * 3600) })["clock"])
        #expect(hoursOff.status == .fail)
        #expect(hoursOff.detail.contains("180 min ahead"), "\(hoursOff.detail)")
        #expect(hoursOff.fix.contains("NTP"))
        let minuteOff = try #require(try await runDoctor(json, now: { Date().addingTimeInterval(-90) })["clock"])
        #expect(minuteOff.status == .warn, "\(minuteOff.detail)")
    }

    @Test func userServicesActiveInactiveMissingAndForbidden() async throws {
        let eko = try await DoctorFakeEko.start()
        defer { eko.stop() }
        let json = try doctorConfigJSON(["eko": "{\"api_base\": \"\(eko.apiBase)\"}"])
        let active = try #require(try await runDoctor(json, userCode: "20810200")["user_services"])
        #expect(active.status == .pass, "\(active.detail)")
        let inactive = try #require(try await runDoctor(json, userCode: "20810201")["user_services"])
        #expect(inactive.status == .fail)
        #expect(inactive.detail.contains("status 0 (Deactivated)"), "\(inactive.detail)")
        #expect(inactive.link == "https://developers.eko.in/reference/activate-service")
        let missing = try #require(try await runDoctor(json, userCode: "20810202")["user_services"])
        #expect(missing.status == .fail)
        #expect(missing.detail.contains("not in 20810202's services"))
        let forbidden = try #require(try await runDoctor(json, key: "another-access-key", userCode: "20810200")["user_services"])
        #expect(forbidden.status == .fail)
        #expect(forbidden.detail.contains("403"))
        #expect(forbidden.detail.contains("developer key used as the access key"))
        let unasked = try #require(try await runDoctor(json)["user_services"])
        #expect(unasked.status == .skipped)
    }

    @Test(arguments: [
        ("expired", -30.0, 20, DoctorCheck.Status.fail, "expired on"),
        ("expiring", 0.0, 7, .warn, "expires on"),
        ("valid", 0.0, 365, .pass, "valid until"),
    ])
    func theCertificateIsReadAndItsExpiryJudged(name: String, startDays: Double, days: Int, status: DoctorCheck.Status, words: String) async throws {
        let directory = try TemporaryDirectory()
        let certificate = try DevelopmentCertificate.make(now: Date().addingTimeInterval(startDays * 86_400), days: days)
        try certificate.write(certificatePath: directory.path("cert.pem"), privateKeyPath: directory.path("key.pem"))
        let checks = try await runDoctor(try doctorConfigJSON([
            "tls": "{\"certificate_chain\": \"\(directory.path("cert.pem"))\", \"private_key\": \"\(directory.path("key.pem"))\"}",
        ]))
        let tls = try #require(checks["tls"])
        #expect(tls.status == status, "\(name): \(tls.detail)")
        #expect(tls.detail.contains(words), "\(name): \(tls.detail)")
    }

    @Test func aPrivateKeyOfAnotherCertificateFails() async throws {
        let directory = try TemporaryDirectory()
        try DevelopmentCertificate.make(now: Date()).write(certificatePath: directory.path("a.pem"), privateKeyPath: directory.path("a-key.pem"))
        try DevelopmentCertificate.make(now: Date()).write(certificatePath: directory.path("b.pem"), privateKeyPath: directory.path("b-key.pem"))
        let checks = try await runDoctor(try doctorConfigJSON([
            "tls": "{\"certificate_chain\": \"\(directory.path("a.pem"))\", \"private_key\": \"\(directory.path("b-key.pem"))\"}",
        ]))
        #expect(checks["tls"]?.status == .fail)
        #expect(checks["tls"]?.detail.contains("does not belong") == true)
    }

    @Test func theCORSSelfTestTrustsTheDevelopmentCertificateOverHTTPS() async throws {
        let directory = try TemporaryDirectory()
        try DevelopmentCertificate.make(now: Date()).write(
            certificatePath: directory.path("cert.pem"), privateKeyPath: directory.path("key.pem")
        )
        let tls = "{\"certificate_chain\": \"\(directory.path("cert.pem"))\", \"private_key\": \"\(directory.path("key.pem"))\"}"
        let port = try freeLoopbackPort()
        let server = try TestServer(overrides: [
            "environment": #""local""#, "tls": tls, "http": "{\"host\": \"127.0.0.1\", \"port\": \(port)}",
            "callback_url": "\"https://localhost:\(port)/aeps/callback\"",
        ])
        let app = try server.makeApp(clock: { Date() })
        let task = Task { try await app.runService() }
        defer { task.cancel() }
        var ready = false
        for _ in 0..<200 where !ready {
            ready = (try? await runDoctorCallbackOnly(server)) == true
            if !ready { try await Task.sleep(for: .milliseconds(50)) }
        }
        let checks = try await runDoctor(configJSON([
            "environment": #""local""#, "tls": tls, "callback_url": "\"https://localhost:\(port)/aeps/callback\"",
            "database": "{\"path\": \"\(server.config.databasePath)\"}",
        ]))
        #expect(checks["cors"]?.status == .pass, "\(checks["cors"]!.detail)")
        #expect(checks["tls"]?.status == .pass, "\(checks["tls"]!.detail)")
    }

    /// Whether the callback answers yet (the server is starting).
    private func runDoctorCallbackOnly(_ server: TestServer) async throws -> Bool {
        let report = await Doctor(configuration: .success(server.config), accessKey: .lookUp(environment: [:]), timeout: .seconds(2)).run()
        return report.checks.first { $0.id == "callback_url" }?.status == .pass
    }

    @Test func environmentAndGatewayOriginMustAgree() async throws {
        let closed = "http://127.0.0.1:\(try freeLoopbackPort())/ekoapi/v1"
        let swapped = try await runDoctor(try doctorConfigJSON([
            "eko": "{\"gateway_origin\": \"https://gateway.eko.in\", \"api_base\": \"\(closed)\"}",
        ]))
        #expect(swapped["environment"]?.status == .fail)
        #expect(swapped["environment"]?.detail.contains("expects the gateway at https://stagegateway.eko.in") == true)
        let custom = try await runDoctor(try doctorConfigJSON([
            "eko": "{\"gateway_origin\": \"https://gw.partner.example\", \"api_base\": \"\(closed)\"}",
        ]))
        #expect(custom["environment"]?.status == .warn)
        let local = try await runDoctor(try doctorConfigJSON(["environment": #""local""#]))
        #expect(local["environment"]?.status == .pass)
    }
}

/// A loopback server that answers every request with the same bytes: here a `Date` header of our choosing (an
/// HTTP framework would set its own).
final class FixedAnswerServer: Sendable {
    let port: Int
    private let socketFD: Int32

    init(answer: String) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw CocoaError(.fileNoSuchFile) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw CocoaError(.fileWriteUnknown)
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        socketFD = fd
        Thread.detachNewThread {
            while true {
                let client = accept(fd, nil, nil)
                guard client >= 0 else { return }
                var buffer = [UInt8](repeating: 0, count: 8192)
                _ = recv(client, &buffer, buffer.count, 0)
                let bytes = Array(answer.utf8)
                _ = bytes.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                close(client)
            }
        }
    }

    /// An answer whose `Date` is `offset` seconds from now.
    static func dated(_ offset: TimeInterval) throws -> FixedAnswerServer {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let date = formatter.string(from: Date().addingTimeInterval(offset))
        return try FixedAnswerServer(
            answer: "HTTP/1.1 404 Not Found\r\nDate: \(date)\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
    }

    func stop() {
        shutdown(socketFD, Int32(SHUT_RDWR))
        close(socketFD)
    }
}

@Suite struct DoctorClockTests {
    /// The real binary and the real clock, against an API whose `Date` is hours off, a minute off, and right.
    @Test(arguments: [(-3.0 * 3600, "fail"), (90.0, "warn"), (0.0, "pass")])
    func ekosDateHeaderIsComparedWithThisMachinesClock(offset: Double, status: String) async throws {
        let eko = try FixedAnswerServer.dated(offset)
        defer { eko.stop() }
        let cli = try CLIRunner()
        try cli.writeConfig(try doctorConfigJSON(["eko": "{\"api_base\": \"http://127.0.0.1:\(eko.port)/ekoapi/v1\"}"]))
        let result = try await cli.run(["doctor", "--json"], environment: ["EKO_ACCESS_KEY": uatAccessKey])
        let clock = try #require(try doctorChecks(result.stdout)["clock"])
        #expect(clock["status"] == .string(status), "\(clock)")
        #expect(result.status != 0)  // the callback is not running: cors fails whatever the clock says
        if status == "fail" {
            #expect(clock["detail"]?.scalarText?.contains("180 min ahead") == true, "\(clock)")
            #expect(clock["fix"]?.scalarText?.contains("NTP") == true)
        }
    }
}
