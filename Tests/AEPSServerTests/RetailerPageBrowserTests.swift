import AEPSServer
import AsyncHTTPClient
import EkoSigning
import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import HummingbirdBcrypt
import NIOConcurrencyHelpers
import NIOCore
import Testing

/// The retailer page in a real headless Chromium: sign in, press the button, and the gateway window (a small
/// stand-in on another loopback origin) receives the form POST, calls the callback cross-origin with the session
/// token, and posts the result back to the page, which shows it. Screenshots land in `.build/screenshots/`.
@Suite(.serialized) struct RetailerPageBrowserTests {
    @Test(arguments: [
        ("phone-en", "en", 360, 800), ("phone-hi", "hi", 360, 800), ("desktop-en", "en", 1280, 900),
    ])
    func aRetailerSignsInAndOpensTheGateway(name: String, language: String, width: Int, height: Int) async throws {
        let chromium = try #require(Chromium.find(), "chromium is not installed (make test installs it)")
        let bed = try await PageTestBed.start()
        defer { bed.stop() }
        let (directory, gateway, server, appPort) = (bed.directory, bed.gateway, bed.server, bed.appPort)
        let page = bed.harnessURL("lang=\(language)&w=\(width)&h=\(height)")
        // The window is larger than the page's frame: Chromium keeps some of it for itself and has a minimum width.
        let window = (width: max(width, 520), height: height + 200)
        let report = try await bed.runHarness(
            chromium, query: "lang=\(language)&w=\(width)&h=\(height)", width: window.width, height: window.height
        )
        let reportText = report.serialized()
        #expect(report["error"] == nil, "\(reportText)")

        // The gateway window received the form POST, with a correctly signed configuration for this retailer.
        let form = try #require(gateway.forms.first, "the gateway received no form")
        #expect(gateway.forms.count == 1)
        #expect(form["user_code"] == "20810200")
        #expect(form["language"] == language)
        #expect(form["environment"] == "local")
        #expect(form["developer_key"] == "becbbce45f79c6f5109f848acd540567")
        #expect(form["callback_url"] == "http://127.0.0.1:\(appPort)/aeps/callback")
        let timestamp = try #require(form["secret_key_timestamp"])
        #expect(form["secret_key"] == referenceHMAC(timestamp))
        #expect(form["gateway_url"] == nil)
        #expect(form["expires_at"] == nil)
        #expect(form["opening_id"] == nil)  // the page's own, not a form field
        #expect(form["callback_url_custom_params"]?.contains("aeps_session") == true)
        // The form POST says where it came from, as it does from a partner page using Eko's library.
        #expect(gateway.formHeaders.first?["origin"] == bed.appOrigin)
        #expect(gateway.formHeaders.first?["referer"] == bed.appOrigin + "/")

        // The stand-in's cross-origin callback calls passed CORS and were approved with a correct signature.
        let log = try #require(gateway.reports.first, "the gateway window did not report")
        #expect(log["hookStatus"] == .number("200"))
        #expect(log["hook"]?["allow"] == .bool(true))
        let hookStamp = try #require(log["hook"]?["secret_key_timestamp"]?.scalarText)
        #expect(log["hook"]?["request_hash"] == .string(referenceHMAC(hookStamp + "9876543210" + "500" + "20810200")))
        #expect(log["ack"]?["status"] == .string("received"))

        // The page showed progress and the result, in the chosen language, and ignored a forged message.
        #expect(report["forgedMessageShown"] == .bool(false))
        #expect(report["lang"] == .string(language))
        #expect(report["greeting"] == .string("Sharma Store"))
        #expect(report["approvedStep"] == .string("done"))
        #expect(report["status"] == .string(language == "hi" ? "सफल" : "Successful"))
        #expect(report["service"] == .string(language == "hi" ? "नकद निकासी" : "Cash withdrawal"))
        #expect(report["amount"] == .string("₹ 500.00"))
        #expect(report["aadhaar"] == .string("XXXX XXXX 1234"))
        #expect(report["rrn"] == .string("412345678901"))
        #expect(report["noticeShown"] == .bool(false))
        #expect(report["refusalShown"] == .bool(false))
        #expect(report["state"] == .string(language == "hi" ? "स्वीकृत, Eko की पुष्टि की प्रतीक्षा" : "Approved, waiting for Eko's confirmation"))
        // Indian time from the server's decision, although the browser runs in New York.
        #expect(report["timezoneOffset"] != .number("-330"))
        #expect(report["time"] == .string(PageTestBed.indianTime(try await bed.decidedAt())))

        // The transaction is on record, bound to the page's gateway session.
        let rows = try await server.rows("SELECT decision, state, gateway_session_id IS NOT NULL AS bound FROM aeps_transaction")
        #expect(rows == [["decision": "approved", "state": "approved", "bound": "1"]])  // a report is a claim

        // A picture of the same flow, to look at.
        let shot = Fixture.screenshotFolder.appendingPathComponent("retailer-page-\(name).png")
        try? FileManager.default.removeItem(at: shot)
        _ = try await chromium.run(
            url: page, width: window.width, height: window.height, output: .screenshot(shot.path),
            profile: directory.path("profile-shot"), extraArguments: ["--lang=en-US"], environment: ["TZ": "America/New_York"]
        )
        let size = (try? FileManager.default.attributesOfItem(atPath: shot.path)[.size] as? Int) ?? 0
        #expect(size > 5_000, "no screenshot at \(shot.path)")
    }

