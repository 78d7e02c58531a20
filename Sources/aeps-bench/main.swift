// The debit-hook decision's latency with an empty database and with 1,000,000 transactions in it (`make bench`).
// A benchmark, not a test: it prints numbers and asserts nothing. Run it on the release build.
import AEPSServer
import EkoSigning
import Foundation
import GRDB

let rows = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 1_000_000
let samples = 400
let folder = FileManager.default.temporaryDirectory.appendingPathComponent("aeps-bench-\(UUID().uuidString)")
defer { try? FileManager.default.removeItem(at: folder) }

let database = try AppDatabase.open(path: folder.appendingPathComponent("aeps.sqlite").path)
try database.migrate()
let now = Date()
let retailer = try await database.addRetailer(userCode: "20810200", name: "Bench Shop", now: now)
let token = "gs_bench-token"
_ = try await database.createGatewaySession(
    retailer: retailer, tokenHash: SecretToken.hash(token), environment: "uat", issuedVia: "bench", now: now, ttlSeconds: 86_400
)
var config = PolicyConfig()
config.maxTransactionsPerSession = 1_000_000
config.retailerDailyCountCap = 1_000_000
config.retailerDailyAmountCapPaise = 1_000_000_000_000
let policy = DebitHookPolicy(config)

/// Decides `samples` fresh withdrawals (each a new customer) and returns the sorted latencies in milliseconds.
func measure(_ label: String) async throws -> [Double] {
    var latencies: [Double] = []
    for index in 0..<samples {
        let detail = try JSONValue.parse("""
            {"client_ref_id": "\(label)-\(index)", "request_hash_params": ["customer_id", "amount", "user_code"],
             "data": {"type": "2", "amount": "500", "customer_id": "9\(String(format: "%09d", index))", "user_code": "20810200"}}
            """).objectValue!
        let hook = try DebitHook(detail: detail)
        let log = CallbackLogEntry(receivedAt: now, requestId: "bench", action: "debit-hook", clientRefId: hook.clientRefID)
        let start = ContinuousClock.now
        let result = try await database.decideDebitHook(hook, sessionToken: token, policy: policy, now: now, log: log, latency: { 0 })
        let elapsed = ContinuousClock.now - start
        precondition(result.decision.isApproved, "unexpected refusal: \(result.decision)")
        latencies.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)
    }
    return latencies.sorted()
}

func report(_ label: String, _ latencies: [Double]) {
    func at(_ q: Double) -> String { String(format: "%.2f", latencies[min(latencies.count - 1, Int(Double(latencies.count) * q))]) }
    print("\(label): decision + durable record, ms: p50 \(at(0.5))  p90 \(at(0.9))  p99 \(at(0.99))  max \(at(1.0))")
}

report("0 transactions", try await measure("empty"))

// Fill: a year of history over 2,000 retailers and 200,000 customers, in batches of 50,000 per transaction.
let fillStart = ContinuousClock.now
try await database.writerForTests { db in
    for retailerIndex in 0..<2000 {
        try db.execute(sql: """
            INSERT INTO retailer (user_code, name, active, paused, created_at, updated_at) VALUES (?, ?, 1, 0, ?, ?)
            """, arguments: ["R\(retailerIndex)", "Retailer \(retailerIndex)", now, now])
    }
}
var inserted = 0
while inserted < rows {
    let batch = min(50_000, rows - inserted)
    let first = inserted
    try await database.writerForTests { db in
        let statement = try db.makeStatement(sql: """
            INSERT INTO aeps_transaction (client_ref_id, retailer_id, user_code, type, amount_raw, amount_paise,
              customer_mobile, request_fingerprint, decision, reason, state, decided_at, ist_day, created_at, updated_at,
              eko_tid, bank_ref_num)
            VALUES (?, ?, ?, 2, '500', 50000, ?, 'x', 'approved', 'approved', ?, ?, ?, ?, ?, ?, ?)
            """)
        // Mostly settled; some still open, failed or needing a person, as a live system would hold.
        let states = ["settled", "settled", "settled", "settled", "settled", "settled", "closed", "approved", "pending",
                      "needs_attention"]
        for index in first..<(first + batch) {
            let day = now.addingTimeInterval(-Double(index % 365) * 86_400 - Double(index % 86_400))
            try statement.execute(arguments: [
                "FILL\(index)", 2 + index % 2000, "R\(index % 2000)", "8\(String(format: "%09d", index % 200_000))",
                states[index % states.count], day, IndianTime.day(day), day, day, "T\(index)", "B\(index)",
            ])
        }
    }
    inserted += batch
}
print("filled \(inserted) transactions in \(ContinuousClock.now - fillStart)")

report("\(inserted) transactions", try await measure("full"))

// The caps read counter rows by primary key (HotPathQueryPlanTests checks every statement of the callback path).
for sql in [
    "SELECT approvals, amount_paise FROM approval_counter WHERE scope = 'customer' AND key = '1' AND day = 'd'",
    "SELECT * FROM aeps_transaction WHERE client_ref_id = 'x'",
] {
    let detail = try database.reader.read { db in
        try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql).map { $0["detail"] as String? ?? "" }.joined(separator: "; ")
    }
    print("plan: \(detail)")
}

// The ops console over HTTP: the transactions page, searches and filters, with every row above stored.
let probe = inserted / 2
try await measureConsole(database: database, samples: 40, pages: [
    ("transactions, first page", "/ops/transactions"),
    ("search by client_ref_id", "/ops/transactions?q=FILL\(probe)"),
    ("search by Eko tid", "/ops/transactions?q=T\(probe)"),
    ("search by bank reference", "/ops/transactions?q=B\(probe)"),
    ("search by customer mobile", "/ops/transactions?q=8\(String(format: "%09d", probe % 200_000))"),
    ("search by retailer", "/ops/transactions?q=R17"),
    ("filter by state", "/ops/transactions?state=needs_attention"),
    ("stuck queue", "/ops/stuck"),
    ("one transaction", "/ops/transactions/FILL\(probe)"),
])
