import AsyncHTTPClient
import EkoSigning
import Foundation
import HummingbirdTLS
import NIOCore
import NIOHTTP1
import SwiftASN1
import X509

/// The installation checks behind `aeps doctor` and the console's `/ops/doctor`: one code path, one list of
/// ``DoctorCheck``s, each with its cause, its fix and Eko's page. Reads only: it applies no migration and writes
/// nothing (the CORS self-test's probe is refused by the callback with 400, and recorded in its log as such).
public struct Doctor: Sendable {
    /// Where the access key comes from.
    public enum AccessKeySource: Sendable {
        /// Look where the server looks (`EKO_ACCESS_KEY`, else `access_key_file`), as `aeps doctor` does.
        case lookUp(environment: [String: String])
        /// The key the running server loaded when it started (the console's page).
        case running(EkoSigner)
    }

    public var configuration: Result<AppConfig, ConfigError>
    public var accessKey: AccessKeySource
    /// The running server's database (the console); nil: open `database.path` (the CLI).
    public var database: AppDatabase?
    /// With a user code, ask Eko's User Services Enquiry whether AePS Gateway (service 43) is active for it.
    public var userCode: String?
    /// The longest any one network request may take.
    public var timeout: Duration
    /// This machine's clock (the clock-skew check compares Eko's `Date` with it).
    public var now: @Sendable () -> Date

    public init(
        configuration: Result<AppConfig, ConfigError>, accessKey: AccessKeySource, database: AppDatabase? = nil,
        userCode: String? = nil, timeout: Duration = .seconds(5), now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.configuration = configuration
        self.accessKey = accessKey
        self.database = database
        self.userCode = userCode
        self.timeout = timeout
        self.now = now
    }

    /// Headers and the harmless body of the CORS self-test, as Eko's gateway page would send them.
    public static let probeBody = #"{"action":"doctor-probe"}"#
    public static let requestedHeaders = "content-type,x-aeps-session"
    /// An origin no configuration allows: it must get no CORS header at all.
    public static let foreignOrigin = "https://evil.example"

    /// Every check, in a fixed order.
    public func run() async -> DoctorReport {
        var checks: [DoctorCheck] = []
        let config: AppConfig
        switch configuration {
        case .failure(let error):
            checks.append(DoctorCheck(
                id: "config", title: "Configuration", status: .fail, detail: "\(error.key): \(error.message)",
                fix: "Correct \(error.key) in aeps.config (aeps.config.example lists every key).", link: EkoDocs.webIntegration
            ))
            checks.append(signingCheck())
            let needing: [(String, String)] = [
                ("access_key", "Access key"), ("environment", "Environment and gateway origin"),
                ("callback_url", "Callback URL"), ("tls", "TLS certificate"), ("clock", "Clock skew against Eko"),
                ("cors", "CORS self-test"), ("database", "Database"), ("retailers", "Retailers"),
                ("user_services", "AePS service (43) for the user code"),
            ]
            for (id, title) in needing {
                checks.append(DoctorCheck(
                    id: id, title: title, status: .skipped, detail: "skipped: needs a valid configuration (see config)",
                    link: Self.link(id)
                ))
            }
            return DoctorReport(checks: checks)
        case .success(let loaded):
            config = loaded
            checks.append(DoctorCheck(
                id: "config", title: "Configuration", status: .pass,
                detail: "valid: environment \(config.environment.rawValue), callback \(config.callbackURL), "
                    + "database \(config.databasePath)",
                link: EkoDocs.webIntegration
            ))
        }

        let (keyCheck, signer) = accessKeyCheck(config)
        checks.append(keyCheck)
        checks.append(environmentCheck(config))
        // The network checks run side by side, so a host that does not answer costs one timeout, not many.
        let callbackClient = Self.client(config: config, timeout: timeout, trustingLocalCertificate: true)
        let ekoClient = Self.client(config: config, timeout: timeout, trustingLocalCertificate: false)
        async let callback = callbackCheck(config, client: callbackClient)
        async let clock = clockCheck(config, client: ekoClient)
        async let cors = corsCheck(config, client: callbackClient)
        async let services = userServicesCheck(config, signer: signer, client: ekoClient)
        let (callbackResult, clockResult, corsResult, servicesResult) = await (callback, clock, cors, services)
        try? await callbackClient.shutdown()
        try? await ekoClient.shutdown()
        checks.append(callbackResult)
        checks.append(tlsCheck(config))
        checks.append(clockResult)
        checks.append(corsResult)
        checks.append(signingCheck())
        let (databaseCheck, retailersCheck) = await databaseChecks(config)
        checks.append(databaseCheck)
        checks.append(retailersCheck)
        checks.append(servicesResult)
        return DoctorReport(checks: checks)
    }