    /// Without `--disable-popup-blocking`, a click that is not the person's own cannot open a window: the page
    /// must say what to do instead of failing silently.
    @Test func aBlockedPopupIsExplainedInTheChosenLanguage() async throws {
        let chromium = try #require(Chromium.find(), "chromium is not installed (make test installs it)")
        let bed = try await PageTestBed.start()
        defer { bed.stop() }
        let (gateway, server) = (bed.gateway, bed.server)
        let report = try await bed.runHarness(chromium, query: "lang=hi&expect=blocked", allowPopups: false)
        #expect(report["notice"]?.scalarText?.contains("पॉप-अप") == true, "\(report.serialized())")
        #expect(report["stepsShown"] == .bool(false))
        #expect(gateway.forms.isEmpty)
        #expect(try await server.rows("SELECT COUNT(*) AS n FROM gateway_session WHERE issued_via = 'page'") == [["n": "0"]])
    }

    @Test func thePageIsServedWithAStrictContentSecurityPolicy() async throws {
        let directory = try TemporaryDirectory()
        try Fixture.preparePublicFolder(in: directory)
        let server = try TestServer()
        let app = try buildApplication(
            config: server.config,
            dependencies: AppDependencies(
                database: server.database, signer: EkoSigner(accessKey: EkoAccessKey(uatAccessKey)!),
                logger: server.logs.logger(), publicDirectory: directory.path("public")
            )
        )
        try await app.test(.router) { client in
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .ok)
                let csp = try #require(response.headers[.contentSecurityPolicy])
                #expect(csp.contains("default-src 'none'"))
                #expect(csp.contains("script-src 'self'"))
                #expect(csp.contains("form-action 'self' https://stagegateway.eko.in"))
                #expect(!csp.contains("unsafe-inline"))
                #expect(response.headers[.xContentTypeOptions] == "nosniff")
                // Like every partner page using Eko's library: the gateway sees the page's origin, nothing more.
                #expect(response.headers[.init("Referrer-Policy")!] == "strict-origin-when-cross-origin")
                #expect(String(buffer: response.body).contains("<script src=\"app.js\"></script>"))
            }
        }
    }
}

// MARK: - Support

/// The app on a free 127.0.0.1 port (environment `local`, its gateway the stand-in on 127.0.0.2), serving the
/// repository's page plus the harness, with one retailer whose page password is `page password 1`.
struct PageTestBed {
    let directory: TemporaryDirectory
    let gateway: StandInGateway
    let server: TestServer
    let appPort: Int
    let running: Task<Void, any Error>

