import Crypto
import EkoSigning
import Foundation

/// A debit-hook's `detail` (protocol §5), with every value kept verbatim for `request_hash`.
public struct DebitHook: Sendable, Equatable {
    public static let cashWithdrawal = 2

    public var clientRefID: String
    /// `detail.request_hash_params`, in order.
    public var hashParams: [String]
    /// The values of those params from `detail.data`, verbatim; a missing one is the empty string.
    public var hashValues: [String]
    public var userCode: String?
    /// `data.type` as a number, when it is one (sent as a string or a number).
    public var type: Int?
    public var amountRaw: String?
    public var customerMobile: String?
    public var bankCode: String?

    /// The amount in paise, when `amountRaw` is a plain rupee amount.
    public var amountPaise: Int64? { amountRaw.flatMap(Paise.parse) }

    /// What makes two hooks "the same request": a repeat with the same fingerprint gets the same decision.
    public var fingerprint: String {
        let canonical = JSONValue.array([
            .string(userCode ?? ""), .string(type.map(String.init) ?? ""), .string(amountRaw ?? ""),
            .string(customerMobile ?? ""), .string(bankCode ?? ""),
            .array(hashParams.map(JSONValue.string)), .array(hashValues.map(JSONValue.string)),
        ]).serialized()
        return SHA256.hash(data: Data(canonical.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Reads a `detail` object. Throws ``CallbackRequestError`` naming the first missing or malformed field.
    public init(detail: JSONObject) throws(CallbackRequestError) {
        guard let clientRefID = detail["client_ref_id"]?.scalarText, !clientRefID.isEmpty else {
            throw CallbackRequestError(.invalidDetail, "detail.client_ref_id is missing")
        }
        guard case .object(let data)? = detail["data"] else {
            throw CallbackRequestError(.invalidDetail, "detail.data is missing or not an object")
        }
        guard case .array(let params)? = detail["request_hash_params"] else {
            throw CallbackRequestError(.invalidDetail, "detail.request_hash_params is missing or not a list")
        }
        var names: [String] = []
        for param in params {
            guard case .string(let name) = param else {
                throw CallbackRequestError(.invalidDetail, "detail.request_hash_params must list field names")
            }
            names.append(name)
        }
        self.clientRefID = clientRefID
        self.hashParams = names
        self.hashValues = names.map { data[$0]?.hashText ?? "" }
        self.userCode = data["user_code"]?.scalarText
        self.type = data["type"]?.scalarText.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        self.amountRaw = data["amount"]?.scalarText
        self.customerMobile = data["customer_id"]?.scalarText
        self.bankCode = data["bank_code"]?.scalarText
    }
}

/// An eko-response's `detail` (protocol §6): the fields the server acts on. The whole body is kept, masked.
public struct EkoResponse: Sendable, Equatable {
    public var clientRefID: String?
    public var txStatus: Int?
    public var amountPaise: Int64?
    public var tid: String?
    public var bankRefNum: String?
    public var aadhaarLast4: String?

    public init(detail: JSONObject) {
        clientRefID = detail["client_ref_id"]?.scalarText.flatMap { $0.isEmpty ? nil : $0 }
        let data = detail["response"]?["data"]
        txStatus = data?["tx_status"]?.scalarText.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        amountPaise = data?["amount"]?.scalarText.flatMap(Paise.parse)
        tid = data?["tid"]?.scalarText
        bankRefNum = data?["bank_ref_num"]?.scalarText
        aadhaarLast4 = (data?["aadhar"] ?? data?["aadhaar"])?.scalarText.flatMap(Redactor.aadhaarLastFour)
    }
}

/// A callback request that cannot be handled as sent: answered 4xx with a stable `error` code, and recorded.
public struct CallbackRequestError: Error, Sendable, Equatable {
    public enum Code: String, Sendable {
        case unsupportedMediaType = "unsupported_media_type"
        case bodyTooLarge = "body_too_large"
        case malformedJSON = "malformed_json"
        case missingAction = "missing_action"
        case unknownAction = "unknown_action"
        case missingDetail = "missing_detail"
        case invalidDetail = "invalid_detail"
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var status: Int {
        switch code {
        case .unsupportedMediaType: 415
        case .bodyTooLarge: 413
        default: 400
        }
    }
}
