@testable import AEPSServer
import EkoSigning
import Foundation
import Testing

/// The pure policy, rule by rule and boundary by boundary.
@Suite struct DebitPolicyTests {
    static let now = Date(timeIntervalSince1970: 1_700_000_000)  // 2023-11-15 03:43:20 IST
    static let retailer = Retailer(
        id: 1, userCode: "20810200", name: "Shop", active: true, passwordHash: nil, dailyCountCap: nil,
        dailyAmountCapPaise: nil, paused: false, createdAt: now, updatedAt: now
    )
    static let session = GatewaySession(
        id: 7, tokenHash: "h", retailerId: 1, userCode: "20810200", environment: "uat", issuedVia: "page", language: "en",
        createdAt: now, expiresAt: now.addingTimeInterval(900), revokedAt: nil
    )

    static func hook(
        type: String = "2", amount: String? = "500", userCode: String? = "20810200", customer: String = "9876543210",
        params: [String]? = nil
    ) throws -> DebitHook {
        var data: [JSONObject.Member] = [.init(key: "type", value: .string(type)), .init(key: "customer_id", value: .string(customer))]
        if let amount { data.append(.init(key: "amount", value: .string(amount))) }
        if let userCode { data.append(.init(key: "user_code", value: .string(userCode))) }
        let list = params ?? (type == "2" ? ["customer_id", "amount", "user_code"] : ["customer_id", "user_code"])
        return try DebitHook(detail: JSONObject([
            .init(key: "client_ref_id", value: .string("R1")),
            .init(key: "request_hash_params", value: .array(list.map(JSONValue.string))),
            .init(key: "data", value: .object(JSONObject(data))),
        ]))
    }

    /// An earlier approval of the same request under the same session, a minute ago, without a result.
    static let earlier = EarlierDecision(
        approved: true, reason: "approved", sameRequest: true, sameSession: true, decidedAt: now.addingTimeInterval(-60),
        resultReported: false
    )

    struct Case: Sendable, CustomTestStringConvertible {
        var label: String
        var type = "2"
        var amount: String? = "500"
        var userCode: String? = "20810200"
        var customer = "9876543210"
        var params: [String]? = nil
        var earlier: EarlierDecision? = nil
        var retailer: Retailer? = DebitPolicyTests.retailer
        var session: SessionEvidence = .found(DebitPolicyTests.session)
        var counters = DebitHookCounters()
        var paused = false
        var now = DebitPolicyTests.now
        var configure: @Sendable (inout PolicyConfig) -> Void = { _ in }
        var expected: RefusalCode?
        var testDescription: String { label }
    }