    static func link(_ id: String) -> String {
        switch id {
        case "access_key", "clock", "signing": EkoDocs.authentication
        case "environment": EkoDocs.platformCredentials
        case "cors": EkoDocs.cors
        case "database": EkoDocs.backendIntegration
        case "retailers": EkoDocs.onboardUser
        case "user_services": EkoDocs.activateService
        default: EkoDocs.webIntegration
        }
    }

    // MARK: Access key

    func accessKeyCheck(_ config: AppConfig) -> (DoctorCheck, EkoSigner?) {
        func check(_ status: DoctorCheck.Status, _ detail: String, _ fix: String = "") -> DoctorCheck {
            DoctorCheck(id: "access_key", title: "Access key", status: status, detail: detail, fix: fix, link: EkoDocs.authentication)
        }
        let signer: EkoSigner
        let described: String
        var warnings: [String] = []
        switch accessKey {
        case .running(let running):
            signer = running
            described = "the running server's key (loaded at start from EKO_ACCESS_KEY or access_key_file)"
        case .lookUp(let environment):
            do {
                let loaded = try AccessKeyLoader.find(config: config, environment: environment)
                signer = EkoSigner(accessKey: loaded.key)
                described = loaded.source == AccessKeyLoader.environmentVariable
                    ? "set via EKO_ACCESS_KEY (\(loaded.length) characters)"
                    : "read from access_key_file \(config.accessKeyFile ?? "") (\(loaded.length) characters)"
                warnings = loaded.warnings
            } catch {
                return (check(
                    .fail, "\(error.key): \(error.message)",
                    "Give the server the access key Eko issued: EKO_ACCESS_KEY in its environment, or access_key_file "
                        + "naming a file only the server's user can read (chmod 600). It is not the developer_key."
                ), nil)
            }
        }
        // Compared by what they sign, so the key itself is never handled as text here.
        func same(_ raw: String) -> Bool {
            guard let other = EkoAccessKey(raw) else { return false }
            return EkoSigner(accessKey: other).secretKey(timestamp: "aeps-doctor") == signer.secretKey(timestamp: "aeps-doctor")
        }
        if same(config.developerKey) {
            return (check(
                .fail, "the access key is the developer_key (\(described)): Eko refuses every signature (HTTP 403, "
                    + "\"Authentication for secret-key failed\")",
                "The access key (\"authenticator key\") and the developer_key are two different values from Eko; "
                    + "put the access key in EKO_ACCESS_KEY or access_key_file."
            ), nil)
        }
        let isPublicUAT = EkoAccessKey.publicUATKeys.contains(where: same)
        if isPublicUAT, config.environment == .production {
            return (check(
                .fail, "\(described) is one of Eko's public UAT access keys, in production",
                "Use the production access key Eko issued to you (ask sales.engineer@eko.co.in)."
            ), nil)
        }
        if let warning = warnings.first {
            return (check(.warn, "\(described); \(warning)", "chmod 600 the file so only the server's user reads it."), signer)
        }
        let note = isPublicUAT ? "; it is Eko's public UAT key (fine for \(config.environment.rawValue))" : ""
        return (check(.pass, described + note), signer)
    }

    // MARK: Environment

