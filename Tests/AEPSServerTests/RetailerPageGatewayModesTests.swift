import AEPSServer
import EkoSigning
import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Testing

/// The retailer page against the stand-in gateway in each of the ways Eko's gateway may behave that Eko does not
/// document: with or without the debit-hook event, the session token as headers, body keys or both, an error
/// reply, a refusal, a window closed early, and a result naming another retailer's transaction.
extension RetailerPageBrowserTests {
    static let approvedWords = "Approved, waiting for Eko's confirmation"

    @Test(arguments: [
        ("no debit-hook event, token as header", StandInGateway.Mode(hookMessage: false, token: "headers")),
        ("token as body keys", StandInGateway.Mode(hookMessage: true, token: "body")),
        ("token as both", StandInGateway.Mode(hookMessage: false, token: "both")),
    ])
    func theReceiptTakesServiceAmountAndApprovalFromTheServer(name: String, mode: StandInGateway.Mode) async throws {
        let chromium = try #require(Chromium.find(), "chromium is not installed (make test installs it)")
        let bed = try await PageTestBed.start(mode: mode)
        defer { bed.stop() }
        let report = try await bed.runHarness(chromium, query: "lang=en")
        #expect(report["error"] == nil, "\(name): \(report.serialized())")
        #expect(bed.gateway.reports.first?["hook"]?["allow"] == .bool(true), "\(name)")
        #expect(report["approvedStep"] == .string("done"), "\(name)")
        #expect(report["status"] == .string("Successful"))
        #expect(report["service"] == .string("Cash withdrawal"))
        #expect(report["amount"] == .string("₹ 500.00"))
        #expect(report["state"] == .string(Self.approvedWords))
        #expect(report["aadhaar"] == .string("XXXX XXXX 1234"))
        #expect(report["time"] == .string(PageTestBed.indianTime(try await bed.decidedAt())))
    }

