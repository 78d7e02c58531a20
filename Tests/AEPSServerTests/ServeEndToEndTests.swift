import AEPSServer
import AsyncHTTPClient
import EkoSigning
import Foundation
import GRDB
import NIOCore
import NIOSSL
import Testing

/// The README's path, with the real binary: make a certificate, register a retailer, serve HTTPS on a free
/// loopback port, get a signed approval from the UAT gateway origin with full certificate verification, stop
/// with SIGTERM, and find the decision in the database file.
@Suite struct ServeEndToEndTests {
    @Test func aNewcomerGetsASignedApprovalOverHTTPSFromTheRealServer() async throws {
        let cli = try CLIRunner()
        try cli.writeConfig(configJSON([
            "http": #"{"host": "127.0.0.1", "port": 0}"#,
            "tls": #"{"certificate_chain": "dev-certs/localhost.pem", "private_key": "dev-certs/localhost-key.pem"}"#,
            "database": #"{"path": "data/aeps.sqlite"}"#,
        ]))
        #expect(try await cli.run(["dev-cert"]).status == 0)
        #expect(try await cli.run(["retailer", "add", "--user-code", "20810200", "--name", "Test Shop"]).status == 0)
        let created = try await cli.run(["api-key", "create", "--name", "portal"])
        let apiKey = try #require(created.stdout.split(separator: " ").last?.trimmingCharacters(in: .whitespacesAndNewlines))

        let server = try RunningProcess(cli, ["serve"], environment: ["EKO_ACCESS_KEY": uatAccessKey])
        let port = try #require(Int(try await server.waitFor("listening on 127.0.0.1:")))

        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(cli.directory.path("dev-certs/localhost.pem"))
        tls.certificateVerification = .fullVerification
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        do {
            // The partner's portal asks for a gateway configuration, as its page would before opening Eko's popup.
            var open = HTTPClientRequest(url: "https://localhost:\(port)/api/v1/gateway-sessions")
            open.method = .POST
            open.headers.add(name: "Authorization", value: "Bearer \(apiKey)")
            open.headers.add(name: "Content-Type", value: "application/json")
            open.body = .bytes(ByteBuffer(string: #"{"user_code": "20810200"}"#))
            let opened = try await client.execute(open, timeout: .seconds(30))
            #expect(opened.status == .ok)
            let configuration = try JSONValue.parse(String(buffer: try await opened.body.collect(upTo: 1 << 20)))
            let headersJSON = try #require(configuration["callback_url_custom_headers"]?.scalarText)
            let token = try #require(try JSONValue.parse(headersJSON)["X-AePS-Session"]?.scalarText)

            // Eko's gateway then calls the callback from the retailer's browser with that session header.
            var request = HTTPClientRequest(url: "https://localhost:\(port)/aeps/callback")
            request.headers.add(name: "X-AePS-Session", value: token)
            request.method = .POST
            request.headers.add(name: "Origin", value: stageOrigin)
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: debitHookBody(session: nil)))
            let response = try await client.execute(request, timeout: .seconds(30))
            let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
            #expect(response.status == .ok)
            #expect(response.headers["Access-Control-Allow-Origin"] == [stageOrigin])
            let json = try JSONValue.parse(text)
            #expect(json["allow"] == .bool(true))
            let timestamp = try #require(json["secret_key_timestamp"]?.scalarText)
            let age = Date().timeIntervalSince1970 * 1000 - (Double(timestamp) ?? 0)
            #expect(abs(age) < 60_000)  // a real, current timestamp from the system clock
            #expect(json["secret_key"] == .string(referenceHMAC(timestamp)))
            #expect(json["request_hash"] == .string(referenceHMAC(timestamp + "9876543210" + "500" + "20810200")))
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()

        #expect(try await server.terminate() == 0)
        #expect(!server.stderr.contains(uatAccessKey))
        let decisions = try await DatabaseQueue(path: cli.directory.path("data/aeps.sqlite")).read { db in
            try String.fetchAll(db, sql: "SELECT decision FROM aeps_transaction")
        }
        #expect(decisions == ["approved"])
        // A clean shutdown checkpoints the WAL and removes it.
        #expect(!FileManager.default.fileExists(atPath: cli.directory.path("data/aeps.sqlite-wal")))
    }

    @Test func serveStartsAndStopsCleanlyOverPlainHTTPForUseBehindAProxy() async throws {
        let cli = try CLIRunner()
        try cli.writeConfig(configJSON([
            "http": #"{"host": "127.0.0.1", "port": 0}"#, "database": #"{"path": "data/aeps.sqlite"}"#,
        ]))
        let server = try RunningProcess(cli, ["serve"], environment: ["EKO_ACCESS_KEY": uatAccessKey])
        let port = try #require(Int(try await server.waitFor("listening on 127.0.0.1:")))
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let response = try await client.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/readyz"), timeout: .seconds(30))
        #expect(response.status == .ok)
        try await client.shutdown()
        #expect(try await server.terminate() == 0)
    }
}
