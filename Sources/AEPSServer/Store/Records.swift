import Foundation
#if canImport(Glibc)
import Glibc
#endif
import GRDB

/// A row of one of our tables: snake_case columns, an auto-incremented `id` set on insert.
public protocol StoredRecord: Codable, Sendable, FetchableRecord, MutablePersistableRecord {
    var id: Int64? { get set }
}

extension StoredRecord {
    public static var databaseColumnDecodingStrategy: DatabaseColumnDecodingStrategy { .convertFromSnakeCase }
    public static var databaseColumnEncodingStrategy: DatabaseColumnEncodingStrategy { .convertToSnakeCase }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }
}

/// A retailer registered with `aeps retailer add`: the shop whose Eko `user_code` may use the gateway.
public struct Retailer: StoredRecord, Equatable {
    public var id: Int64?
    public var userCode: String
    public var name: String
    public var active: Bool
    /// bcrypt hash of the page password; nil until one is set.
    public var passwordHash: String?
    /// Per-retailer caps (`aeps retailer set-caps`); nil: the policy's default.
    public var dailyCountCap: Int?
    public var dailyAmountCapPaise: Int64?
    /// The retailer's kill switch (`aeps kill-switch on --user-code C`).
    public var paused: Bool = false
    public var createdAt: Date
    public var updatedAt: Date

    public static let databaseTableName = "retailer"

    public enum Columns {
        static let userCode = Column("user_code")
    }
}

/// One AePS transaction, keyed by Eko's `client_ref_id`: the debit-hook's decision and what Eko reported after.
public struct TransactionRecord: StoredRecord, Equatable {
    public var id: Int64?
    public var clientRefId: String
    public var retailerId: Int64?
    public var userCode: String?
    /// 2 cash withdrawal, 3 balance enquiry, 4 mini statement; nil when the hook's type was not a number.
    public var type: Int?
    /// The amount exactly as the hook sent it (rupees as text).
    public var amountRaw: String?
    public var amountPaise: Int64?
    /// The customer's mobile (`customer_id`), kept whole here only; masked everywhere else.
    public var customerMobile: String?
    public var bankCode: String?
    public var requestFingerprint: String
    /// `approved` or `refused`.
    public var decision: String
    /// `approved`, or the refusal's reason code.
    public var reason: String
    public var message: String?
    public var state: TransactionState
    public var reportedTxStatus: Int?
    public var reportedAmountPaise: Int64?
    public var ekoTid: String?
    public var bankRefNum: String?
    public var aadhaarLast4: String?
    public var decidedAt: Date
    public var reportedAt: Date?
    /// The gateway session (token) the debit-hook was decided under, when there was one.
    public var gatewaySessionId: Int64?
    /// The Indian calendar day of the decision (`YYYY-MM-DD`), which the daily caps count by.
    public var istDay: String?
    /// How often the sweeper asked Eko, and when it asks next.
    public var inquiryAttempts: Int = 0
    public var nextInquiryAt: Date?
    public var createdAt: Date
    public var updatedAt: Date
    /// The `request_hash_params` the hook sent (JSON list), so ops can see a change at Eko.
    public var hashParamsSent: String? = nil
    /// Why a person must look (``FlagReason``), with both values: what our side had and what Eko said.
    public var flagReason: String? = nil
    public var flagClaimed: String? = nil
    public var flagEko: String? = nil
    public var flaggedAt: Date? = nil
    /// The latest answer the settlement rules applied, and where it came from (``Verification``).
    public var ekoTxStatus: Int? = nil
    public var ekoAmountPaise: Int64? = nil
    public var ekoAnsweredAt: Date? = nil
    public var ekoAnswerSource: String? = nil
    /// When Eko was last asked; until when a settled (or failed) one is asked again.
    public var lastInquiryAt: Date? = nil
    public var recheckUntil: Date? = nil
    /// When a final answer from Eko was first compared with the latest report (nil: not yet).
    public var reportCheckedAt: Date? = nil

    public static let databaseTableName = "aeps_transaction"

    public enum Columns {
        static let clientRefId = Column("client_ref_id")
    }
}