    static func start(mode: StandInGateway.Mode = .init()) async throws -> PageTestBed {
        let directory = try TemporaryDirectory()
        try Fixture.preparePublicFolder(in: directory)
        let gateway = try await StandInGateway.start(mode: mode)
        let appPort = try freeLoopbackPort()
        let server = try TestServer(overrides: [
            "environment": #""local""#,
            "callback_url": "\"http://127.0.0.1:\(appPort)/aeps/callback\"",
            "eko": "{\"gateway_origin\": \"\(gateway.origin)\"}",
            "http": "{\"host\": \"127.0.0.1\", \"port\": \(appPort)}",
        ])
        try await server.database.addRetailer(userCode: "20810200", name: "Sharma Store", now: Date())
        try await server.database.setRetailerPassword(
            userCode: "20810200", passwordHash: Bcrypt.hash("page password 1", cost: 4), now: Date()
        )
        let app = try buildApplication(
            config: server.config,
            dependencies: AppDependencies(
                database: server.database, signer: EkoSigner(accessKey: EkoAccessKey(uatAccessKey)!),
                logger: server.logs.logger(), publicDirectory: directory.path("public")
            )
        )
        let running = Task { try await app.runService() }
        try await waitUntilListening(host: "127.0.0.1", port: appPort)
        return PageTestBed(directory: directory, gateway: gateway, server: server, appPort: appPort, running: running)
    }

    /// The harness, signing in as the bed's retailer; `query` adds `lang`, `w`, `h`, `expect`.
    func harnessURL(_ query: String) -> String {
        "http://127.0.0.1:\(appPort)/harness.html?user=20810200&password=page%20password%201&\(query)"
    }

    func stop() {
        running.cancel()
        gateway.stop()
    }

    /// The page's origin, as the gateway should see it in `Origin`.
    var appOrigin: String { "http://127.0.0.1:\(appPort)" }

    /// Runs the harness in Chromium set to a zone and language far from India (New York, en-US) and returns its
    /// report.
    func runHarness(
        _ chromium: Chromium, query: String, width: Int = 520, height: Int = 1200, profile: String = "profile",
        allowPopups: Bool = true
    ) async throws -> JSONValue {
        let dom = try await chromium.run(
            url: harnessURL(query), width: width, height: height, output: .dumpDOM, profile: directory.path(profile),
            allowPopups: allowPopups, extraArguments: ["--lang=en-US"], environment: ["TZ": "America/New_York"]
        )
        let text = try #require(Fixture.report(in: dom), "no report in the page; DOM was:\n\(dom.prefix(2000))")
        return try JSONValue.parse(text)
    }

    /// `date` as the receipt must print it: Indian time, day first.
    static func indianTime(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(secondsFromGMT: 19_800)
        formatter.dateFormat = "dd-MM-yyyy HH:mm 'IST'"
        return formatter.string(from: date)
    }

    /// The decision time of the one transaction on record.
    func decidedAt(_ clientRefID: String? = nil) async throws -> Date {
        let condition = clientRefID.map { "WHERE client_ref_id = '\($0)'" } ?? ""
        let rows = try await server.query { db in try Date.fetchAll(db, sql: "SELECT decided_at FROM aeps_transaction \(condition)") }
        return try #require(rows.first)
    }
}

/// Headless Chromium from Debian, kept away from every non-loopback address.
struct Chromium {
    enum Output { case dumpDOM, screenshot(String) }
    let path: String

    static func find() -> Chromium? {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
            .map(Chromium.init)
    }

    /// The log (standard error) of the last run with `profile`: with `--enable-logging=stderr` it holds the pages'
    /// console messages, Content-Security-Policy violations included.
    static func log(profile: String) -> String {
        (1...3).reversed().lazy.compactMap { try? String(contentsOfFile: profile + "-\($0).log", encoding: .utf8) }.first ?? ""
    }

