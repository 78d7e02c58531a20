import Foundation
import GRDB

extension AppDatabase {
    /// Takes the write lock in a transaction that is rolled back (nothing is written): proves the file and its
    /// folder accept writes from this user, as `aeps doctor` needs to know without changing anything.
    public func checkWritable() async throws {
        try await writer.writeWithoutTransaction { db in
            try db.inTransaction(.immediate) {
                try db.execute(sql: "CREATE TABLE doctor_probe (x INTEGER)")
                return .rollback
            }
        }
    }

    /// How many retailers are active (may open the gateway).
    public func activeRetailerCount() async throws -> Int {
        try await writer.read { db in try Retailer.filter(Column("active") == true).fetchCount(db) }
    }
}
