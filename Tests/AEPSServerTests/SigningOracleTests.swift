@testable import AEPSServer
import EkoSigning
import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Logging
import NIOConcurrencyHelpers
import Testing

/// A clock the test sets.
final class SettableClock: Sendable {
    private let now: NIOLockedValueBox<Date>
    init(_ start: Date = pinnedNow) { now = NIOLockedValueBox(start) }
    func read() -> Date { now.withLockedValue { $0 } }
    func advance(_ seconds: TimeInterval) { now.withLockedValue { $0 = $0.addingTimeInterval(seconds) } }
}

/// Issue 8, "Sign only what was decided": each sequence the outside review reproduced over HTTP, now refused with
/// its reason code, and never a signature over values the policy did not check and approve at that moment.
@Suite struct SigningOracleTests {
    /// A hook body with free `data` members and `request_hash_params` (finding 1 needs names the helper lacks).
    static func hook(ref: String = "ORACLE1", params: [String], data: String, session: String = defaultGatewayToken) -> String {
        let list = params.map { "\"\($0)\"" }.joined(separator: ", ")
        return """
            {"action": "debit-hook", "detail": {"client_ref_id": "\(ref)", "request_hash_params": [\(list)], \
            "data": {\(data)}}, "aeps_session": "\(session)"}
            """
    }

    static func reason(_ server: TestServer, _ ref: String) async throws -> String? {
        try await server.rows("SELECT reason FROM aeps_transaction WHERE client_ref_id = '\(ref)'").first?["reason"] ?? nil
    }

    // MARK: 1. request_hash_params is the server's, not the request's

