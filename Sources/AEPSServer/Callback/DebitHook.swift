import Crypto
import EkoSigning
import Foundation

/// A debit-hook's `detail` (protocol §5), read once and bounded. Every value is kept as sent (the policy decides
/// whether it is canonical); nothing here is signed: the server signs only an ``Approval`` the policy made.
public struct DebitHook: Sendable, Equatable {
    public static let cashWithdrawal = 2
    /// Longest `client_ref_id` accepted (Eko's are ~20 characters).
    public static let maxClientRefIDLength = 64
    /// Longest `user_code` accepted (Eko's are 8 digits).
    public static let maxUserCodeLength = 32
    /// Longest value of any other stored field of `data` (type, amount, customer_id, bank_code).
    public static let maxFieldLength = 32
    /// Most names accepted in `request_hash_params` (Eko sends 2 or 3), and the longest name.
    public static let maxHashParams = 8
    public static let maxHashParamLength = 32

    public var clientRefID: String
    /// `detail.request_hash_params` as sent, in order: compared with the server's table, never used to sign.
    public var hashParams: [String]
    public var userCode: String?
    /// `data.type` as sent (a string or a number's literal).
    public var typeRaw: String?
    public var amountRaw: String?
    public var customerMobile: String?
    public var bankCode: String?

    /// The service type when `data.type` is canonical: a single digit 1-9 (`"2"` or `2`; not `"02"`, `" 2"`, `"+2"`).
    public var type: Int? {
        guard let typeRaw, typeRaw.count == 1, let digit = typeRaw.first, digit.isASCIIDigit, digit != "0" else { return nil }
        return Int(typeRaw)
    }

    /// The amount in paise when `amountRaw` is canonical whole rupees: digits only, no sign, space, paise or leading
    /// zero, at most 7 digits. `"500"` is 50000; `"0500"`, `"500.00"`, `"+500"` and `" 500"` are nil.
    public var amountPaise: Int64? {
        guard let amountRaw, (1...7).contains(amountRaw.count), amountRaw.first != "0",
            amountRaw.allSatisfy(\.isASCIIDigit)
        else { return nil }
        return Int64(amountRaw)! * 100
    }

    /// What a service without money may carry as its amount: nothing, `""` or `"0"`.
    public static func isNoAmount(_ raw: String?) -> Bool {
        raw == nil || raw == "" || raw == "0"
    }

    /// A customer mobile in its one reading: exactly 10 ASCII digits.
    public static func isCanonicalMobile(_ text: String) -> Bool {
        text.utf8.count == 10 && text.allSatisfy(\.isASCIIDigit)
    }

    /// `request_hash_params` as sent, as a JSON list (what is stored for ops).
    public var hashParamsText: String { JSONValue.array(hashParams.map(JSONValue.string)).serialized() }

    /// What makes two hooks "the same request": a repeat must match it exactly.
    public var fingerprint: String {
        let canonical = JSONValue.array([
            .string(userCode ?? ""), .string(typeRaw ?? ""), .string(amountRaw ?? ""),
            .string(customerMobile ?? ""), .string(bankCode ?? ""),
            .array(hashParams.map(JSONValue.string)),
        ]).serialized()
        return Hex.sha256(Data(canonical.utf8))
    }