    /// Runs Chromium on `url` and returns its standard output. A normal run takes a few seconds; a browser that
    /// hangs (seen now and then on a loaded machine, right after start-up) is killed after 30 s and started again
    /// with a fresh profile, up to three times in all.
    func run(
        url: String, width: Int, height: Int, output: Output, profile: String, allowPopups: Bool = true,
        extraArguments: [String] = [], environment: [String: String] = [:]
    ) async throws -> String {
        var attempt = 1
        while true {
            do {
                return try await runOnce(
                    url: url, width: width, height: height, output: output, profile: profile + "-\(attempt)",
                    allowPopups: allowPopups, extraArguments: extraArguments, environment: environment
                )
            } catch let hang as CommandLineTimeout where attempt < 3 {
                FileHandle.standardError.write(Data("chromium hung (attempt \(attempt)); its log ends:\n\(hang.stderr)\n".utf8))
                attempt += 1
            }
        }
    }

    private func runOnce(
        url: String, width: Int, height: Int, output: Output, profile: String, allowPopups: Bool, extraArguments: [String],
        environment: [String: String]
    ) async throws -> String {
        let process = Process()
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        process.executableURL = URL(fileURLWithPath: path)
        var arguments = [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--no-default-browser-check", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-extensions", "--disable-default-apps",
            "--disable-domain-reliability", "--metrics-recording-only", "--no-pings", "--hide-scrollbars",
            // Anything not on loopback goes to a closed local port, never out.
            "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=127.0.0.1;127.0.0.2;localhost",
            "--force-device-scale-factor=1", "--user-data-dir=\(profile)", "--window-size=\(width),\(height)", "--virtual-time-budget=20000",
        ]
        // The harness clicks from script, which is not a person's gesture; only then are popups let through.
        if allowPopups { arguments.append("--disable-popup-blocking") }
        arguments += extraArguments
        switch output {
        case .dumpDOM: arguments.append("--dump-dom")
        case .screenshot(let file): arguments.append("--screenshot=\(file)")
        }
        arguments.append(url)
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        _ = FileManager.default.createFile(atPath: profile + ".log", contents: nil)
        process.standardError = FileHandle(forWritingAtPath: profile + ".log")
        let collected = NIOLockedValueBox(Data())
        out.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            collected.withLockedValue { $0.append(data) }
        }
        try launch(process)
        let deadline = ContinuousClock.now + .seconds(30)
        while process.isRunning {
            if ContinuousClock.now > deadline {
                kill(process.processIdentifier, SIGKILL)
                let log = (try? String(contentsOfFile: profile + ".log", encoding: .utf8)) ?? ""
                throw CommandLineTimeout(waitingFor: "chromium", stderr: String(log.suffix(2000)))
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        out.fileHandleForReading.readabilityHandler = nil
        let rest = out.fileHandleForReading.readDataToEndOfFile()
        return String(decoding: collected.withLockedValue { $0 + rest }, as: UTF8.self)
    }
}

enum Fixture {
    static let browserFolder = Bundle.module.url(forResource: "Browser", withExtension: nil)!
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static var screenshotFolder: URL {
        let folder = repositoryRoot.appendingPathComponent(".build/screenshots")
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// The repository's `public/` plus the test harness, in a temporary folder served by the app.
    static func preparePublicFolder(in directory: TemporaryDirectory) throws {
        let target = URL(fileURLWithPath: directory.path("public"))
        try FileManager.default.copyItem(at: repositoryRoot.appendingPathComponent("public"), to: target)
        for file in ["harness.html", "harness.js", "harness.css"] {
            try FileManager.default.copyItem(
                at: browserFolder.appendingPathComponent(file), to: target.appendingPathComponent(file)
            )
        }
    }

    static func report(in dom: String) -> String? {
        guard let start = dom.range(of: "<pre id=\"report\">"), let end = dom.range(of: "</pre>", range: start.upperBound..<dom.endIndex)
        else { return nil }
        let text = String(dom[start.upperBound..<end.lowerBound])
        guard !text.isEmpty else { return nil }
        return text.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&lt;", with: "<")
            .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&amp;", with: "&")
    }
}

/// A small stand-in for Eko's gateway on 127.0.0.2 (its own origin): records the form POST and the popup's report.
final class StandInGateway: Sendable {
    typealias Recorded = (forms: [[String: String]], formHeaders: [[String: String]], reports: [JSONValue])
    let origin: String
    private let recorded: NIOLockedValueBox<Recorded>
    private let task: Task<Void, any Error>