    @Test(arguments: [
        ("any name", ["x"], #""type": "2", "amount": "500", "customer_id": "9876543210", "user_code": "20810200", "x": "anything to sign""#),
        ("an empty list", [], #""type": "2", "amount": "500", "customer_id": "9876543210", "user_code": "20810200""#),
        ("a name twice", ["customer_id", "amount", "amount", "user_code"],
         #""type": "2", "amount": "500", "customer_id": "9876543210", "user_code": "20810200""#),
        ("a withdrawal without amount", ["customer_id", "user_code"],
         #""type": "2", "amount": "500", "customer_id": "9876543210", "user_code": "20810200""#),
        ("the right names in another order", ["user_code", "amount", "customer_id"],
         #""type": "2", "amount": "500", "customer_id": "9876543210", "user_code": "20810200""#),
        ("type flip: ₹50,000 under a balance enquiry", ["customer_id", "amount", "user_code"],
         #""type": "3", "amount": "50000", "customer_id": "9876543210", "user_code": "20810200""#),
    ] as [(String, [String], String)])
    func aListOtherThanTheServersIsRefusedAndRecorded(_ label: String, params: [String], data: String) async throws {
        let server = try TestServer()
        try await server.addRetailer()
        try await server.makeApp().test(.router) { client in
            let answer = try await postCallback(client, Self.hook(params: params, data: data))
            #expect(answer.json["allow"] == .bool(false))
            #expect(answer.json["request_hash"] == nil)
            #expect(answer.json["secret_key"] == nil)
            #expect(answer.json["message"] == .string(RefusalCode.hashParamsUnexpected.message))
        }
        let sent = JSONValue.array(params.map(JSONValue.string)).serialized()
        #expect(try await server.rows("SELECT reason, hash_params_sent FROM aeps_transaction")
            == [["reason": "hash_params_unexpected", "hash_params_sent": sent]])
    }

    @Test func aChangedServerListIsWhatIsSigned() async throws {
        // The day Eko changes the list, the operator changes policy.hash_params; the server signs its own list.
        let server = try TestServer(overrides: ["policy": #"{"hash_params": {"2": ["user_code", "amount", "customer_id"]}}"#])
        try await server.addRetailer()
        try await server.makeApp().test(.router) { client in
            let old = try await postCallback(client, debitHookBody(clientRefID: "OLD"))
            #expect(old.json["allow"] == .bool(false))
            let new = try await postCallback(client, debitHookBody(clientRefID: "NEW", params: ["user_code", "amount", "customer_id"]))
            #expect(new.json["request_hash"] == .string(referenceHMAC("1700000000000" + "20810200" + "500" + "9876543210")))
        }
    }

    // MARK: 2, 3. Type flip and boundary shift

    @Test func aBalanceEnquiryCarryingAnAmountIsRefusedWhateverItLists() async throws {
        let server = try TestServer()
        try await server.addRetailer()
        try await server.makeApp().test(.router) { client in
            let answer = try await postCallback(
                client, debitHookBody(type: #""3""#, amount: #""50000""#, params: ["customer_id", "user_code"])
            )
            #expect(answer.json["allow"] == .bool(false))
            #expect(answer.json["request_hash"] == nil)
        }
        #expect(try await Self.reason(server, "AEPS1700000000123") == "invalid_amount")
    }

    @Test(arguments: [
        ("a leading zero", #""9876543210""#, #""0500""#, "invalid_amount"),
        ("paise", #""9876543210""#, #""500.00""#, "invalid_amount"),
        ("a 9-digit customer and a leading-zero amount", #""987654321""#, #""0500""#, "invalid_customer_id"),
        ("an 11-digit customer", #""98765432105""#, #""00""#, "invalid_customer_id"),
        ("a customer with a space", #"" 987654321""#, #""500""#, "invalid_customer_id"),
    ])
    func valuesWithMoreThanOneReadingAreRefused(_ label: String, customer: String, amount: String, reason: String) async throws {
        let server = try TestServer()
        try await server.addRetailer()
        try await server.makeApp().test(.router) { client in
            let answer = try await postCallback(client, debitHookBody(amount: amount, customerID: customer))
            #expect(answer.json["allow"] == .bool(false))
            #expect(answer.json["request_hash"] == nil)
        }
        #expect(try await Self.reason(server, "AEPS1700000000123") == reason)
    }

    @Test func theCustomerCapCountsTheCustomerTheSignatureNames() async throws {
        // "987654321" + "0500" concatenates like "9876543210" + "500": only the canonical pair is ever approved, so
        // the cap counts the customer whose number is signed.
        let server = try TestServer(overrides: ["policy": #"{"max_withdrawals_per_customer_per_day": 1}"#])
        try await server.addRetailer()
        try await server.makeApp().test(.router) { client in
            let first = try await postCallback(client, debitHookBody(clientRefID: "C1"))
            #expect(first.json["allow"] == .bool(true))
            let shifted = try await postCallback(client, debitHookBody(clientRefID: "C2", amount: #""0500""#, customerID: #""987654321""#))
            #expect(shifted.json["allow"] == .bool(false))
            let again = try await postCallback(client, debitHookBody(clientRefID: "C3"))
            #expect(again.json["message"] == .string(RefusalCode.customerDailyLimit.message))
        }
    }

    // MARK: 4. Repeats are re-decided against the present

    enum Change: String, CaseIterable, Sendable {
        case killSwitch, retailerPaused, retailerDisabled, resultReported, sessionRevoked, sessionExpired, windowPassed
    }

    @Test(arguments: Change.allCases)
    func aRepeatIsRefusedOnceTheApprovalNoLongerHolds(_ change: Change) async throws {
        let server = try TestServer()
        try await server.addRetailer()
        let clock = SettableClock()
        // For the expiry case the first answer comes 100 s before the session ends, inside the repeat window.
        if change == .sessionExpired { clock.advance(800) }
        try await server.makeApp(clock: { clock.read() }).test(.router) { client in
            let first = try await postCallback(client, debitHookBody())
            #expect(first.json["allow"] == .bool(true))
            clock.advance(10)
            let fresh = try await postCallback(client, debitHookBody())
            #expect(fresh.json["allow"] == .bool(true), "the very same request within the window is answered again")
            #expect(fresh.json["secret_key_timestamp"] == .string(EkoTimestamp.milliseconds(clock.read())))

            let expected: RefusalCode
            switch change {
            case .killSwitch:
                try await server.database.setServicePaused(true, now: pinnedNow)
                expected = .servicePaused
            case .retailerPaused:
                try await server.database.setRetailerPaused(userCode: "20810200", paused: true, now: pinnedNow)
                expected = .retailerPaused
            case .retailerDisabled:
                try await server.database.setRetailerActive(userCode: "20810200", active: false, now: pinnedNow)
                expected = .retailerDisabled
            case .resultReported:
                _ = try await postCallback(client, ekoResponseBody(txStatus: #""2""#))
                expected = .repeatAfterResult
            case .sessionRevoked:
                let retailer = try #require(try await server.database.retailer(userCode: "20810200"))
                try await server.database.revokeGatewaySessions(retailerID: retailer.id!, now: clock.read())
                expected = .sessionRevoked
            case .sessionExpired:
                clock.advance(90)
                expected = .sessionExpired
            case .windowPassed:
                clock.advance(111)  // 121 s after the first answer
                expected = .repeatWindowPassed
            }
            let repeated = try await postCallback(client, debitHookBody())
            #expect(repeated.json["allow"] == .bool(false))
            #expect(repeated.json["request_hash"] == nil)
            // A disabled retailer's session is revoked with it, so either reason may come first.
            let acceptable = change == .retailerDisabled
                ? [expected.message, RefusalCode.sessionRevoked.message] : [expected.message]
            #expect(acceptable.map(JSONValue.string).contains(repeated.json["message"] ?? .null))
        }
        // The first approval stays as it was: its signature may be in use at Eko.
        #expect(try await server.rows("SELECT decision, reason FROM aeps_transaction") == [["decision": "approved", "reason": "approved"]])
    }

    @Test func aRepeatUnderAnotherSessionOrWithAnotherRequestIsRefused() async throws {
        let server = try TestServer()
        try await server.addRetailer()
        try await server.addRetailer("30920300", name: "Other", token: "gs_other-token-0123456789")
        try await server.makeApp().test(.router) { client in
            _ = try await postCallback(client, debitHookBody())
            let otherSession = try await postCallback(
                client, debitHookBody(userCode: #""30920300""#, session: "gs_other-token-0123456789")
            )
            #expect(otherSession.json["message"] == .string(RefusalCode.clientRefIDOtherSession.message))
            let noSession = try await postCallback(client, debitHookBody(session: nil))
            #expect(noSession.json["allow"] == .bool(false))
            let otherAmount = try await postCallback(client, debitHookBody(amount: #""1000""#))
            #expect(otherAmount.json["message"] == .string(RefusalCode.clientRefIDConflict.message))
        }
    }

    @Test func aRepeatIsNeverCountedTwice() async throws {
        let server = try TestServer(overrides: ["policy": #"{"max_withdrawals_per_customer_per_day": 2, "max_transactions_per_session": 2}"#])
        try await server.addRetailer()
        try await server.makeApp().test(.router) { client in
            #expect(try await postCallback(client, debitHookBody(clientRefID: "N1")).json["allow"] == .bool(true))
            #expect(try await postCallback(client, debitHookBody(clientRefID: "N2")).json["allow"] == .bool(true))
            // The second is at both caps; its repeat is judged against the others only, so it still holds.
            #expect(try await postCallback(client, debitHookBody(clientRefID: "N2")).json["allow"] == .bool(true))
            #expect(try await postCallback(client, debitHookBody(clientRefID: "N1")).json["allow"] == .bool(true))
            let third = try await postCallback(client, debitHookBody(clientRefID: "N3"))
            #expect(third.json["allow"] == .bool(false))
        }
        #expect(try await server.rows("SELECT COUNT(*) AS n FROM aeps_transaction WHERE decision = 'approved'") == [["n": "2"]])
    }

    // MARK: 7. Identifiers and unauthenticated input have bounds

    @Test(arguments: [
        ("NUL", #""X\u0000one""#, "control_character"),
        ("newline", #""X\none""#, "control_character"),
        ("escape sequence", #""X\u001b[31mred""#, "control_character"),
        ("a space", #""X one""#, "invalid_identifier"),
        ("non-ASCII", #""X\u00e9""#, "invalid_identifier"),
        ("60,000 characters", "\"" + String(repeating: "A", count: 60_000) + "\"", "field_too_long"),
    ])
    func aClientRefIDOutOfBoundsIsRefusedAndNothingIsStoredUnderIt(_ label: String, id: String, code: String) async throws {
        let server = try TestServer()
        try await server.addRetailer()
        let body = debitHookBody(clientRefID: "PLACEHOLDER").replacingOccurrences(of: "\"PLACEHOLDER\"", with: id)
        try await server.makeApp().test(.router) { client in
            let answer = try await postCallback(client, body)
            #expect(answer.status == .badRequest)
            #expect(answer.json["error"] == .string(code))
            #expect(answer.headers[.accessControlAllowOrigin] == stageOrigin)
        }
        #expect(try await server.rows("SELECT id FROM aeps_transaction").isEmpty)
        let logged = try await server.rows("SELECT reason, body, length(client_ref_id) AS n, client_ref_id FROM callback_log")
        #expect(logged.count == 1)
        #expect(logged.first?["reason"] == code)
        #expect(logged.first?["body"] == .some(nil))
        let stored = try #require(logged.first?["client_ref_id"] ?? nil)
        #expect(stored.count <= DebitHook.maxClientRefIDLength + 1)
        #expect(stored.unicodeScalars.allSatisfy { (0x20...0x7E).contains($0.value) || $0 == "…" })
        #expect(!server.logs.text.unicodeScalars.contains { $0.properties.generalCategory == .control && $0 != "\n" })
    }

    @Test func nulVariantsOfOneIDAreNotAnsweredAsRepeats() async throws {
        let server = try TestServer()
        try await server.addRetailer()
        try await server.makeApp().test(.router) { client in
            #expect(try await postCallback(client, debitHookBody(clientRefID: "X")).json["allow"] == .bool(true))
            for suffix in ["one", "two", "three"] {
                let body = debitHookBody(clientRefID: "PLACEHOLDER").replacingOccurrences(of: "PLACEHOLDER", with: #"X\u0000"# + suffix)
                let answer = try await postCallback(client, body)
                #expect(answer.json["request_hash"] == nil)
            }
        }
        #expect(try await server.rows("SELECT client_ref_id FROM aeps_transaction") == [["client_ref_id": "X"]])
    }

    @Test(arguments: ["user_code", "token"])
    func otherIdentifiersAreBoundedToo(_ field: String) async throws {
        let server = try TestServer()
        try await server.addRetailer()
        let body = field == "user_code"
            ? debitHookBody(userCode: #""2081\u00000200""#)
            : debitHookBody(session: String(repeating: "g", count: 200))
        try await server.makeApp().test(.router) { client in
            let answer = try await postCallback(client, body)
            #expect(answer.status == .badRequest)
        }
        #expect(try await server.rows("SELECT id FROM aeps_transaction").isEmpty)
    }

    @Test func aFloodWithoutASessionLeavesBoundedRowsAndACountPerSource() async throws {
        let server = try TestServer(overrides: ["http": #"{"trust_forwarded_for": true}"#])
        try await server.addRetailer()
        let flood = 2 * AppDatabase.unboundRowsPerSourcePerHour + 30
        try await server.makeApp().test(.router) { client in
            var headers = gatewayHeaders()
            headers[.init("X-Forwarded-For")!] = "203.0.113.9"
            let padding = String(repeating: "p", count: 50_000)
            for index in 0..<flood {
                let body = debitHookBody(
                    clientRefID: "FLOOD\(index)", session: "gs_forged-\(index)", extraTopLevel: #", "pad": "\#(padding)""#
                )
                let answer = try await postCallback(client, body, headers: headers)
                #expect(answer.json["allow"] == .bool(false))
            }
            // Another source is still logged: one sender cannot hide the others.
            headers[.init("X-Forwarded-For")!] = "198.51.100.7"
            _ = try await postCallback(client, debitHookBody(clientRefID: "OTHER", session: "gs_forged"), headers: headers)
        }
        #expect(try await server.rows("SELECT COUNT(*) AS n FROM aeps_transaction") == [["n": "0"]])
        let logged = try await server.rows("SELECT remote_address, COUNT(*) AS n, MAX(length(body)) AS body FROM callback_log GROUP BY remote_address ORDER BY remote_address")
        #expect(logged == [
            ["remote_address": "198.51.100.7", "n": "1", "body": nil],
            ["remote_address": "203.0.113.9", "n": "\(AppDatabase.unboundRowsPerSourcePerHour)", "body": nil],
        ])
        let sources = try await server.database.unboundSources(since: pinnedNow.addingTimeInterval(-3600))
        #expect(sources.first?.source == "203.0.113.9")
        #expect(sources.first?.requests == flood)
        #expect(sources.first?.logged == AppDatabase.unboundRowsPerSourcePerHour)
        #expect((sources.first?.bytes ?? 0) > flood * 50_000)
    }

    @Test func aBodyThatDoesNotParseIsKeptAsSizeAndDigestOnly() async throws {
        let server = try TestServer()
        let text = #"{"action": "debit-hook", "aeps_session": "gs_secret-token-in-a-broken-body", "customer_id": "9876543210""#
        try await server.makeApp().test(.router) { client in
            let answer = try await postCallback(client, text)
            #expect(answer.status == .badRequest)
        }
        let rows = try await server.rows("SELECT body, body_bytes, body_digest FROM callback_log")
        #expect(rows == [["body": nil, "body_bytes": "\(text.utf8.count)", "body_digest": SecretToken.hash(text)]])
    }

    @Test func logsStayOnePrintableLine() {
        let capture = LogCapture()
        var logger = Logger(label: "t") { _ in PrintableLogHandler(wrapping: capture.handler()) }
        logger.logLevel = .info
        logger.info("line\nforged", metadata: ["origin": "\u{1b}[2Jx\r\ninjected", "list": .array([.string("a\u{0}b")])])
        #expect(capture.all.count == 1)
        #expect(!capture.text.unicodeScalars.contains { $0.properties.generalCategory == .control })
        #expect(capture.text.contains(#"line\u{a}forged"#))
        #expect(capture.text.contains(#"\u{1b}[2Jx\u{d}\u{a}injected"#))
    }

    // MARK: 6 (budget). An approval is committed only if it is the answer

    @Test func theAnswerGateGoesToWhoeverClaimsFirst() {
        let decided = AnswerGate()
        #expect(decided.claimForDecision())
        #expect(!decided.claimForTimeout())
        #expect(decided.claimForDecision())
        let timedOut = AnswerGate()
        #expect(timedOut.claimForTimeout())
        #expect(!timedOut.claimForDecision())
    }

    @Test func underATightBudgetEveryStoredApprovalWasAnsweredAsOne() async throws {
        let server = try TestServer(overrides: ["policy": #"{"decision_budget_ms": 100, "max_transactions_per_session": 1000}"#])
        try await server.addRetailer()
        let answers = NIOLockedValueBox<[String: Bool]>([:])
        try await server.makeApp().test(.live) { client in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<120 {
                    group.addTask {
                        let ref = "TIGHT\(index)"
                        let customer = String(format: "\"9%09d\"", index)
                        let answer = try await postCallback(client, debitHookBody(clientRefID: ref, customerID: customer))
                        answers.withLockedValue { $0[ref] = answer.json["allow"] == .bool(true) }
                    }
                }
                try await group.waitForAll()
            }
        }
        let stored = try await server.rows("SELECT client_ref_id FROM aeps_transaction WHERE decision = 'approved'")
        let approvedAnswers = Set(answers.withLockedValue { $0 }.filter(\.value).keys)
        #expect(Set(stored.compactMap { $0["client_ref_id"] ?? nil }) == approvedAnswers)
    }
}

// MARK: - Property: random hooks, a model of the rules, and the signature

/// A deterministic generator, so a failing run can be replayed from its seed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct SigningPropertyTests {
    static let seed: UInt64 = 0x8A_E9_5E_ED

    @Test func everyApprovalSignsExactlyTheServersValuesAndOnlyWhatThePolicyAllowsNow() async throws {
        let server = try TestServer(overrides: ["policy": #"{"max_transactions_per_session": 1000, "max_withdrawals_per_customer_per_day": 3}"#])
        // A gateway session that outlives the run's simulated hours.
        let retailer = try await server.database.addRetailer(userCode: "20810200", name: "Test Shop", now: pinnedNow)
        _ = try await server.database.createGatewaySession(
            retailer: retailer, tokenHash: SecretToken.hash(defaultGatewayToken), environment: "uat", issuedVia: "test",
            now: pinnedNow, ttlSeconds: 86_400
        )
        let clock = SettableClock()
        let (approvals, refusals) = try await server.makeApp(clock: { clock.read() }).test(.router) { client in
            var random = SplitMix64(state: Self.seed)
            let table = PolicyConfig.ekoHashParams
            // The model: what the test itself knows about the world, independently of the server.
            var paused = false
            var approvedPerCustomer: [String: Int] = [:]
            var firstAnswers: [String: (body: String, at: Date, approved: Bool, reported: Bool)] = [:]
            var approvals = 0
            var refusals = 0
            let badCustomers = ["987654321", "98765432100", "09876543210", " 987654321", "98765 43210"]
            let goodAmounts = ["500", "100", "10000", "150", "2500"]
            let badAmounts: [String?] = ["10050", "0500", "500.00", "50000", "125", "0", "", nil, "-500", " 500", "50"]
            let lists: [[String]] = [
                ["customer_id", "amount", "user_code"], ["customer_id", "user_code"], ["x"], [],
                ["customer_id", "amount", "amount", "user_code"], ["amount", "customer_id", "user_code"],
            ]
            for step in 0..<2500 {
                if Int.random(in: 0..<40, using: &random) == 0 {
                    paused.toggle()
                    try await server.database.setServicePaused(paused, now: clock.read())
                }
                clock.advance(Double(Int.random(in: 0...20, using: &random)))
                let repeatEarlier = !firstAnswers.isEmpty && Int.random(in: 0..<4, using: &random) == 0
                let ref: String
                let body: String
                if repeatEarlier {
                    ref = firstAnswers.keys.sorted()[Int.random(in: 0..<firstAnswers.count, using: &random)]
                    body = firstAnswers[ref]!.body
                } else {
                    ref = "P\(step)"
                    // Mostly valid values, so approvals are common and every rule is exercised at its edge.
                    func likely(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &random) < percent }
                    let type = ["2", "2", "2", "3", "4", "5", "02"].randomElement(using: &random)!
                    let amount: String? = type == "2"
                        ? (likely(70) ? goodAmounts.randomElement(using: &random)! : badAmounts.randomElement(using: &random)!)
                        : (likely(70) ? [nil, "", "0"].randomElement(using: &random)! : badAmounts.randomElement(using: &random)!)
                    let customer = likely(85)
                        ? "98765432" + String(format: "%02d", Int.random(in: 0..<40, using: &random))
                        : badCustomers.randomElement(using: &random)!
                    let list = likely(80) ? (table[Int(type) ?? 0] ?? lists[0]) : lists.randomElement(using: &random)!
                    body = debitHookBody(
                        clientRefID: ref, type: "\"\(type)\"", amount: amount.map { "\"\($0)\"" },
                        customerID: "\"\(customer)\"", params: list
                    )
                }
                let answer = try await postCallback(client, body)
                let detail = try #require(try JSONValue.parse(body)["detail"])
                let data = try #require(detail["data"])
                let type = data["type"]?.scalarText ?? ""
                let amount = data["amount"]?.scalarText
                let customer = data["customer_id"]?.scalarText ?? ""
                let list = detail["request_hash_params"].flatMap { value -> [String]? in
                    if case .array(let items) = value { return items.compactMap(\.scalarText) }
                    return nil
                } ?? []
                let approved = answer.json["allow"] == .bool(true)
                guard approved else {
                    refusals += 1
                    if firstAnswers[ref] == nil { firstAnswers[ref] = (body, clock.read(), false, false) }
                    continue
                }
                approvals += 1
                // The model's own reading of the rules: every approval must satisfy all of them, now.
                let typeNumber = Int(type)
                let fields = try #require(typeNumber.flatMap { table[$0] }, "approved a type outside the table: \(type)")
                #expect(["2", "3", "4"].contains(type))
                #expect(list == fields, "approved a list the server does not hold: \(list)")
                #expect(customer.count == 10 && customer.allSatisfy(\.isNumber) && customer.first != nil)
                #expect(!paused, "approved while the kill switch was on")
                if type == "2" {
                    let rupees = try #require(amount.flatMap { Int($0) }, "approved a withdrawal without an amount")
                    #expect(amount == String(rupees) && (100...10_000).contains(rupees) && rupees % 50 == 0)
                } else {
                    #expect(amount == nil || amount == "" || amount == "0")
                }
                if let first = firstAnswers[ref] {
                    #expect(first.body == body && first.approved && !first.reported)
                    #expect(clock.read().timeIntervalSince(first.at) <= 120)
                } else {
                    firstAnswers[ref] = (body, clock.read(), true, false)
                    if type == "2" {
                        approvedPerCustomer[customer, default: 0] += 1
                        #expect(approvedPerCustomer[customer]! <= 3, "the customer cap was passed")
                    }
                }
                // The signature covers exactly the server's values for the type, with the answer's timestamp.
                let stamp = try #require(answer.json["secret_key_timestamp"]?.scalarText)
                let values = fields.map { ["customer_id": customer, "amount": amount ?? "", "user_code": "20810200"][$0]! }
                #expect(answer.json["request_hash"] == .string(referenceHMAC(stamp + values.joined())))
                #expect(answer.json["secret_key"] == .string(referenceHMAC(stamp)))
                if Int.random(in: 0..<6, using: &random) == 0 {
                    _ = try await postCallback(client, ekoResponseBody(clientRefID: ref, txStatus: #""2""#))
                    firstAnswers[ref]?.reported = true
                }
            }
            return (approvals, refusals)
        }
        // The run must have exercised both sides.
        #expect(approvals > 150)  // about half the run has the kill switch on
        #expect(refusals > 300)
    }
}

/// Anyone can post an eko-response: what one can make us keep is bounded too.
@Suite struct EkoResponseBoundsTests {
    @Test func reportsForIDsNeverDecidedHereLeaveBoundedCompactRows() async throws {
        let server = try TestServer(overrides: ["http": #"{"trust_forwarded_for": true}"#])
        let flood = AppDatabase.unboundRowsPerSourcePerHour + 40
        try await server.makeApp().test(.router) { client in
            var headers = gatewayHeaders()
            headers[.init("X-Forwarded-For")!] = "203.0.113.50"
            for index in 0..<flood {
                let answer = try await postCallback(client, ekoResponseBody(clientRefID: "NEVER\(index)"), headers: headers)
                #expect(answer.status == .ok)
                #expect(answer.json["status"] == .string("received"))
            }
        }
        let logged = try await server.rows("SELECT COUNT(*) AS n, COUNT(body) AS bodies FROM callback_log")
        #expect(logged == [["n": "\(AppDatabase.unboundRowsPerSourcePerHour)", "bodies": "0"]])
        #expect(try await server.rows("SELECT COUNT(*) AS n FROM eko_response") == [["n": "\(AppDatabase.unboundRowsPerSourcePerHour)"]])
        let sources = try await server.database.unboundSources(since: pinnedNow.addingTimeInterval(-3600))
        #expect(sources.map(\.requests) == [flood])
    }

    @Test func aReportWithAControlCharacterInItsReferenceIsAcknowledgedAndKeptAsNone() async throws {
        let server = try TestServer()
        try await server.addRetailer()
        try await server.makeApp().test(.router) { client in
            _ = try await postCallback(client, debitHookBody(clientRefID: "X"))
            let answer = try await postCallback(client, ekoResponseBody(clientRefID: #"X\u0000forged"#, txStatus: #""4""#))
            #expect(answer.status == .ok)
            #expect(answer.json["client_ref_id"] == .null)
        }
        #expect(try await server.rows("SELECT reason, body FROM callback_log WHERE action = 'eko-response'")
            == [["reason": "invalid_client_ref_id", "body": nil]])
        #expect(try await server.rows("SELECT reported_tx_status FROM aeps_transaction") == [["reported_tx_status": nil]])
    }

    @Test func oneTransactionKeepsAtMostItsShareOfReports() async throws {
        let server = try TestServer()
        try await server.addRetailer()
        let extra = 5
        try await server.makeApp().test(.router) { client in
            _ = try await postCallback(client, debitHookBody())
            for index in 0..<(AppDatabase.maxReportsPerTransaction + extra) {
                _ = try await postCallback(client, ekoResponseBody(amount: "\(500 + index).00"))
            }
        }
        #expect(try await server.rows("SELECT COUNT(*) AS n FROM eko_response") == [["n": "\(AppDatabase.maxReportsPerTransaction)"]])
        #expect(try await server.rows("SELECT COUNT(*) AS n FROM callback_log WHERE reason = 'too_many_reports' AND body IS NULL")
            == [["n": "\(extra)"]])
    }
}