    func environmentCheck(_ config: AppConfig) -> DoctorCheck {
        func check(_ status: DoctorCheck.Status, _ detail: String, _ fix: String = "") -> DoctorCheck {
            DoctorCheck(
                id: "environment", title: "Environment and gateway origin", status: status, detail: detail, fix: fix,
                link: EkoDocs.platformCredentials
            )
        }
        let environment = config.environment
        let origin = config.gatewayOrigin
        let expected = AppConfig.defaultGatewayOrigin(environment)
        if environment == .production, config.developerKey == AppConfig.publicUATDeveloperKey {
            return check(
                .fail, "production with Eko's public UAT developer_key: the gateway answers \"Error in authentication\"",
                "Set developer_key to the production key Eko issued to you."
            )
        }
        switch environment {
        case .local:
            let host = URLComponents(string: origin)?.host ?? ""
            guard origin.hasPrefix("http://"), Self.isLoopback(host) else {
                return check(
                    .warn, "environment local, but the gateway origin \(origin) is not an http://localhost or 127.0.0.1 origin",
                    "For local work run `aeps gateway-sim` and leave eko.gateway_origin unset (http://localhost:3004)."
                )
            }
            return check(.pass, "local: the gateway simulator at \(origin), Eko API \(config.ekoAPIBase)")
        case .uat, .production:
            if origin != expected {
                let other = AppConfig.defaultGatewayOrigin(environment == .uat ? .production : .uat)
                let detail = "environment \(environment.rawValue) expects the gateway at \(expected), but eko.gateway_origin "
                    + "is \(origin): the callback would refuse the real gateway's calls (CORS)"
                return check(
                    origin == other ? .fail : .warn, detail,
                    "Remove eko.gateway_origin (it is for local work and tests), or set environment to match the gateway."
                )
            }
            if config.ekoAPIBase != AppConfig.defaultAPIBase(environment) {
                return check(
                    .warn, "environment \(environment.rawValue) with eko.api_base overridden to \(config.ekoAPIBase) "
                        + "(Eko's is \(AppConfig.defaultAPIBase(environment)))",
                    "Remove eko.api_base unless Eko told you to use another address."
                )
            }
            return check(.pass, "\(environment.rawValue): gateway \(origin), Eko API \(config.ekoAPIBase)")
        }
    }

    // MARK: Callback URL

    /// What is wrong with `callback_url` before anything is sent to it (nil: nothing).
    func callbackURLProblem(_ config: AppConfig) -> DoctorCheck? {
        func check(_ status: DoctorCheck.Status, _ detail: String, _ fix: String = "") -> DoctorCheck {
            DoctorCheck(id: "callback_url", title: "Callback URL", status: status, detail: detail, fix: fix, link: EkoDocs.webIntegration)
        }
        guard let url = URLComponents(string: config.callbackURL), let scheme = url.scheme, let host = url.host else {
            return check(.fail, "callback_url \(config.callbackURL) is not a URL", "Write it like https://partner.example/aeps/callback.")
        }
        if scheme != "https" {
            if config.environment != .local {
                return check(
                    .fail, "callback_url is http:// in \(config.environment.rawValue): the gateway page is https, so the "
                        + "browser blocks the call (\"Connection to callback server failed\")",
                    "Serve the callback over https:// (a tls section, or a reverse proxy with a certificate)."
                )
            }
            if !Self.isLoopback(host) {
                return check(
                    .fail, "callback_url is http:// on \(host); plain http is allowed only for localhost / 127.0.0.1",
                    "Use https:// for any host other than this machine's loopback."
                )
            }
        }
        if url.path.isEmpty || url.path == "/" {
            return check(
                .fail, "callback_url has no path: the gateway posts to \(config.callbackURL), but the server answers on "
                    + "\(config.callbackPath)",
                "Write the full URL, e.g. \(scheme)://\(host)\(url.port.map { ":\($0)" } ?? "")\(config.callbackPath)."
            )
        }
        return nil
    }