    var forms: [[String: String]] { recorded.withLockedValue { $0.forms } }
    /// The `Origin` and `Referer` of each form POST ("-" when absent).
    var formHeaders: [[String: String]] { recorded.withLockedValue { $0.formHeaders } }
    var reports: [JSONValue] { recorded.withLockedValue { $0.reports } }

    private init(origin: String, recorded: NIOLockedValueBox<Recorded>, task: Task<Void, any Error>) {
        self.origin = origin
        self.recorded = recorded
        self.task = task
    }

    /// What the stand-in does that Eko does not document (see `standin-gateway.html`).
    struct Mode: Sendable {
        var hookMessage = true
        var token = "headers"
        var reply = "ok"
        var errorMessage: String? = nil
        var close = "no"
        var responseRef: String? = nil

        var json: String {
            JSONValue.object(JSONObject([
                .init(key: "hookMessage", value: .bool(hookMessage)), .init(key: "token", value: .string(token)),
                .init(key: "reply", value: .string(reply)), .init(key: "errorMessage", value: errorMessage.map(JSONValue.string) ?? .null),
                .init(key: "close", value: .string(close)), .init(key: "responseRef", value: responseRef.map(JSONValue.string) ?? .null),
            ])).serialized().replacingOccurrences(of: "</", with: "<\\/")
        }
    }

    static func start(mode: Mode = Mode()) async throws -> StandInGateway {
        let recorded = NIOLockedValueBox<Recorded>(([], [], []))
        let template = try String(contentsOf: Fixture.browserFolder.appendingPathComponent("standin-gateway.html"), encoding: .utf8)
        let router = Router()
        router.post("/v2/aeps") { request, _ -> Response in
            var request = request
            let body = String(buffer: try await request.collectBody(upTo: 64 * 1024))
            var fields: [String: String] = [:]
            for pair in body.split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1).map {
                    String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
                }
                fields[parts[0]] = parts.count > 1 ? parts[1] : ""
            }
            let headers = [
                "origin": request.headers[.origin] ?? "-", "referer": request.headers[.referer] ?? "-",
            ]
            recorded.withLockedValue {
                $0.forms.append(fields)
                $0.formHeaders.append(headers)
            }
            let json = JSONValue.object(JSONObject(fields.sorted { $0.key < $1.key }.map { .init(key: $0.key, value: .string($0.value)) }))
                .serialized().replacingOccurrences(of: "</", with: "<\\/")
            return Response(
                status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: template.replacingOccurrences(of: "__FIELDS__", with: json)
                    .replacingOccurrences(of: "__MODE__", with: mode.json)))
            )
        }
        router.post("/report") { request, _ -> HTTPResponse.Status in
            var request = request
            let body = try await request.collectBody(upTo: 64 * 1024)
            if let value = try? JSONValue.parse(body.readableBytesView) { recorded.withLockedValue { $0.reports.append(value) } }
            return .noContent
        }
        let (port, task) = try await startOnFreePort(router: router, host: "127.0.0.2")
        return StandInGateway(origin: "http://127.0.0.2:\(port)", recorded: recorded, task: task)
    }

    func stop() { task.cancel() }
}

/// A port that was free a moment ago on this loopback address.
func freeLoopbackPort(host: String = "127.0.0.1") throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw CocoaError(.fileNoSuchFile) }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr(host)
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    guard bound == 0 else { throw CocoaError(.fileWriteUnknown) }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

func waitUntilListening(host: String, port: Int) async throws {
    let client = HTTPClient(eventLoopGroupProvider: .singleton)
    defer { _ = client.shutdown() }
    for _ in 0..<200 {
        if (try? await client.execute(HTTPClientRequest(url: "http://\(host):\(port)/"), timeout: .seconds(1))) != nil { return }
        try await Task.sleep(for: .milliseconds(25))
    }
    throw CommandLineTimeout(waitingFor: "\(host):\(port)", stderr: "")
}
