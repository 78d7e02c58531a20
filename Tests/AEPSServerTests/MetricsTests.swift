import AEPSServer
import EkoSigning
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// One sample of the Prometheus text: `name{label="value",...} number`.
struct MetricSample: Equatable {
    var name: String
    var labels: [String: String]
    var value: Double
}

/// The Prometheus text format, parsed strictly: every line is a `# HELP`, a `# TYPE` or a sample; anything else
/// fails the test.
struct ParsedMetrics {
    var help: [String: String] = [:]
    var type: [String: String] = [:]
    var samples: [MetricSample] = []

    init(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.eE+-]+|\+Inf|NaN)$/
        let label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/
        for line in text.split(separator: "\n").map(String.init) {
            if line.hasPrefix("# HELP ") {
                let rest = line.dropFirst(7).split(separator: " ", maxSplits: 1)
                help[String(rest[0])] = rest.count > 1 ? String(rest[1]) : ""
            } else if line.hasPrefix("# TYPE ") {
                let rest = line.dropFirst(7).split(separator: " ")
                #expect(rest.count == 2, "bad TYPE line: \(line)", sourceLocation: sourceLocation)
                type[String(rest[0])] = String(rest[1])
            } else if let match = line.wholeMatch(of: sample) {
                var labels: [String: String] = [:]
                if let body = match.2 {
                    for found in body.matches(of: label) { labels[String(found.1)] = String(found.2) }
                }
                let value = Double(match.3) ?? (match.3 == "+Inf" ? .infinity : .nan)
                samples.append(MetricSample(name: String(match.1), labels: labels, value: value))
            } else {
                Issue.record("not a Prometheus text line: \(line)", sourceLocation: sourceLocation)
            }
        }
    }

    /// The value of the one sample with this name and exactly these labels.
    func value(_ name: String, _ labels: [String: String] = [:], sourceLocation: SourceLocation = #_sourceLocation)
        -> Double?
    {
        let found = samples.filter { $0.name == name && $0.labels == labels }
        #expect(found.count <= 1, "\(name) \(labels) appears \(found.count) times", sourceLocation: sourceLocation)
        return found.first?.value
    }
}

/// `GET /metrics` as a scraper on loopback (behind the test's trusted proxy) would call it.
func scrape(
    _ client: some TestClientProtocol, from address: String = "127.0.0.1", authorization: String? = nil
) async throws -> (status: HTTPResponse.Status, headers: HTTPFields, body: String) {
    var headers: HTTPFields = [HTTPField.Name("X-Forwarded-For")!: address]
    if let authorization { headers[.authorization] = authorization }
    return try await client.execute(uri: "/metrics", method: .get, headers: headers) { response in
        (response.status, response.headers, String(buffer: response.body))
    }
}

@Suite struct MetricsTests {
    static let trusted = #"{"trust_forwarded_for": true}"#