    func callbackCheck(_ config: AppConfig, client: HTTPClient) async -> DoctorCheck {
        func check(_ status: DoctorCheck.Status, _ detail: String, _ fix: String = "") -> DoctorCheck {
            DoctorCheck(id: "callback_url", title: "Callback URL", status: status, detail: detail, fix: fix, link: EkoDocs.webIntegration)
        }
        if let problem = callbackURLProblem(config) { return problem }
        let mounted = "the server mounts POST and OPTIONS on \(config.callbackPath)"
        switch await Self.send(client, .POST, config.callbackURL, headers: [("Content-Type", "application/json")], body: Self.probeBody, timeout: timeout) {
        case .failure(let failure):
            return check(
                .warn, "\(mounted); the URL is not reachable from here (\(failure.reason)), so the live probe was skipped",
                "Start the server (`aeps serve`) and run the doctor again; see the cors check."
            )
        case .success(let answer):
            guard answer.status != 404, answer.status != 405 else {
                return check(
                    .fail, "\(mounted), but POST \(config.callbackURL) answered HTTP \(answer.status): something else answers that URL",
                    "Point callback_url (and any proxy in front) at the aeps server's callback path \(config.callbackPath)."
                )
            }
            guard answer.isJSON else {
                return check(
                    .fail, "POST \(config.callbackURL) answered HTTP \(answer.status) with \(answer.contentType ?? "no content type"), "
                        + "not JSON: the gateway shows \"Invalid response from callback server\"",
                    "Make sure callback_url reaches `aeps serve` itself (a proxy's error page is not JSON)."
                )
            }
            return check(.pass, "\(mounted); a probe POST answered HTTP \(answer.status) with JSON")
        }
    }

    // MARK: TLS

    func tlsCheck(_ config: AppConfig) -> DoctorCheck {
        func check(_ status: DoctorCheck.Status, _ detail: String, _ fix: String = "") -> DoctorCheck {
            DoctorCheck(id: "tls", title: "TLS certificate", status: status, detail: detail, fix: fix, link: EkoDocs.webIntegration)
        }
        guard let tls = config.tls else {
            return check(.skipped, "skipped: no tls section (plain HTTP, for use behind a reverse proxy that holds the certificate)")
        }
        guard let chainText = try? String(contentsOfFile: tls.certificateChain, encoding: .utf8) else {
            return check(
                .fail, "tls.certificate_chain: cannot read \(tls.certificateChain)",
                "Check the path and that the server's user may read it (`aeps dev-cert` makes one for local work)."
            )
        }
        let certificate: Certificate
        do {
            let documents = try PEMDocument.parseMultiple(pemString: chainText)
            guard let first = documents.first(where: { $0.discriminator == "CERTIFICATE" }) else {
                return check(.fail, "tls.certificate_chain: no certificate in \(tls.certificateChain)", "Give a PEM certificate chain, leaf first.")
            }
            certificate = try Certificate(pemDocument: first)
        } catch {
            return check(.fail, "tls.certificate_chain: \(tls.certificateChain) is not a PEM certificate", "Give a PEM certificate chain, leaf first.")
        }
        guard let keyText = try? String(contentsOfFile: tls.privateKey, encoding: .utf8) else {
            return check(
                .fail, "tls.private_key: cannot read \(tls.privateKey)",
                "Check the path and that the server's user may read it (and nobody else: chmod 600)."
            )
        }
        if let key = try? Certificate.PrivateKey(pemEncoded: keyText) {
            guard key.publicKey == certificate.publicKey else {
                return check(
                    .fail, "tls.private_key \(tls.privateKey) does not belong to the certificate in \(tls.certificateChain)",
                    "Use the key the certificate was issued for."
                )
            }
        } else if (try? NIOSSLPrivateKey(bytes: Array(keyText.utf8), format: .pem)) == nil {
            return check(.fail, "tls.private_key: \(tls.privateKey) is not a PEM private key", "Give the PEM private key of the certificate.")
        }
        let formatter = ISO8601DateFormatter()
        let expiry = formatter.string(from: certificate.notValidAfter)
        let now = now()
        if certificate.notValidAfter <= now {
            return check(
                .fail, "the certificate expired on \(expiry): browsers refuse the callback",
                "Renew the certificate (for local work: delete it and run `aeps dev-cert`), then restart the server."
            )
        }
        if certificate.notValidBefore > now {
            return check(
                .fail, "the certificate is not valid before \(formatter.string(from: certificate.notValidBefore))",
                "Check this machine's clock, or use a certificate valid now."
            )
        }
        let days = Int(certificate.notValidAfter.timeIntervalSince(now) / 86_400)
        if days < 14 {
            return check(
                .warn, "the certificate expires on \(expiry), in \(days) days",
                "Renew it before then and restart the server."
            )
        }
        return check(.pass, "certificate readable and valid until \(expiry) (\(days) days); private key readable and matching")
    }