    static let cases: [Case] = [
        Case(label: "₹500 withdrawal approved", expected: nil),
        Case(label: "₹99 below the minimum", amount: "99", expected: .amountBelowMinimum),
        Case(label: "₹100 is the minimum", amount: "100", expected: nil),
        Case(label: "₹10,000 is the maximum", amount: "10000", expected: nil),
        Case(label: "₹10,050 above the maximum", amount: "10050", expected: .amountAboveMaximum),
        Case(label: "₹125 not a multiple of ₹50", amount: "125", expected: .amountNotMultiple),
        Case(label: "₹150 is a multiple of ₹50", amount: "150", expected: nil),
        Case(label: "\"500.00\" is not whole rupees", amount: "500.00", expected: .invalidAmount),
        Case(label: "\"500.50\" is not whole rupees", amount: "500.50", expected: .invalidAmount),
        Case(label: "\"0500\" has a leading zero", amount: "0500", expected: .invalidAmount),
        Case(label: "\"+500\" has a sign", amount: "+500", expected: .invalidAmount),
        Case(label: "\"500 \" has a space", amount: "500 ", expected: .invalidAmount),
        Case(label: "\"١٥٠\" is not ASCII digits", amount: "١٥٠", expected: .invalidAmount),
        Case(label: "\"5e2\" is not plain", amount: "5e2", expected: .invalidAmount),
        Case(label: "\"-100\" is not plain", amount: "-100", expected: .invalidAmount),
        Case(label: "\"1,000\" is not plain", amount: "1,000", expected: .invalidAmount),
        Case(label: "\" 500\" is not plain", amount: " 500", expected: .invalidAmount),
        Case(label: "\"500.123\" is not plain", amount: "500.123", expected: .invalidAmount),
        Case(label: "empty amount", amount: "", expected: .invalidAmount),
        Case(label: "missing amount", amount: nil, expected: .invalidAmount),
        Case(label: "\"0\" is not an amount", amount: "0", expected: .invalidAmount),
        Case(label: "balance enquiry needs no amount", type: "3", amount: nil, expected: nil),
        Case(label: "mini statement needs no amount", type: "4", amount: "", expected: nil),
        Case(label: "Aadhaar Pay (5) not allowed", type: "5", expected: .typeNotAllowed),
        Case(label: "type not a number", type: "x", expected: .typeNotAllowed),
        Case(label: "mini statement switched off", type: "4", amount: nil, configure: { $0.allowedTypes = [2, 3] }, expected: .typeNotAllowed),
        Case(label: "4 withdrawals today: a fifth is fine", counters: .init(customerWithdrawalsToday: 4), expected: nil),
        Case(label: "5 withdrawals today: no sixth", counters: .init(customerWithdrawalsToday: 5), expected: .customerDailyLimit),
        Case(label: "customer limit does not stop a balance enquiry", type: "3", amount: nil,
             counters: .init(customerWithdrawalsToday: 9), expected: nil),
        Case(label: "retailer count cap off by default", counters: .init(retailerWithdrawalsToday: 1000), expected: nil),
        Case(label: "retailer count cap reached", counters: .init(retailerWithdrawalsToday: 3),
             configure: { $0.retailerDailyCountCap = 3 }, expected: .retailerDailyCountCap),
        Case(label: "retailer count cap not yet reached", counters: .init(retailerWithdrawalsToday: 2),
             configure: { $0.retailerDailyCountCap = 3 }, expected: nil),
        Case(label: "retailer amount cap exactly met", counters: .init(retailerAmountTodayPaise: 1_950_000),
             configure: { $0.retailerDailyAmountCapPaise = 2_000_000 }, expected: nil),
        Case(label: "retailer amount cap exceeded by this one", counters: .init(retailerAmountTodayPaise: 1_960_000),
             configure: { $0.retailerDailyAmountCapPaise = 2_000_000 }, expected: .retailerDailyAmountCap),
        Case(label: "per-retailer cap overrides the default",
             retailer: { var r = DebitPolicyTests.retailer; r.dailyCountCap = 1; return r }(),
             counters: .init(retailerWithdrawalsToday: 1), configure: { $0.retailerDailyCountCap = 100 }, expected: .retailerDailyCountCap),
        Case(label: "global kill switch", paused: true, expected: .servicePaused),
        Case(label: "retailer kill switch", retailer: { var r = DebitPolicyTests.retailer; r.paused = true; return r }(),
             expected: .retailerPaused),
        Case(label: "disabled retailer", retailer: { var r = DebitPolicyTests.retailer; r.active = false; return r }(),
             expected: .retailerDisabled),
        Case(label: "unknown retailer", retailer: nil, session: .none, expected: .unknownRetailer),
        Case(label: "no user code", userCode: nil, expected: .missingUserCode),
        Case(label: "no session", session: .none, expected: .sessionMissing),
        Case(label: "no session allowed when not required", session: .none, configure: { $0.requireSession = false }, expected: nil),
        Case(label: "unknown session", session: .unknown, expected: .sessionUnknown),
        Case(label: "session expired at its second", now: DebitPolicyTests.now.addingTimeInterval(900), expected: .sessionExpired),
        Case(label: "session alive a second before", now: DebitPolicyTests.now.addingTimeInterval(899), expected: nil),
        Case(label: "session's transactions used up", counters: .init(sessionApprovals: 10), expected: .sessionTransactionLimit),
        Case(label: "inside hours of service (03:43 IST in 00:00-06:00)",
             configure: { $0.serviceHours = ServiceHours(from: 0, to: 360) }, expected: nil),
        Case(label: "outside hours of service (03:43 IST, 08:00-20:00)",
             configure: { $0.serviceHours = ServiceHours(from: 480, to: 1200) }, expected: .outsideServiceHours),
        Case(label: "overnight hours include 03:43 IST (22:00-06:00)",
             configure: { $0.serviceHours = ServiceHours(from: 1320, to: 360) }, expected: nil),
        Case(label: "custom limits: ₹20 step", amount: "120", configure: { $0.withdrawalMultiplePaise = 2_000 }, expected: nil),
        // What is signed: the server's list, canonical values (finding 1, 2, 3 of issue 8).
        Case(label: "a list naming another field", params: ["x"], expected: .hashParamsUnexpected),
        Case(label: "an empty list", params: [], expected: .hashParamsUnexpected),
        Case(label: "a withdrawal's list without amount", params: ["customer_id", "user_code"], expected: .hashParamsUnexpected),
        Case(label: "a list with a name twice", params: ["customer_id", "amount", "amount", "user_code"], expected: .hashParamsUnexpected),
        Case(label: "the right names in another order", params: ["amount", "customer_id", "user_code"], expected: .hashParamsUnexpected),
        Case(label: "a balance enquiry listing amount", type: "3", amount: nil, params: ["customer_id", "amount", "user_code"],
             expected: .hashParamsUnexpected),
        Case(label: "type flip: a balance enquiry with ₹50,000", type: "3", amount: "50000", expected: .invalidAmount),
        Case(label: "type flip: a mini statement with ₹500", type: "4", amount: "500", expected: .invalidAmount),
        Case(label: "a balance enquiry with amount \"0\"", type: "3", amount: "0", expected: nil),
        Case(label: "type \"02\" is not canonical", type: "02", expected: .typeNotAllowed),
        Case(label: "type \" 2\" is not canonical", type: " 2", expected: .typeNotAllowed),
        Case(label: "type \"+2\" is not canonical", type: "+2", expected: .typeNotAllowed),
        Case(label: "a 9-digit customer_id", customer: "987654321", expected: .invalidCustomerID),
        Case(label: "an 11-digit customer_id", customer: "98765432100", expected: .invalidCustomerID),
        Case(label: "a customer_id with a sign", customer: "+987654321", expected: .invalidCustomerID),
        Case(label: "a server list changed in the configuration", params: ["user_code", "amount", "customer_id"],
             configure: { $0.hashParams[2] = ["user_code", "amount", "customer_id"] }, expected: nil),
        // Repeats are re-decided against the present (finding 4).
        Case(label: "a repeat within the window", earlier: DebitPolicyTests.earlier, expected: nil),
        Case(label: "a repeat after the window",
             earlier: { var e = DebitPolicyTests.earlier; e.decidedAt = now.addingTimeInterval(-121); return e }(),
             expected: .repeatWindowPassed),
        Case(label: "a repeat after a result", earlier: { var e = DebitPolicyTests.earlier; e.resultReported = true; return e }(),
             expected: .repeatAfterResult),
        Case(label: "a repeat of another request", earlier: { var e = DebitPolicyTests.earlier; e.sameRequest = false; return e }(),
             expected: .clientRefIDConflict),
        Case(label: "a repeat from another session", earlier: { var e = DebitPolicyTests.earlier; e.sameSession = false; return e }(),
             expected: .clientRefIDOtherSession),
        Case(label: "a repeat of a refusal keeps its reason",
             earlier: { var e = DebitPolicyTests.earlier; e.approved = false; e.reason = "customer_daily_limit"; return e }(),
             expected: .customerDailyLimit),
        Case(label: "a repeat while the kill switch is on", earlier: DebitPolicyTests.earlier, paused: true, expected: .servicePaused),
        Case(label: "a repeat after the retailer was disabled", earlier: DebitPolicyTests.earlier,
             retailer: { var r = DebitPolicyTests.retailer; r.active = false; return r }(), expected: .retailerDisabled),
        Case(label: "a repeat after the session was revoked", earlier: DebitPolicyTests.earlier,
             session: { var s = DebitPolicyTests.session; s.revokedAt = now; return .found(s) }(), expected: .sessionRevoked),
        Case(label: "a repeat after the session expired", earlier: DebitPolicyTests.earlier,
             session: { var s = DebitPolicyTests.session; s.expiresAt = now; return .found(s) }(), expected: .sessionExpired),
        Case(label: "no repeats at all with a zero window", earlier: DebitPolicyTests.earlier,
             configure: { $0.repeatWindowSeconds = 0 }, expected: .repeatWindowPassed),
    ]