    /// Reads a `detail` object. Throws ``CallbackRequestError`` naming the first missing, oversized or malformed
    /// field: identifiers are printable ASCII without spaces, and no stored value may hold a control character.
    public init(detail: JSONObject) throws(CallbackRequestError) {
        guard let clientRefID = detail["client_ref_id"]?.scalarText, !clientRefID.isEmpty else {
            throw CallbackRequestError(.invalidDetail, "detail.client_ref_id is missing")
        }
        try CallbackRequestError.checkIdentifier(clientRefID, field: "detail.client_ref_id", maxLength: Self.maxClientRefIDLength)
        guard case .object(let data)? = detail["data"] else {
            throw CallbackRequestError(.invalidDetail, "detail.data is missing or not an object")
        }
        guard case .array(let params)? = detail["request_hash_params"] else {
            throw CallbackRequestError(.invalidDetail, "detail.request_hash_params is missing or not a list")
        }
        guard params.count <= Self.maxHashParams else {
            throw CallbackRequestError(.fieldTooLong, "detail.request_hash_params lists more than \(Self.maxHashParams) names")
        }
        var names: [String] = []
        for param in params {
            guard case .string(let name) = param else {
                throw CallbackRequestError(.invalidDetail, "detail.request_hash_params must list field names")
            }
            try CallbackRequestError.checkIdentifier(name, field: "detail.request_hash_params", maxLength: Self.maxHashParamLength)
            names.append(name)
        }
        func field(_ name: String, maxLength: Int = Self.maxFieldLength) throws(CallbackRequestError) -> String? {
            guard let value = data[name], value != .null else { return nil }
            guard let text = value.scalarText else {
                throw CallbackRequestError(.invalidDetail, "detail.data.\(name) must be text or a number")
            }
            try CallbackRequestError.checkText(text, field: "detail.data.\(name)", maxLength: maxLength)
            return text
        }
        self.clientRefID = clientRefID
        self.hashParams = names
        self.userCode = try field("user_code", maxLength: Self.maxUserCodeLength)
        if let userCode, !userCode.isEmpty {
            try CallbackRequestError.checkIdentifier(userCode, field: "detail.data.user_code", maxLength: Self.maxUserCodeLength)
        }
        self.typeRaw = try field("type")
        self.amountRaw = try field("amount")
        self.customerMobile = try field("customer_id")
        self.bankCode = try field("bank_code")
    }
}

/// An eko-response's `detail` (protocol §6): the fields the server acts on. The whole body is kept, masked.
public struct EkoResponse: Sendable, Equatable {
    public var clientRefID: String?
    /// The body had a client_ref_id, but not a bounded printable identifier (it is then kept as none).
    public var invalidReference = false
    public var txStatus: Int?
    public var amountPaise: Int64?
    public var tid: String?
    public var bankRefNum: String?
    public var aadhaarLast4: String?

    /// Reads what the server acts on. Anyone can post one, so every value that is stored is bounded: a
    /// client_ref_id that is not a printable identifier of at most 64 characters counts as none, and a tid or
    /// bank reference with control characters or over 64 characters is dropped.
    public init(detail: JSONObject) {
        if let reference = detail["client_ref_id"]?.scalarText, !reference.isEmpty {
            do {
                try CallbackRequestError.checkIdentifier(
                    reference, field: "detail.client_ref_id", maxLength: DebitHook.maxClientRefIDLength
                )
                clientRefID = reference
            } catch {
                invalidReference = true
            }
        }
        let data = detail["response"]?["data"]
        func bounded(_ value: JSONValue?) -> String? {
            guard let text = value?.scalarText, (try? CallbackRequestError.checkText(text, field: "", maxLength: 64)) != nil
            else { return nil }
            return text
        }
        txStatus = bounded(data?["tx_status"]).flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        amountPaise = bounded(data?["amount"]).flatMap(Paise.parse)
        tid = bounded(data?["tid"])
        bankRefNum = bounded(data?["bank_ref_num"])
        aadhaarLast4 = bounded(data?["aadhar"] ?? data?["aadhaar"]).flatMap(Redactor.aadhaarLastFour)
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
        /// A value is longer than this server accepts for it.
        case fieldTooLong = "field_too_long"
        /// A value holds a control character (NUL, newline, escape, ...).
        case controlCharacter = "control_character"
        /// An identifier is not printable ASCII without spaces.
        case invalidIdentifier = "invalid_identifier"
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// Refuses text with a control character or over `maxLength` characters.
    public static func checkText(_ text: String, field: String, maxLength: Int) throws(CallbackRequestError) {
        guard text.unicodeScalars.count <= maxLength else {
            throw CallbackRequestError(.fieldTooLong, "\(field) is longer than \(maxLength) characters")
        }
        guard !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw CallbackRequestError(.controlCharacter, "\(field) contains a control character (NUL, newline, escape, ...)")
        }
    }

    /// Identifiers (client_ref_id, user_code, tokens): bounded, and printable ASCII without spaces.
    public static func checkIdentifier(_ text: String, field: String, maxLength: Int) throws(CallbackRequestError) {
        try checkText(text, field: field, maxLength: maxLength)
        guard text.unicodeScalars.allSatisfy({ (0x21...0x7E).contains($0.value) }) else {
            throw CallbackRequestError(.invalidIdentifier, "\(field) must be printable ASCII without spaces")
        }
    }

    public var status: Int {
        switch code {
        case .unsupportedMediaType: 415
        case .bodyTooLarge: 413
        default: 400
        }
    }
}