    /// An error reply: Eko's message, as text, and what to do; the amount still from the server.
    @Test(arguments: ["en", "hi"])
    func anErrorReplyShowsEkosMessageAndWhatToDo(language: String) async throws {
        let chromium = try #require(Chromium.find(), "chromium is not installed (make test installs it)")
        let message = "Insufficient balance <b>in</b> account"
        let bed = try await PageTestBed.start(mode: .init(reply: "error", errorMessage: message))
        defer { bed.stop() }
        let report = try await bed.runHarness(chromium, query: "lang=\(language)")
        #expect(report["error"] == nil, "\(report.serialized())")
        #expect(report["status"] == .string(language == "hi"
            ? "लेनदेन पूरा नहीं हुआ: \(message)। नकद न दें। फिर कोशिश करें या सहायता से संपर्क करें।"
            : "Transaction not completed: \(message). Do not pay cash. Try again or check with support."))
        #expect(report["amount"] == .string("₹ 500.00"))
        #expect(report["aadhaar"] == .string("-"))  // nothing from an error reply's (absent) data
        #expect(report["approvedStep"] == .string("done"))  // the server did approve; Eko did not complete it
    }

    /// The server refused: the page says so with the server's message, whatever the gateway shows.
    @Test(arguments: ["en", "hi"])
    func aRefusalShowsTheServersMessage(language: String) async throws {
        let chromium = try #require(Chromium.find(), "chromium is not installed (make test installs it)")
        let bed = try await PageTestBed.start(mode: .init(hookMessage: true))
        defer { bed.stop() }
        try await bed.server.database.setServicePaused(true, now: Date())
        let report = try await bed.runHarness(chromium, query: "lang=\(language)")
        #expect(report["error"] == nil, "\(report.serialized())")
        let stored = try await bed.server.rows("SELECT decision, reason FROM aeps_transaction")
        #expect(stored == [["decision": "refused", "reason": "service_paused"]])
        // The message the gateway was given, in the page's language.
        let told = try #require(bed.gateway.reports.first?["hook"]?["message"]?.scalarText)
        #expect(told == RefusalCode.servicePaused.message(language: language))
        #expect(report["refusalShown"] == .bool(true))
        #expect(report["refusal"] == .string((language == "hi" ? "अस्वीकृत: " : "Refused: ") + told))
        #expect(report["approvedStep"] == .string("refused"))
        #expect(report["state"] == .string(language == "hi" ? "अस्वीकृत" : "Refused"))
        #expect(report["status"]?.scalarText?.hasPrefix(language == "hi" ? "लेनदेन पूरा नहीं हुआ: " : "Transaction not completed: ") == true)
    }

    /// The window closed before any result: the page says what happens next and keeps asking the server, so a
    /// later settlement (the sweeper's, done here in the database) shows as the state.
    @Test func aWindowClosedBeforeTheResultKeepsWatchingTheServer() async throws {
        let chromium = try #require(Chromium.find(), "chromium is not installed (make test installs it)")
        let bed = try await PageTestBed.start(mode: .init(hookMessage: false, close: "early"))
        defer { bed.stop() }
        let gateway = bed.gateway
        let path = bed.server.config.databasePath
        // Once the gateway window has reported (and closes), Eko's answer arrives and the transaction settles.
        let settle = Task {
            while gateway.reports.isEmpty { try await Task.sleep(for: .milliseconds(50)) }
            try await DatabaseQueue(path: path).write { db in
                try db.execute(sql: "UPDATE aeps_transaction SET state = 'settled', eko_tid = '3210000000'")
            }
        }
        defer { settle.cancel() }
        let report = try await bed.runHarness(chromium, query: "lang=en&wait=r-state&text=Successful")
        #expect(report["error"] == nil, "\(report.serialized())")
        #expect(report["notice"] == .string(
            "The gateway window was closed before the result. The server will check with Eko; do not pay cash until it shows Successful."
        ))
        #expect(report["state"] == .string("Successful"))
        #expect(report["status"] == .string("Successful"))
        // No debit-hook event and no result message: "Approved", then the result, came from the server alone.
        #expect(report["approvedStep"] == .string("done"))
        #expect(report["aadhaar"] == .string("-"))
        #expect(report["amount"] == .string("₹ 500.00"))
        #expect(report["ref"]?.scalarText?.hasSuffix(" / 3210000000") == true)
    }

    /// A result naming another retailer's transaction: the page shows none of that transaction's server data.
    @Test func aResultNamingAnotherRetailersTransactionShowsNoServerData() async throws {
        let chromium = try #require(Chromium.find(), "chromium is not installed (make test installs it)")
        let bed = try await PageTestBed.start(mode: .init(hookMessage: true, responseRef: "REFB1"))
        defer { bed.stop() }
        let token = "gs_test-retailer-b-0123456789"
        let other = try await bed.server.database.addRetailer(userCode: "20810300", name: "Other Shop", now: pinnedNow)
        _ = try await bed.server.database.createGatewaySession(
            retailer: other, tokenHash: SecretToken.hash(token), environment: "local", issuedVia: "test", now: pinnedNow,
            ttlSeconds: 900
        )
        try await bed.server.makeApp().test(.router) { client in
            let hook = try await postCallback(
                client,
                debitHookBody(clientRefID: "REFB1", amount: #""750""#, customerID: #""9123456789""#, userCode: #""20810300""#, session: token),
                headers: gatewayHeaders(origin: nil)
            )
            #expect(hook.json["allow"] == .bool(true), "\(hook.json.serialized())")
        }
        let report = try await bed.runHarness(chromium, query: "lang=en&wait=r-state&text=Not%20found")
        #expect(report["error"] == nil, "\(report.serialized())")
        #expect(report["state"] == .string("Not found among your transactions"))
        #expect(report["service"] == .string("-"))
        #expect(report["amount"] == .string("-"))
        #expect(report["approvedStep"] != .string("done"))
        #expect(report["pageText"]?.scalarText?.contains("750") == false)
        #expect(report["pageText"]?.scalarText?.contains("9123") == false)
    }

    /// The blank window closed while the configuration was on its way: nothing is posted, the page says why.
    @Test(arguments: ["en", "hi"])
    func aWindowClosedBeforeThePostIsNotPostedInto(language: String) async throws {
        let chromium = try #require(Chromium.find(), "chromium is not installed (make test installs it)")
        let bed = try await PageTestBed.start()
        defer { bed.stop() }
        let report = try await bed.runHarness(chromium, query: "lang=\(language)&expect=closed-before-post")
        #expect(report["error"] == nil, "\(report.serialized())")
        #expect(report["notice"] == .string(language == "hi"
            ? "गेटवे विंडो बंद हो गई। बटन फिर दबाएँ।" : "The gateway window was closed. Press the button again."))
        #expect(report["buttonDisabled"] == .bool(false))
        #expect(report["stepsShown"] == .bool(false))
        #expect(bed.gateway.forms.isEmpty)
        // The configuration was issued (the window closed after asking), and never used.
        #expect(try await bed.server.rows("SELECT COUNT(*) AS n FROM aeps_transaction") == [["n": "0"]])
    }
}