    @Test(arguments: cases)
    func rule(_ testCase: Case) throws {
        var config = PolicyConfig()
        testCase.configure(&config)
        let hook = try Self.hook(
            type: testCase.type, amount: testCase.amount, userCode: testCase.userCode, customer: testCase.customer,
            params: testCase.params
        )
        let facts = DebitHookFacts(
            retailer: testCase.retailer, session: testCase.session, counters: testCase.counters,
            servicePaused: testCase.paused, now: testCase.now, earlier: testCase.earlier
        )
        let decision = DebitHookPolicy(config).evaluate(hook, facts: facts)
        #expect(decision.refusalCode == testCase.expected)
        if let approval = decision.approval {
            // An approval carries exactly the server's list for the type, with the values the policy checked.
            let fields = try #require(config.hashParams[hook.type ?? 0])
            #expect(approval.fields == fields)
            let canonical = ["customer_id": testCase.customer, "amount": testCase.amount ?? "", "user_code": Self.retailer.userCode]
            #expect(approval.values == fields.map { canonical[$0]! })
        }
    }

    @Test func anApprovalNeverPrintsItsValues() throws {
        let decision = DebitHookPolicy().evaluate(try Self.hook(), facts: DebitHookFacts(
            retailer: Self.retailer, session: .found(Self.session), now: Self.now
        ))
        let approval = try #require(decision.approval)
        #expect("\(approval)" == "Approval(fields: customer_id, amount, user_code)")
    }

