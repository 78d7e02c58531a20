import Foundation
import GRDB

/// Why a retailer change was not made.
public enum RetailerError: Error, Equatable, CustomStringConvertible {
    case alreadyExists(userCode: String)
    case notFound(userCode: String)

    public var description: String {
        switch self {
        case .alreadyExists(let code): "--user-code: retailer \(code) is already registered"
        case .notFound(let code): "--user-code: no retailer with user code \(code)"
        }
    }
}

extension AppDatabase {
    /// Registers a retailer (active). Fails when the user code is already registered.
    @discardableResult
    public func addRetailer(userCode: String, name: String, now: Date) async throws -> Retailer {
        try await writer.write { db in
            if try Retailer.filter(Retailer.Columns.userCode == userCode).fetchCount(db) > 0 {
                throw RetailerError.alreadyExists(userCode: userCode)
            }
            var retailer = Retailer(
                id: nil, userCode: userCode, name: name, active: true, passwordHash: nil, dailyCountCap: nil,
                dailyAmountCapPaise: nil, paused: false, createdAt: now, updatedAt: now
            )
            try retailer.insert(db)
            return retailer
        }
    }

    /// Enables or disables a retailer. Disabling also ends its page sign-ins and revokes every gateway session it
    /// has (page or partner API), in the same transaction; enabling it again restores none of them.
    /// Returns the updated retailer.
    @discardableResult
    public func setRetailerActive(userCode: String, active: Bool, now: Date) async throws -> Retailer {
        try await writer.write { db in
            guard var retailer = try Retailer.filter(Retailer.Columns.userCode == userCode).fetchOne(db) else {
                throw RetailerError.notFound(userCode: userCode)
            }
            if retailer.active != active {
                retailer.active = active
                retailer.updatedAt = now
                try retailer.update(db)
            }
            if !active {
                try Self.endPageSessions(retailerID: retailer.id!, db: db)
                try Self.revokeGatewaySessions(db, now: now, where: "retailer_id = ?", arguments: [retailer.id!])
            }
            return retailer
        }
    }

    /// All retailers, by user code.
    public func retailers() async throws -> [Retailer] {
        try await writer.read { db in try Retailer.order(Retailer.Columns.userCode).fetchAll(db) }
    }

    public func transaction(clientRefID: String) async throws -> TransactionRecord? {
        try await writer.read { db in
            try TransactionRecord.filter(TransactionRecord.Columns.clientRefId == clientRefID).fetchOne(db)
        }
    }

}
