import AEPSServer
import EkoSigning
import Foundation
import GRDB
import GRDBSQLite
import Hummingbird
import HummingbirdTesting
import NIOConcurrencyHelpers
import Testing

/// Every statement the writer runs for a debit-hook (new, repeated, refused by a cap, unbound) and an eko-response,
/// traced from the real writer connection, has a plan without a table scan or a temporary B-tree: its cost does not
/// grow with the day's rows or the history.
@Suite struct HotPathQueryPlanTests {
    @Test func theCallbackPathReadsByIndexOnly() async throws {
        let server = try TestServer()
        try await server.addRetailer()
        let statements = NIOLockedValueBox<[String]>([])
        try await server.database.traceWriter { sql in statements.withLockedValue { $0.append(sql) } }
        // The router alone, without the sweeper (its periodic statements are not the callback's path).
        let dependencies = AppDependencies(
            database: server.database, signer: EkoSigner(accessKey: EkoAccessKey(uatAccessKey)!), clock: { pinnedNow },
            logger: server.logs.logger(), publicDirectory: server.directory.path("public")
        )
        let router = try buildRouter(
            config: server.config, dependencies: dependencies, settlement: buildSettlement(config: server.config, dependencies: dependencies)
        )
        try await Application(router: router).test(.router) { client in
            #expect(try await postCallback(client, debitHookBody(clientRefID: "PLAN1")).json["allow"] == .bool(true))
            #expect(try await postCallback(client, debitHookBody(clientRefID: "PLAN1")).json["allow"] == .bool(true))
            for n in 2...6 {  // the sixth withdrawal for this customer today meets the cap
                _ = try await postCallback(client, debitHookBody(clientRefID: "PLAN\(n)"))
            }
            _ = try await postCallback(client, ekoResponseBody(clientRefID: "PLAN1"))
            _ = try await postCallback(client, debitHookBody(clientRefID: "PLAN9", session: nil))
        }
        let traced = statements.withLockedValue { $0 }
        let dml = Set(traced.filter { sql in
            let head = sql.trimmingCharacters(in: .whitespacesAndNewlines).prefix(6).uppercased()
            return ["SELECT", "INSERT", "UPDATE", "DELETE"].contains(String(head))
        })
        #expect(dml.contains { $0.contains("approval_counter") }, "the counters are read and kept: \(dml)")
        #expect(!dml.contains { $0.contains("COUNT(*) FROM aeps_transaction") }, "no counting of the day's rows")
        try await server.query { db in
            for sql in dml.sorted() {
                let explain = try db.makeStatement(sql: "EXPLAIN QUERY PLAN " + sql)
                let placeholders = Int(sqlite3_bind_parameter_count(explain.sqliteStatement))
                explain.arguments = StatementArguments(Array(repeating: DatabaseValue.null, count: placeholders))
                let plan = try Row.fetchAll(explain).map { (row: Row) -> String in row["detail"] }
                for step in plan {
                    #expect(!(step.hasPrefix("SCAN ") && step != "SCAN CONSTANT ROW"), "table scan in \(sql): \(plan)")
                    #expect(!step.contains("TEMP B-TREE"), "temporary B-tree in \(sql): \(plan)")
                }
            }
        }
    }
}
