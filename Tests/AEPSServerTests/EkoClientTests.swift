import AEPSServer
import AsyncHTTPClient
import EkoSigning
import Foundation
import GRDB
import Testing

/// Eko's Transaction Inquiry against a fake Eko API on loopback: real HTTP, real signatures, every call recorded.
@Suite struct EkoClientTests {
    @Test func aSuccessfulInquiryIsReadAndRecordedMasked() async throws {
        let bed = try await EkoTestBed.start()
        bed.fake.script("client_ref_id:AEPS1", .json(200, FakeEko.inquiry(txStatus: 0)))
        let outcome = await bed.client.inquire(clientRefID: "AEPS1")
        try await bed.stop()
        #expect(outcome == .answered(InquiryAnswer(
            status: 0, message: "Transaction inquiry successful", txStatus: 0, amountPaise: 50_000, tid: "3210000000",
            bankRefNum: "412345678901", commissionPaise: 150, tdsPaise: 8
        )))
        #expect(try await bed.calls() == [[
            "reference": "AEPS1", "attempt": "1", "http_status": "200", "outcome": "answered", "eko_status": "0", "tx_status": "0",
        ]])
        let body = try #require(try await bed.server.rows("SELECT body FROM eko_call").first?["body"] ?? nil)
        #expect(!body.contains("9876543210"))
        #expect(!body.contains("412345678901"))
        #expect(!bed.server.logs.text.contains(uatAccessKey))
    }

    @Test func byTidTheOtherPathIsAsked() async throws {
        let bed = try await EkoTestBed.start()
        bed.fake.script("3210000000", .json(200, FakeEko.inquiry(txStatus: 1)))
        let outcome = await bed.client.inquire(tid: "3210000000")
        try await bed.stop()
        guard case .answered(let answer) = outcome else { Issue.record("no answer: \(outcome)"); return }
        #expect(answer.txStatus == 1)
        #expect(bed.fake.calls == ["3210000000"])
    }

    @Test func a403IsExplainedAndNotRetried() async throws {
        let bed = try await EkoTestBed.start(accessKey: "11111111-2222-3333-4444-555555555555")
        let outcome = await bed.client.inquire(clientRefID: "AEPS1")
        try await bed.stop()
        #expect(outcome == .unavailable(reason: "HTTP 403: usually a wrong access key or a stale secret-key-timestamp (Eko FAQ)"))
        #expect(bed.fake.calls.count == 1)
        #expect(try await bed.calls().map { $0["outcome"] ?? nil } == ["forbidden"])
    }

    @Test func serverErrorsAreRetriedWithBackoffUntilAnAnswer() async throws {
        let bed = try await EkoTestBed.start()
        bed.fake.script("client_ref_id:AEPS1", .json(500, "oops"), .json(503, "busy"), .json(200, FakeEko.inquiry(txStatus: 2)))
        let outcome = await bed.client.inquire(clientRefID: "AEPS1")
        try await bed.stop()
        guard case .answered(let answer) = outcome else { Issue.record("no answer: \(outcome)"); return }
        #expect(answer.txStatus == 2)
        #expect(try await bed.calls().map { $0["outcome"] ?? nil } == ["http_error", "http_error", "answered"])
    }

    @Test func aMalformedBodyIsNotAnAnswer() async throws {
        let bed = try await EkoTestBed.start()
        bed.fake.script("client_ref_id:AEPS1", .body("<html>maintenance</html>"))
        let outcome = await bed.client.inquire(clientRefID: "AEPS1")
        try await bed.stop()
        guard case .unavailable = outcome else { Issue.record("expected no answer: \(outcome)"); return }
        #expect(try await bed.calls().map { $0["outcome"] ?? nil } == ["malformed"])
    }

    @Test func aSlowAPITimesOutAndIsRetried() async throws {
        let bed = try await EkoTestBed.start(readTimeoutMs: 300)
        bed.fake.script("client_ref_id:AEPS1", .slow(.seconds(3), FakeEko.inquiry(txStatus: 0)))
        let outcome = await bed.client.inquire(clientRefID: "AEPS1")
        try await bed.stop()
        guard case .unavailable = outcome else { Issue.record("expected no answer: \(outcome)"); return }
        #expect(try await bed.calls().map { $0["outcome"] ?? nil } == ["transport_error", "transport_error", "transport_error"])
    }

    @Test func anAPIThatIsDownIsTriedThreeTimes() async throws {
        let closed = try freeLoopbackPort()
        let bed = try await EkoTestBed.start(apiBase: "http://127.0.0.1:\(closed)/ekoapi/v1")
        let outcome = await bed.client.inquire(clientRefID: "AEPS1")
        try await bed.stop()
        guard case .unavailable(let reason) = outcome else { Issue.record("expected no answer: \(outcome)"); return }
        #expect(reason.hasPrefix("no answer from Eko"))
        #expect(try await bed.calls().count == EkoClient.maxAttempts)
    }

    @Test func theInquireCommandPrintsWhatEkoSaid() async throws {
        let fake = try await FakeEko.start()
        defer { fake.stop() }
        fake.script("client_ref_id:AEPS1", .json(200, FakeEko.inquiry(txStatus: 0)))
        let cli = try CLIRunner()
        try cli.writeConfig(configJSON([
            "database": #"{"path": "data/aeps.sqlite"}"#, "eko": "{\"api_base\": \"\(fake.apiBase)\"}",
        ]))
        let result = try await cli.run(["inquire", "AEPS1"], environment: ["EKO_ACCESS_KEY": uatAccessKey])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("tx_status: 0 (success)"))
        #expect(result.stdout.contains("amount ₹500.00, tid 3210000000"))
        let unknown = try await cli.run(["inquire", "NOPE"], environment: ["EKO_ACCESS_KEY": uatAccessKey])
        #expect(unknown.stdout.contains("Eko status 463 (Transaction not found)"))
        let wrongKey = try await cli.run(["inquire", "AEPS1"], environment: ["EKO_ACCESS_KEY": "11111111-2222-3333-4444-555555555555"])
        #expect(wrongKey.status != 0)
        #expect(wrongKey.stderr.contains("HTTP 403"))
    }
}