    @Test func explainListsEveryRuleEvenAfterAFailure() throws {
        let facts = DebitHookFacts(retailer: Self.retailer, session: .none, counters: .init(customerWithdrawalsToday: 5), now: Self.now)
        let verdicts = DebitHookPolicy().explain(try Self.hook(amount: "125"), facts: facts)
        #expect(verdicts.compactMap { $0.refusal } == [RefusalCode.sessionMissing, .amountNotMultiple, .customerDailyLimit])
        #expect(verdicts.count >= 16)
    }

    @Test func everyRefusalHasAnEnglishAndAHindiMessage() {
        for code in RefusalCode.allCases {
            let english = code.message(language: "en")
            let hindi = code.message(language: "hi")
            #expect(!english.isEmpty && !hindi.isEmpty && english != hindi, "\(code)")
            #expect(hindi.unicodeScalars.contains { (0x0900...0x097F).contains($0.value) }, "\(code) is not in Hindi")
            #expect(code.message == english)
        }
    }

    @Test(arguments: [
        (1_699_986_599.0, "2023-11-14"),  // 23:59:59 IST is 18:29:59 UTC
        (1_699_986_600.0, "2023-11-15"),  // 00:00:00 IST
    ] as [(Double, String)])
    func theDayIsIndian(seconds: Double, day: String) {
        #expect(IndianTime.day(Date(timeIntervalSince1970: seconds)) == day)
    }

    /// The arithmetic day agrees with Foundation's calendar in IST from 1960 to 2100, leap days and the instants
    /// around each IST midnight included.
    @Test func theDayAgreesWithTheCalendar() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 19_800)!
        var seconds = -315_619_200.0  // 1960-01-01
        var mismatches: [String] = []
        while seconds < 4_102_444_800 {  // 2100-01-01
            for instant in [seconds, seconds - 19_800, seconds - 19_801] {
                let date = Date(timeIntervalSince1970: instant)
                let parts = calendar.dateComponents([.year, .month, .day], from: date)
                let expected = String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
                if IndianTime.day(date) != expected, mismatches.count < 5 { mismatches.append("\(instant): \(expected)") }
            }
            seconds += 86_400 * 3 + 3_607  // every third day or so, drifting through the hours
        }
        #expect(mismatches.isEmpty, "\(mismatches)")
    }
}
