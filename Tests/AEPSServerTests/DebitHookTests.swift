import AEPSServer
import EkoSigning
import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import NIOConcurrencyHelpers
import Testing

@Suite struct DebitHookTests {
    /// Approval bodies, field by field, with the hash recomputed here from the values as sent.
    @Test(arguments: [
        (#""2""#, #""500""#, ["customer_id", "amount", "user_code"], "9876543210" + "500" + "20810200"),
        (#""3""#, nil, ["customer_id", "user_code"], "9876543210" + "20810200"),
        (#""4""#, #""""#, ["customer_id", "user_code"], "9876543210" + "20810200"),
        (#""3""#, #""0""#, ["customer_id", "user_code"], "9876543210" + "20810200"),
        ("2", "500", ["customer_id", "amount", "user_code"], "9876543210" + "500" + "20810200"),
        ("3", nil, ["customer_id", "user_code"], "9876543210" + "20810200"),
    ] as [(String, String?, [String], String)])
    func anActiveRetailersHookIsApprovedAndSigned(type: String, amount: String?, params: [String], concatenated: String)
        async throws
    {
        let server = try TestServer()
        try await server.addRetailer()
        try await server.makeApp().test(.router) { client in
            let answer = try await postCallback(client, debitHookBody(type: type, amount: amount, params: params))
            #expect(answer.status == .ok)
            #expect(answer.headers[.accessControlAllowOrigin] == stageOrigin)
            #expect(answer.headers[.contentType]?.hasPrefix("application/json") == true)
            let object = try #require(answer.json.objectValue)
            #expect(object.keys == ["action", "allow", "secret_key_timestamp", "secret_key", "request_hash", "client_ref_id"])
            #expect(object["action"] == .string("go"))
            #expect(object["allow"] == .bool(true))
            #expect(object["secret_key_timestamp"] == .string("1700000000000"))
            #expect(object["secret_key"] == .string(referenceHMAC("1700000000000")))
            #expect(object["request_hash"] == .string(referenceHMAC("1700000000000" + concatenated)))
            #expect(object["client_ref_id"] == .string("AEPS1700000000123"))
        }
    }

    @Test func theProtocolVectorComesOutOfTheServer() async throws {
        let server = try TestServer()
        try await server.addRetailer()
        try await server.makeApp().test(.router) { client in
            let answer = try await postCallback(client, debitHookBody())
            #expect(answer.json["secret_key"] == .string("qIir8tILHtqxO1Mu3/fC3pVElIa0oIxXMRDUP0463Bc="))
            #expect(answer.json["request_hash"] == .string("SYWYFfRpGAMuMjgJELzPK7uHJst8GPzoTqnZj9W3BeE="))
        }
    }

    @Test func numbersAreSignedAsTheirCanonicalText() async throws {
        let server = try TestServer()
        try await server.addRetailer()
        try await server.makeApp().test(.router) { client in
            let body = debitHookBody(type: "2", amount: "500", customerID: "9876543210", userCode: "20810200")
            let answer = try await postCallback(client, body)
            #expect(answer.json["allow"] == .bool(true))
            #expect(answer.json["request_hash"] == .string(referenceHMAC("1700000000000" + "9876543210500" + "20810200")))
        }
    }

    /// Refusals of a bound hook: `allow:false` with a message, no signature, and the reason stored.
    @Test(arguments: [
        ("aadhaar pay", debitHookBody(type: #""5""#), "type_not_allowed"),
        ("type not a number", debitHookBody(type: #""cash""#), "type_not_allowed"),
        ("amount with a sign", debitHookBody(amount: #""-500""#), "invalid_amount"),
        ("amount in exponent form", debitHookBody(amount: "5e2"), "invalid_amount"),
        ("amount with paise", debitHookBody(amount: #""500.00""#), "invalid_amount"),
        ("no amount for a withdrawal", debitHookBody(amount: nil), "invalid_amount"),
        ("a withdrawal's list without amount", debitHookBody(amount: nil, params: ["customer_id", "user_code"]),
         "hash_params_unexpected"),
    ])
    func refusedHooksGetAMessageAndAStoredReason(_ label: String, body: String, reason: String) async throws {
        let server = try TestServer()
        try await server.addRetailer()
        try await server.makeApp().test(.router) { client in
            let answer = try await postCallback(client, body)
            #expect(answer.status == .ok)
            #expect(answer.headers[.accessControlAllowOrigin] == stageOrigin)
            let object = try #require(answer.json.objectValue)
            #expect(object.keys == ["action", "allow", "message"])
            #expect(object["action"] == .string("go"))
            #expect(object["allow"] == .bool(false))
            #expect(object["message"] == .string(RefusalCode(rawValue: reason)!.message))
        }
        let stored = try await server.rows("SELECT decision, reason, state FROM aeps_transaction")
        #expect(stored == [["decision": "refused", "reason": reason, "state": "refused"]])
    }

    /// Refusals before the hook is bound to a retailer's live session leave no transaction row.
    @Test(arguments: [
        ("unknown retailer", debitHookBody(userCode: #""99999999""#), "unknown_retailer"),
        ("missing user code", debitHookBody(userCode: #""""#), "missing_user_code"),
    ])
    func unboundRefusalsLeaveOnlyACompactLogRow(_ label: String, body: String, reason: String) async throws {
        let server = try TestServer()
        try await server.addRetailer()
        try await server.makeApp().test(.router) { client in
            let answer = try await postCallback(client, body)
            #expect(answer.json["allow"] == .bool(false))
            #expect(answer.json["message"] == .string(RefusalCode(rawValue: reason)!.message))
        }
        #expect(try await server.rows("SELECT id FROM aeps_transaction").isEmpty)
        #expect(try await server.rows("SELECT reason, body FROM callback_log") == [["reason": reason, "body": nil]])
    }

    @Test func aDisabledRetailerIsRefusedAndEnablingItAgainDoesNotReviveItsSessions() async throws {
        let server = try TestServer(overrides: ["policy": #"{"require_session": false}"#])
        try await server.addRetailer()
        try await server.database.setRetailerActive(userCode: "20810200", active: false, now: pinnedNow)
        try await server.makeApp().test(.router) { client in
            // Disabling revoked the retailer's gateway sessions; without one, the retailer rule itself refuses.
            let revoked = try await postCallback(client, debitHookBody(clientRefID: "R1"))
            #expect(revoked.json["allow"] == .bool(false))
            #expect(revoked.json["message"] == .string(RefusalCode.sessionRevoked.message))
            let refused = try await postCallback(client, debitHookBody(clientRefID: "R2", session: nil))
            #expect(refused.json["allow"] == .bool(false))
            #expect(refused.json["message"] == .string(RefusalCode.retailerDisabled.message))
            try await server.database.setRetailerActive(userCode: "20810200", active: true, now: pinnedNow)
            let stillRevoked = try await postCallback(client, debitHookBody(clientRefID: "R3"))
            #expect(stillRevoked.json["allow"] == .bool(false))
            let approved = try await postCallback(client, debitHookBody(clientRefID: "R4", session: nil))
            #expect(approved.json["allow"] == .bool(true))
        }
    }

    @Test func aRepeatedHookGetsTheSameDecisionFreshlySignedAndIsStoredOnce() async throws {
        let server = try TestServer()
        try await server.addRetailer()
        let ticks = TickingClock(start: pinnedNow)
        try await server.makeApp(clock: { ticks.next() }).test(.router) { client in
            let first = try await postCallback(client, debitHookBody())
            let second = try await postCallback(client, debitHookBody())
            #expect(first.json["allow"] == .bool(true))
            #expect(second.json["allow"] == .bool(true))
            let firstStamp = try #require(first.json["secret_key_timestamp"]?.scalarText)
            let secondStamp = try #require(second.json["secret_key_timestamp"]?.scalarText)
            #expect(firstStamp != secondStamp)
            #expect(second.json["secret_key"] == .string(referenceHMAC(secondStamp)))
            #expect(second.json["request_hash"] == .string(referenceHMAC(secondStamp + "9876543210500" + "20810200")))
        }
        let (transactions, reasons) = try await server.query { db in
            (
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM aeps_transaction")!,
                try String.fetchAll(db, sql: "SELECT reason FROM callback_log ORDER BY id")
            )
        }
        #expect(transactions == 1)
        #expect(reasons == ["approved", "repeat:approved"])
    }

    @Test func aClientRefIDReusedForADifferentRequestIsRefusedAndTheFirstIsKept() async throws {
        let server = try TestServer()
        try await server.addRetailer()
        try await server.makeApp().test(.router) { client in
            _ = try await postCallback(client, debitHookBody(amount: #""500""#))
            let other = try await postCallback(client, debitHookBody(amount: #""10000""#))
            #expect(other.json["allow"] == .bool(false))
            #expect(other.json["message"] == .string(RefusalCode.clientRefIDConflict.message))
        }
        let rows = try await server.rows("SELECT amount_raw, amount_paise, decision FROM aeps_transaction")
        #expect(rows == [["amount_raw": "500", "amount_paise": "50000", "decision": "approved"]])
    }

    @Test func concurrentIdenticalHooksMakeOneTransaction() async throws {
        let server = try TestServer()
        try await server.addRetailer()
        try await server.makeApp().test(.live) { client in
            try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<20 {
                    group.addTask { try await postCallback(client, debitHookBody()).json["allow"] == .bool(true) }
                }
                for try await approved in group { #expect(approved) }
            }
        }
        let count = try await server.query { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM aeps_transaction") }
        #expect(count == 1)
    }
}

/// A clock that moves 1 ms every time it is read.
final class TickingClock: Sendable {
    private let ticks = NIOLockedValueBox(0)
    let start: Date
    init(start: Date) { self.start = start }
    func next() -> Date {
        let tick = ticks.withLockedValue { value in value += 1; return value }
        return start.addingTimeInterval(Double(tick) / 1000)
    }
}