/// One received callback request, whatever became of it. `body` is masked (see ``Redactor``).
public struct CallbackLogEntry: StoredRecord, Equatable {
    public var id: Int64?
    public var receivedAt: Date
    public var requestId: String
    public var remoteAddress: String?
    public var origin: String?
    public var action: String?
    public var clientRefId: String?
    public var httpStatus: Int
    /// `approved`, `refused`, `received` or `rejected` (the request itself was bad).
    public var outcome: String
    public var reason: String?
    public var body: String?
    public var bodyBytes: Int
    public var latencyMs: Double
    /// SHA-256 (hex) of the body as received: identifies it when the body itself is not kept.
    public var bodyDigest: String? = nil

    /// A log row for a request just received; the outcome, reason and latency are filled in as it is handled.
    public init(
        id: Int64? = nil, receivedAt: Date, requestId: String, remoteAddress: String? = nil, origin: String? = nil,
        action: String? = nil, clientRefId: String? = nil, httpStatus: Int = 200, outcome: String = "rejected",
        reason: String? = nil, body: String? = nil, bodyBytes: Int = 0, latencyMs: Double = 0
    ) {
        self.id = id
        self.receivedAt = receivedAt
        self.requestId = requestId
        self.remoteAddress = remoteAddress
        self.origin = origin
        self.action = action
        self.clientRefId = clientRefId
        self.httpStatus = httpStatus
        self.outcome = outcome
        self.reason = reason
        self.body = body
        self.bodyBytes = bodyBytes
        self.latencyMs = latencyMs
    }

    public static let databaseTableName = "callback_log"
}

/// Requests no live session vouched for, counted per source (client address; IPv6 by /64) and hour.
public struct CallbackSource: Codable, Sendable, Equatable, FetchableRecord {
    public var source: String
    public var requests: Int
    public var bytes: Int
    /// How many of them left a compact log row (the rest only counted).
    public var logged: Int

    /// The source key of a client address: an IPv4 address as is, an IPv6 address by its /64 (one client
    /// usually holds a whole /64), anything else as given (bounded).
    static func key(_ address: String?) -> String {
        guard let address, !address.isEmpty else { return "unknown" }
        var bytes = [UInt8](repeating: 0, count: 16)
        guard address.contains(":"), inet_pton(AF_INET6, address, &bytes) == 1 else { return String(address.prefix(64)) }
        let groups = stride(from: 0, to: 8, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
        return groups.joined(separator: ":") + "::/64"
    }
}

/// A distinct eko-response (a byte-identical repeat is not stored twice).
public struct EkoResponseRecord: StoredRecord, Equatable {
    public var id: Int64?
    public var callbackLogId: Int64
    public var clientRefId: String?
    public var digest: String
    /// Whether a transaction with this client_ref_id was known when it arrived.
    public var matched: Bool
    public var txStatus: Int?
    public var ekoTid: String?
    public var amountPaise: Int64?
    public var receivedAt: Date

    public static let databaseTableName = "eko_response"
}

/// One opening of the gateway: a token (kept as SHA-256) bound to a retailer and its user_code, until it expires.
public struct GatewaySession: StoredRecord, Equatable {
    public var id: Int64?
    public var tokenHash: String
    public var retailerId: Int64
    public var userCode: String
    public var environment: String
    /// `page` or `api:<key name>`.
    public var issuedVia: String
    /// The language of this opening: refusal messages follow it.
    public var language: String?
    public var createdAt: Date
    public var expiresAt: Date
    public var revokedAt: Date?
    /// The partner API key that opened it (`issuedVia` is then `api:<key name>`); revoking the key revokes it.
    public var apiKeyId: Int64? = nil

    public static let databaseTableName = "gateway_session"
}

/// A retailer's page sign-in session as stored: hummingbird-auth's session value (JSON), kept under a SHA-256 of
/// the cookie, with the retailer it belongs to so it can be ended with the retailer's password or access.
public struct StoredLoginSession: Sendable, Equatable {
    public var value: Data
    public var expiresAt: Date?
}

/// A partner API key (kept as SHA-256).
public struct APIKey: StoredRecord, Equatable {
    public var id: Int64?
    public var name: String
    public var keyHash: String
    public var createdAt: Date
    public var revokedAt: Date?

    public static let databaseTableName = "api_key"
}