    /// Real callbacks through the router, then the scrape: the promised names with HELP and TYPE, the counts of
    /// what was sent, the histogram's buckets, and the gauges read from the database.
    @Test func theScrapeCountsWhatWasSentInPrometheusText() async throws {
        let server = try TestServer(overrides: ["http": Self.trusted])
        try await server.addRetailer()
        let clock = TestClock()
        try await server.makeApp(clock: { clock.now }).test(.router) { client in
            for (index, mobile) in ["9876543210", "9876543211", "9876543212"].enumerated() {
                let answer = try await postCallback(
                    client, debitHookBody(clientRefID: "MET-OK-\(index)", customerID: "\"\(mobile)\"")
                )
                #expect(answer.json["allow"] == .bool(true))
            }
            let low = try await postCallback(client, debitHookBody(clientRefID: "MET-LOW", amount: #""50""#))
            #expect(low.json["allow"] == .bool(false))
            let bad = try await postCallback(client, "{not json")
            #expect(bad.status == .badRequest)
            try await postCallback(client, ekoResponseBody(clientRefID: "MET-OK-0"))

            clock.advance(seconds: 600)
            let (status, headers, text) = try await scrape(client)
            #expect(status == .ok)
            #expect(headers[.contentType]?.hasPrefix("text/plain; version=0.0.4") == true)
            let parsed = ParsedMetrics(text)

            let promised: [String: String] = [
                "aeps_callbacks_total": "counter", "aeps_debit_hook_decisions_total": "counter",
                "aeps_debit_hook_duration_seconds": "histogram", "aeps_transactions": "gauge",
                "aeps_oldest_open_transaction_age_seconds": "gauge", "aeps_eko_inquiries_total": "counter",
                "aeps_eko_responses_total": "counter", "aeps_settlement_steps_total": "counter",
                "aeps_ledger_rows_total": "counter", "aeps_ledger_paise_total": "counter",
                "aeps_settlement_flags_total": "counter", "aeps_http_requests_total": "counter",
                "aeps_retention_removed_total": "counter",
            ]
            for (name, type) in promised {
                #expect(parsed.type[name] == type, "TYPE of \(name)")
                #expect(parsed.help[name]?.isEmpty == false, "HELP of \(name)")
            }
            // Every sample belongs to a family with a TYPE line.
            for sample in parsed.samples {
                let family = sample.name.replacing(/_(bucket|sum|count)$/, with: "")
                #expect(parsed.type[sample.name] != nil || parsed.type[family] == "histogram", "no TYPE for \(sample.name)")
            }

            #expect(parsed.value("aeps_callbacks_total", ["action": "debit_hook", "outcome": "approved"]) == 3)
            #expect(parsed.value("aeps_callbacks_total", ["action": "debit_hook", "outcome": "refused"]) == 1)
            #expect(parsed.value("aeps_callbacks_total", ["action": "other", "outcome": "rejected"]) == 1)
            #expect(parsed.value("aeps_callbacks_total", ["action": "eko_response", "outcome": "received"]) == 1)
            #expect(parsed.value("aeps_debit_hook_decisions_total", ["reason": "approved"]) == 3)
            #expect(parsed.value("aeps_debit_hook_decisions_total", ["reason": "amount_below_minimum"]) == 1)
            #expect(parsed.value("aeps_debit_hook_decisions_total", ["reason": "storage_timeout"]) == 0)
            #expect(parsed.value("aeps_eko_responses_total", ["outcome": "inquiry_queued"]) == 1)

            // The histogram: every promised bucket (seconds), cumulative, +Inf equal to the count of hooks decided.
            let buckets = parsed.samples.filter { $0.name == "aeps_debit_hook_duration_seconds_bucket" }
            #expect(buckets.map { $0.labels["le"] ?? "" } == AppMetrics.debitHookBuckets.map { "\($0)" } + ["+Inf"])
            #expect(zip(buckets, buckets.dropFirst()).allSatisfy { $0.value <= $1.value })
            #expect(buckets.last?.value == 4)
            #expect(parsed.value("aeps_debit_hook_duration_seconds_count") == 4)
            #expect((parsed.value("aeps_debit_hook_duration_seconds_sum") ?? -1) >= 0)

            // Gauges from the database: three approved (the report only asked Eko), one refused; the oldest open
            // one was decided 600 s ago by the test's clock.
            #expect(parsed.value("aeps_transactions", ["state": "approved"]) == 3)
            #expect(parsed.value("aeps_transactions", ["state": "refused"]) == 1)
            #expect(parsed.value("aeps_transactions", ["state": "settled"]) == 0)
            #expect(parsed.value("aeps_oldest_open_transaction_age_seconds") == 600)

            // Route patterns, never raw paths.
            #expect(parsed.value(
                "aeps_http_requests_total", ["route": "/aeps/callback", "method": "POST", "status_class": "2xx"]
            ) == 5)
        }
    }

