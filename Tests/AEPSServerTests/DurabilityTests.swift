@testable import AEPSServer
import AsyncHTTPClient
import EkoSigning
import Foundation
import GRDB
import HummingbirdTesting
import NIOCore
import Testing

/// "Every approval is synced to disk before it is answered", checked three ways: the writer's own pragma, the
/// WAL file holding the approval when the answer arrives, and the real binary's system calls.
@Suite struct DurabilityTests {
    @Test func theWriterConnectionRunsWithSynchronousFull() async throws {
        let server = try TestServer()
        #expect(try await server.database.writerSynchronous() == 2)  // FULL
    }

    /// Why `AppDatabase.open` sets it after opening: a plain pool leaves its writer at NORMAL, whatever
    /// `prepareDatabase` said. If GRDB ever changes this, this test says so.
    @Test func aPlainGRDBPoolLeavesItsWriterAtNormal() throws {
        let directory = try TemporaryDirectory()
        var configuration = AppDatabase.makeConfiguration()
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
        let pool = try DatabasePool(path: directory.path("plain.sqlite"), configuration: configuration)
        let level = try pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(level == 1)  // NORMAL: set by GRDB's WAL setup after prepareDatabase ran
    }

    @Test func anApprovalIsInTheFileWhenItsAnswerArrives() async throws {
        let server = try TestServer()
        try await server.addRetailer()
        let wal = server.config.databasePath + "-wal"
        @Sendable func walSize() -> Int { ((try? FileManager.default.attributesOfItem(atPath: wal))?[.size] as? Int) ?? 0 }
        try await server.makeApp().test(.live) { client in
            for index in 0..<5 {
                let before = walSize()
                let answer = try await postCallback(client, debitHookBody(clientRefID: "DURABLE\(index)"))
                #expect(answer.json["allow"] == .bool(true))
                #expect(walSize() > before, "the commit reached the WAL file before the answer")
                // A separate connection (another process would see the same) finds the approval.
                let stored = try await server.rows("SELECT decision FROM aeps_transaction WHERE client_ref_id = 'DURABLE\(index)'")
                #expect(stored == [["decision": "approved"]])
            }
        }
    }

    /// The real binary under strace: between two approvals' answers on the socket there is an fdatasync (or fsync)
    /// of the WAL file, i.e. each approval was synced before its answer was written.
    @Test func theRealServerSyncsEachApprovalBeforeWritingItsAnswer() async throws {
        let strace = try #require(
            ["/usr/bin/strace", "/bin/strace"].first { FileManager.default.isExecutableFile(atPath: $0) },
            "strace is needed (make test installs it)"
        )
        let cli = try CLIRunner()
        try cli.writeConfig(configJSON([
            "http": #"{"host": "127.0.0.1", "port": 0}"#,
            "database": #"{"path": "data/aeps.sqlite"}"#,
            "policy": #"{"require_session": false}"#,
        ]))
        #expect(try await cli.run(["retailer", "add", "--user-code", "20810200", "--name", "Test Shop"]).status == 0)
        let trace = cli.directory.path("trace.txt")
        let server = try RunningProcess(
            cli, ["serve"], environment: ["EKO_ACCESS_KEY": uatAccessKey],
            under: [strace, "-f", "-y", "-s", "16", "-e", "trace=fdatasync,fsync,write,writev,sendmsg,sendto", "-o", trace]
        )
        let port = try #require(Int(try await server.waitFor("listening on 127.0.0.1:")))
        // The server is strace's child: a tracer that is killed detaches rather than ending it, so whatever happens
        // below, the server itself is killed at the end.
        let tracer = server.process.processIdentifier
        let children = try String(contentsOfFile: "/proc/\(tracer)/task/\(tracer)/children", encoding: .utf8)
        let child = try #require(children.split(separator: " ").first.flatMap { pid_t($0) })
        defer { if server.process.isRunning { kill(child, SIGKILL) } }
        let approvals = 10
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            for index in 0..<approvals {
                var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/aeps/callback")
                request.method = .POST
                request.headers.add(name: "Origin", value: stageOrigin)
                request.headers.add(name: "Content-Type", value: "application/json")
                let customer = String(format: "\"98765432%02d\"", index)  // a fresh customer each: under the daily cap
                request.body = .bytes(ByteBuffer(string: debitHookBody(clientRefID: "SYNCED\(index)", customerID: customer, session: nil)))
                let response = try await client.execute(request, timeout: .seconds(30))
                let json = try JSONValue.parse(String(buffer: try await response.body.collect(upTo: 1 << 20)))
                #expect(json["allow"] == .bool(true))
            }
        } catch {
            Issue.record("request failed: \(error)")
        }
        try await client.shutdown()
        // SIGTERM to the server itself (strace's child); strace exits with it, with its status.
        kill(child, SIGTERM)
        for _ in 0..<1000 where server.process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        #expect(server.process.terminationStatus == 0)

        let lines = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n")
        var synced = false
        var answers = 0
        for line in lines {
            if (line.contains("fdatasync(") || line.contains("fsync(")) && line.contains("aeps.sqlite-wal>") {
                synced = true
            } else if line.contains("socket:["), line.contains("\"HTTP/1.1 200") {
                answers += 1
                #expect(synced, "answer \(answers) was written before any sync of the WAL since the one before")
                synced = false
            }
        }
        #expect(answers == approvals, "the trace shows every answer being written:\n\(lines.suffix(30).joined(separator: "\n"))")
    }
}