    // MARK: Clock

    func clockCheck(_ config: AppConfig, client: HTTPClient) async -> DoctorCheck {
        func check(_ status: DoctorCheck.Status, _ detail: String, _ fix: String = "") -> DoctorCheck {
            DoctorCheck(id: "clock", title: "Clock skew against Eko", status: status, detail: detail, fix: fix, link: EkoDocs.authentication)
        }
        let sync = "Keep this machine's clock synchronised (NTP: systemd-timesyncd or chrony); secret_key_timestamp must be close to real time."
        let before = now()
        switch await Self.send(client, .GET, config.ekoAPIBase, headers: [], body: nil, timeout: timeout) {
        case .failure(let failure):
            return check(
                .warn, "Eko's API \(config.ekoAPIBase) not reachable (\(failure.reason)), skipped",
                config.environment == .local
                    ? "Start the gateway simulator (`aeps gateway-sim`) and run the doctor again."
                    : "Check this server's outbound network (production also needs its Indian IP whitelisted by Eko)."
            )
        case .success(let answer):
            let after = now()
            let local = before.addingTimeInterval(after.timeIntervalSince(before) / 2)
            guard let text = answer.headers.first(name: "Date"), let remote = Self.httpDate(text) else {
                return check(.warn, "\(config.ekoAPIBase) answered without a usable Date header; skipped", sync)
            }
            let skew = remote.timeIntervalSince(local)
            let words = "Eko's server says \(text); this machine's clock is \(Self.seconds(abs(skew))) "
                + (skew > 0 ? "behind" : "ahead")
            if abs(skew) > 300 { return check(.fail, words + " (over 5 minutes: Eko refuses the secret-key)", sync) }
            if abs(skew) > 30 { return check(.warn, words + " (over 30 seconds)", sync) }
            return check(.pass, words)
        }
    }

    static func seconds(_ interval: TimeInterval) -> String {
        interval < 120 ? "\(Int(interval.rounded())) s" : "\(Int((interval / 60).rounded())) min"
    }