    /// Hooks with distinct ids, mobiles and retailers: none of those values ever becomes a label or a line.
    @Test func noLabelValueIsAnIdentifierOrAMobile() async throws {
        let server = try TestServer(overrides: ["http": Self.trusted])
        try await server.addRetailer()
        try await server.makeApp().test(.router) { client in
            var secrets: [String] = ["20810200", defaultGatewayToken]
            for index in 0..<6 {
                let reference = "PRIV\(index)Q7\(UUID().uuidString.prefix(8))"
                let mobile = "98\(String(format: "%08d", 31_337 + index * 1_111))"
                secrets += [reference, mobile]
                try await postCallback(
                    client, debitHookBody(clientRefID: reference, amount: index == 5 ? #""7""# : #""500""#, customerID: "\"\(mobile)\"")
                )
            }
            // Unknown actions, unknown users, and an eko-response for an unknown id: still only fixed labels.
            try await postCallback(client, #"{"action": "steal-9988776655", "detail": {}}"#)
            try await postCallback(client, debitHookBody(clientRefID: "PRIV-UNKNOWN-USER", userCode: #""55554444""#))
            try await postCallback(client, ekoResponseBody(clientRefID: "PRIV-NEVER-DECIDED"))
            secrets += ["steal", "9988776655", "55554444", "PRIV-UNKNOWN-USER", "PRIV-NEVER-DECIDED"]

            let (status, _, text) = try await scrape(client)
            #expect(status == .ok)
            for secret in secrets { #expect(!text.contains(secret), "metrics text contains \(secret)") }
            let parsed = ParsedMetrics(text)
            #expect(parsed.value("aeps_callbacks_total", ["action": "other", "outcome": "rejected"]) == 1)
            let allowedLabelKeys: Set<String> = ["action", "outcome", "reason", "state", "result", "kind", "route", "method",
                                                 "status_class", "table", "le"]
            for sample in parsed.samples {
                #expect(Set(sample.labels.keys).isSubset(of: allowedLabelKeys), "\(sample.name) \(sample.labels)")
            }
        }
    }

    @Test func onlyAllowedAddressesMayScrape() async throws {
        let server = try TestServer(overrides: ["http": Self.trusted])
        try await server.makeApp().test(.router) { client in
            #expect(try await scrape(client, from: "127.0.0.1").status == .ok)
            #expect(try await scrape(client, from: "::1").status == .ok)
            let refused = try await scrape(client, from: "203.0.113.9")
            #expect(refused.status == .forbidden)
            let json = try JSONValue.parse(refused.body)
            #expect(json["error"] == .string("forbidden"))
            #expect(!refused.body.contains("aeps_"))
        }

        let listed = try TestServer(overrides: [
            "http": Self.trusted, "metrics": #"{"allowed_addresses": ["10.1.0.0/16", "2001:db8::/32"]}"#,
        ])
        try await listed.makeApp().test(.router) { client in
            for (address, expected) in [
                ("10.1.200.3", HTTPResponse.Status.ok), ("2001:db8::77", .ok), ("10.2.0.1", .forbidden), ("127.0.0.1", .forbidden),
            ] {
                let status = try await scrape(client, from: address).status
                #expect(status == expected, "\(address)")
            }
        }
    }

    /// Without a trusted proxy the peer's address decides (the test router has none: refused), and a forwarded
    /// address is ignored rather than believed.
    @Test func aForwardedAddressIsNotBelievedWithoutATrustedProxy() async throws {
        let server = try TestServer()
        try await server.makeApp().test(.router) { client in
            let status = try await scrape(client, from: "127.0.0.1").status
            #expect(status == .forbidden)
        }
        // Over a real socket from loopback: allowed, unless the request says it came through a proxy (then the
        // loopback peer is the proxy, and the client may be anyone).
        try await server.makeApp().test(.live) { client in
            let direct = try await client.execute(uri: "/metrics", method: .get) { $0.status }
            #expect(direct == .ok)
            let proxied = try await scrape(client, from: "127.0.0.1").status
            #expect(proxied == .forbidden)
        }
        let access = MetricsAccess(allowedAddresses: IPAddressRange.loopback, token: nil)
        #expect(access.check(address: "127.0.0.1", proxiedButUntrusted: false, authorization: nil) == .allowed)
        if case .forbidden = access.check(address: "127.0.0.1", proxiedButUntrusted: true, authorization: nil) {
        } else {
            Issue.record("a proxied request from loopback was allowed without a trusted proxy")
        }
    }

    @Test func theBearerTokenFromItsFileOpensTheScrapeFromAnywhere() async throws {
        let folder = try TemporaryDirectory()
        let token = "metrics-token-0123456789abcdef"
        let tokenFile = folder.path("metrics.token")
        try Data("\(token)\n".utf8).write(to: URL(fileURLWithPath: tokenFile))
        let server = try TestServer(overrides: [
            "http": Self.trusted, "metrics": "{\"allowed_addresses\": [], \"bearer_token_file\": \"\(tokenFile)\"}",
        ])
        try await server.makeApp().test(.router) { client in
            let right = try await scrape(client, from: "203.0.113.9", authorization: "Bearer \(token)")
            #expect(right.status == .ok)
            #expect(right.body.contains("# TYPE aeps_callbacks_total counter"))

            let wrong = try await scrape(client, from: "203.0.113.9", authorization: "Bearer \(token)x")
            #expect(wrong.status == .unauthorized)
            #expect(wrong.headers[.wwwAuthenticate] == "Bearer")
            let wrongJSON = try JSONValue.parse(wrong.body)
            #expect(wrongJSON["error"] == .string("unauthorized"))
            #expect(!wrong.body.contains(token))

            let missing = try await scrape(client, from: "203.0.113.9")
            #expect(missing.status == .unauthorized)
            let missingJSON = try JSONValue.parse(missing.body)
            #expect(missingJSON["error"] == .string("unauthorized"))

            // Loopback is not allowed here (the list is empty): the token is the only way in.
            #expect(try await scrape(client, from: "127.0.0.1").status == .unauthorized)
            #expect(try await scrape(client, from: "127.0.0.1", authorization: "Basic \(token)").status == .unauthorized)
        }
    }

    @Test func badMetricsSettingsStopTheServerWithOneLineNamingTheKey() throws {
        #expect(throws: ConfigError(
            key: "metrics.allowed_addresses",
            "expected IP addresses or CIDR ranges like 10.0.0.0/8 or ::1, got \"10.0.0.0/33\""
        )) {
            try AppConfig.parse(Data(configJSON(["metrics": #"{"allowed_addresses": ["10.0.0.0/33"]}"#]).utf8))
        }
        #expect(throws: ConfigError.self) {
            try AppConfig.parse(Data(configJSON(["metrics": #"{"allowed": ["10.0.0.0/8"]}"#]).utf8))
        }
        let server = try TestServer(overrides: ["metrics": #"{"bearer_token_file": "/nonexistent/metrics.token"}"#])
        do {
            _ = try server.makeApp()
            Issue.record("an unreadable metrics.bearer_token_file was accepted")
        } catch let error as ConfigError {
            #expect(error.key == "metrics.bearer_token_file")
            #expect(!error.description.contains("\n"))
        }
    }

    @Test func addressRangesMatchTheirMembersOnly() throws {
        let v4 = try #require(IPAddressRange("192.168.4.0/22"))
        #expect(v4.contains("192.168.7.255"))
        #expect(!v4.contains("192.168.8.0"))
        #expect(v4.contains("::ffff:192.168.5.1"))
        let single = try #require(IPAddressRange("::1"))
        #expect(single.contains("::1"))
        #expect(!single.contains("::2"))
        #expect(!single.contains("127.0.0.1"))
        for bad in ["", "10.0.0.0/", "10.0.0.0/+8", "example.com", "10.0.0.0/8/8", "::1/129"] {
            #expect(IPAddressRange(bad) == nil, "\(bad) parsed")
        }
        #expect(IPAddressRange("10.9.8.7/8")?.description == "10.0.0.0/8")
    }
}