    static func httpDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }

    // MARK: CORS

    func corsCheck(_ config: AppConfig, client: HTTPClient) async -> DoctorCheck {
        func check(_ status: DoctorCheck.Status, _ detail: String, _ fix: String = "") -> DoctorCheck {
            DoctorCheck(id: "cors", title: "CORS self-test", status: status, detail: detail, fix: fix, link: EkoDocs.cors)
        }
        if callbackURLProblem(config) != nil {
            return check(.skipped, "skipped: callback_url is not usable by a browser (see callback_url)")
        }
        let origins = config.allowedOrigins + [Self.foreignOrigin]
        let verdicts = await withTaskGroup(of: (Int, Result<(line: String, refused: Bool), ProbeFailure>).self) { group in
            for (index, origin) in origins.enumerated() {
                group.addTask { (index, await self.corsVerdict(origin: origin, url: config.callbackURL, client: client)) }
            }
            var results: [(Int, Result<(line: String, refused: Bool), ProbeFailure>)] = []
            for await result in group { results.append(result) }
            return results.sorted { $0.0 < $1.0 }.map(\.1)
        }
        var lines: [String] = []
        var failed = false
        for verdict in verdicts {
            switch verdict {
            case .failure(let failure):
                return check(
                    .fail, "cannot reach \(config.callbackURL) (\(failure.reason)): the gateway would show \"Connection to "
                        + "callback server failed. Please try again\"",
                    "Is `aeps serve` running? Is callback_url right (and reachable from this machine)?"
                )
            case .success(let result):
                lines.append(result.line)
                if result.refused { failed = true }
            }
        }
        let detail = lines.joined(separator: " | ")
        if failed {
            return check(
                .fail, detail + " (the gateway shows \"Connection to callback server failed. Please try again\")",
                "`aeps serve` sends these headers itself: make sure callback_url reaches it directly, and that a proxy "
                    + "in front passes OPTIONS and the Origin header through without adding or removing Access-Control-* "
                    + "headers. Other origins go in eko.extra_origins."
            )
        }
        return check(.pass, detail)
    }

    struct ProbeFailure: Error {
        var reason: String
    }

    /// The preflight and the POST a browser at `origin` would send, and what it would decide.
    func corsVerdict(origin: String, url: String, client: HTTPClient) async -> Result<(line: String, refused: Bool), ProbeFailure> {
        async let preflightProbe = Self.send(
            client, .OPTIONS, url,
            headers: [
                ("Origin", origin), ("Access-Control-Request-Method", "POST"),
                ("Access-Control-Request-Headers", Self.requestedHeaders),
            ],
            body: nil, timeout: timeout
        )
        async let postProbe = Self.send(
            client, .POST, url, headers: [("Origin", origin), ("Content-Type", "application/json")], body: Self.probeBody,
            timeout: timeout
        )
        let (preflight, post) = await (preflightProbe, postProbe)
        let preflightAnswer: ProbeAnswer
        let postAnswer: ProbeAnswer
        switch (preflight, post) {
        case (.failure(let failure), _), (_, .failure(let failure)): return .failure(failure)
        case (.success(let first), .success(let second)):
            preflightAnswer = first
            postAnswer = second
        }
        if origin == Self.foreignOrigin {
            let leaked = [preflightAnswer, postAnswer].compactMap { $0.headers.first(name: "Access-Control-Allow-Origin") }
            if let value = leaked.first {
                return .success(("\(origin) (not allowed): answered with Access-Control-Allow-Origin: \(value); any site could call the callback", true))
            }
            return .success(("\(origin) (not allowed): no CORS headers, a browser refuses it (right)", false))
        }
        let problems = Self.corsProblems(origin: origin, preflight: preflightAnswer, post: postAnswer)
        if problems.isEmpty {
            return .success((
                "\(origin): a browser allows the call (preflight HTTP \(preflightAnswer.status), POST answer JSON with the origin echoed)",
                false
            ))
        }
        return .success(("\(origin): a browser REFUSES the call: " + problems.joined(separator: "; "), true))
    }

    /// Why a browser at `origin` would refuse the callback, from the answers to its preflight and its POST.
    static func corsProblems(origin: String, preflight: ProbeAnswer, post: ProbeAnswer) -> [String] {
        var problems: [String] = []
        if !(200..<300).contains(preflight.status) { problems.append("the preflight answered HTTP \(preflight.status) (not 2xx)") }
        let allowOrigin = preflight.headers["Access-Control-Allow-Origin"]
        if allowOrigin.isEmpty {
            problems.append("the preflight has no Access-Control-Allow-Origin")
        } else if allowOrigin.count > 1 {
            problems.append("the preflight has \(allowOrigin.count) Access-Control-Allow-Origin headers")
        } else if allowOrigin[0] != origin, allowOrigin[0] != "*" {
            problems.append("the preflight allows origin \(allowOrigin[0]), not \(origin)")
        }
        func tokens(_ name: String) -> [String] {
            preflight.headers[name].flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        }
        let methods = tokens("Access-Control-Allow-Methods")
        if !methods.contains("post"), !methods.contains("*") {
            problems.append("the preflight does not allow POST (Access-Control-Allow-Methods: \(methods.joined(separator: ", ")))")
        }
        let headers = tokens("Access-Control-Allow-Headers")
        for wanted in requestedHeaders.split(separator: ",").map(String.init) where !headers.contains(wanted) && !headers.contains("*") {
            problems.append("the preflight does not allow the header \(wanted)")
        }
        let postOrigin = post.headers["Access-Control-Allow-Origin"]
        if postOrigin.count != 1 || (postOrigin[0] != origin && postOrigin[0] != "*") {
            problems.append(
                postOrigin.isEmpty
                    ? "the POST answer has no Access-Control-Allow-Origin (the browser hides it from the gateway)"
                    : "the POST answer's Access-Control-Allow-Origin is \(postOrigin.joined(separator: ", ")), not \(origin)"
            )
        }
        if !post.isJSON { problems.append("the POST answer is not JSON (\(post.contentType ?? "no content type"))") }
        return problems
    }

    // MARK: Signing

    func signingCheck() -> DoctorCheck {
        let failures = EkoSigningSelfTest.failures()
        guard failures.isEmpty else {
            return DoctorCheck(
                id: "signing", title: "Signing self-test", status: .fail,
                detail: "\(failures.count) of \(EkoSigningSelfTest.vectors.count) vectors differ: \(failures[0])",
                fix: "This build signs differently from Eko: do not serve with it; reinstall aeps and report it.",
                link: EkoDocs.authentication
            )
        }
        return DoctorCheck(
            id: "signing", title: "Signing self-test", status: .pass,
            detail: "the recipe reproduces all \(EkoSigningSelfTest.vectors.count) vectors (Eko's published pairs and protocol §3)",
            link: EkoDocs.authentication
        )
    }

    // MARK: Database and retailers

    func databaseChecks(_ config: AppConfig) async -> (DoctorCheck, DoctorCheck) {
        func check(_ status: DoctorCheck.Status, _ detail: String, _ fix: String = "") -> DoctorCheck {
            DoctorCheck(id: "database", title: "Database", status: status, detail: detail, fix: fix, link: EkoDocs.backendIntegration)
        }
        func retailers(_ status: DoctorCheck.Status, _ detail: String, _ fix: String = "") -> DoctorCheck {
            DoctorCheck(id: "retailers", title: "Retailers", status: status, detail: detail, fix: fix, link: EkoDocs.onboardUser)
        }
        let skipped = retailers(.skipped, "skipped: needs a usable, current database (see database)")
        let database: AppDatabase
        var opened = false
        if let running = self.database {
            database = running
        } else {
            let path = config.databasePath
            guard FileManager.default.fileExists(atPath: path) else {
                return (check(.fail, "database.path \(path) does not exist", "Run `aeps migrate` to create it."), skipped)
            }
            do {
                database = try AppDatabase.open(path: path)
                opened = true
            } catch {
                return (check(.fail, "\(error)", "Check database.path and that the server's user may write the file and its folder."), skipped)
            }
        }
        defer { if opened { try? database.close() } }
        do {
            if try database.isSuperseded() {
                return (check(
                    .fail, "\(database.path) was written by a newer aeps", "Run the newer aeps, or restore a backup made by this version."
                ), skipped)
            }
            let pending = try await database.pendingMigrations()
            guard pending.isEmpty else {
                return (check(
                    .fail, "\(database.path): \(pending.count) migrations pending (\(pending.joined(separator: ", ")))",
                    "Run `aeps migrate` (or start `aeps serve`, which applies them)."
                ), skipped)
            }
        } catch {
            return (check(.fail, "\(database.path): cannot read the schema (\(error))", "Check the file; restore a backup if it is damaged."), skipped)
        }
        do {
            try await database.checkWritable()
        } catch {
            return (check(
                .fail, "\(database.path) is not writable by this user (\(error))",
                "Give the server's user write access to the file and its folder (SQLite also writes -wal and -shm files there)."
            ), skipped)
        }
        let databaseCheck = check(.pass, "\(database.path): writable, migrations current")
        do {
            let count = try await database.activeRetailerCount()
            if count == 0 {
                return (databaseCheck, retailers(
                    .warn, "no active retailer: nobody can open the gateway",
                    "Add one with `aeps retailer add --user-code C --name N` (C: the retailer's Eko user_code)."
                ))
            }
            return (databaseCheck, retailers(.pass, "\(count) active retailer\(count == 1 ? "" : "s")"))
        } catch {
            return (databaseCheck, retailers(.fail, "cannot count retailers (\(error))", "Check the database file."))
        }
    }

    // MARK: User services

    func userServicesCheck(_ config: AppConfig, signer: EkoSigner?, client: HTTPClient) async -> DoctorCheck {
        func check(_ status: DoctorCheck.Status, _ detail: String, _ fix: String = "") -> DoctorCheck {
            DoctorCheck(
                id: "user_services", title: "AePS service (43) for the user code", status: status, detail: detail, fix: fix,
                link: EkoDocs.activateService
            )
        }
        guard let userCode else {
            return check(.skipped, "skipped: give a user code (aeps doctor --user-code C) to ask Eko whether AePS Gateway is active for it")
        }
        guard let signer else { return check(.skipped, "skipped: needs a usable access key (see access_key)") }
        let activate = "Activate service 43 (AePS Gateway) for user_code \(userCode) with Eko's Activate Service API, or ask Eko."
        let outcome = await EkoClient.userServices(
            userCode: userCode, config: config, signer: signer, http: client, now: now(),
            timeout: Self.timeAmount(timeout)
        )
        switch outcome {
        case .unreachable(let reason):
            return check(.warn, "Eko's User Services Enquiry not reachable (\(reason)), skipped", "Run the doctor again when Eko's API is reachable.")
        case .forbidden:
            return check(
                .fail, "Eko answered HTTP 403: wrong access key or stale timestamp, or the developer key used as the access key",
                "Check the access_key and clock checks; the access key and the developer_key are different values."
            )
        case .unexpected(let reason):
            return check(.fail, "User Services Enquiry for \(userCode): \(reason)", "Check eko.api_base and initiator_id.")
        case .answered(let status, let message, let services):
            if let status, status != 0 {
                return check(.fail, "Eko refused the enquiry for \(userCode): status \(status) (\(message ?? "no message"))", activate)
            }
            guard let aeps = services.first(where: { $0.code == EkoClient.aepsGatewayServiceCode }) else {
                return check(
                    .fail, "service 43 (AePS Gateway) is not in \(userCode)'s services: the gateway answers \"Authentication "
                        + "Failed… Initiator access forbidden\"",
                    activate
                )
            }
            guard aeps.isActive else {
                return check(
                    .fail, "service 43 (AePS Gateway) for \(userCode) has status \(aeps.status) (\(aeps.description ?? "not active")), "
                        + "not 1: the gateway answers \"Authentication Failed… Initiator access forbidden\"",
                    activate
                )
            }
            return check(.pass, "service 43 (AePS Gateway) is active for \(userCode) (\(aeps.description ?? "status 1"))")
        }
    }

    // MARK: HTTP

    /// What a probe got back.
    struct ProbeAnswer: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: String

        var contentType: String? { headers.first(name: "Content-Type") }
        var isJSON: Bool {
            (contentType?.lowercased().hasPrefix("application/json") ?? false) && (try? JSONValue.parse(body)) != nil
        }
    }

    /// One request; the failure is a short reason for people.
    static func send(
        _ client: HTTPClient, _ method: HTTPMethod, _ url: String, headers: [(String, String)], body: String?, timeout: Duration
    ) async -> Result<ProbeAnswer, ProbeFailure> {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        do {
            let response = try await client.execute(request, timeout: timeAmount(timeout))
            let bytes = try await response.body.collect(upTo: 256 * 1024)
            return .success(ProbeAnswer(status: Int(response.status.code), headers: response.headers, body: String(buffer: bytes)))
        } catch {
            return .failure(ProbeFailure(reason: String("\(error)".prefix(160))))
        }
    }

    static func timeAmount(_ duration: Duration) -> TimeAmount {
        .nanoseconds(Int64(duration.components.seconds) * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }

    /// A client of its own: answers within `timeout`, a refused connection fails at once (no retry until the
    /// deadline), redirects are not followed. With `trustingLocalCertificate`, when the callback is this machine it
    /// trusts the configured certificate (the self-signed development certificate of `make run`); otherwise the
    /// system's roots.
    static func client(config: AppConfig, timeout: Duration, trustingLocalCertificate: Bool) -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        if trustingLocalCertificate, let files = config.tls, let host = URLComponents(string: config.callbackURL)?.host,
            isLoopback(host), FileManager.default.isReadableFile(atPath: files.certificateChain)
        {
            tls.trustRoots = .file(files.certificateChain)
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls, redirectConfiguration: .disallow)
        configuration.timeout = .init(connect: timeAmount(timeout), read: timeAmount(timeout))
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    static func isLoopback(_ host: String) -> Bool {
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        return bare == "localhost" || bare == "::1" || bare.hasPrefix("127.")
    }
}
