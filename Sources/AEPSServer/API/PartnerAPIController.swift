import EkoSigning
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdAuth

/// `/api/v1/*` for partners with their own portal: `Authorization: Bearer <api key>` (see `aeps api-key`).
struct PartnerAPIController {
    let database: AppDatabase
    let issuer: GatewaySessionIssuer

    func addRoutes(to router: Router<AppRequestContext>) {
        router.group("/api/v1")
            .add(middleware: JSONErrorMiddleware())
            .post("gateway-sessions", use: createGatewaySession)
            .get("transactions/:client_ref_id", use: transaction)
    }

    /// `POST /api/v1/gateway-sessions` `{"user_code": "…"}`: the gateway configuration for that retailer.
    @Sendable func createGatewaySession(_ request: Request, context: AppRequestContext) async throws -> Response {
        let key = try await authenticate(request)
        var request = request
        let body = try await request.jsonObject()
        guard let userCode = body["user_code"]?.scalarText, !userCode.isEmpty else {
            throw APIError.badRequest("user_code is required")
        }
        let language = try body.requestedLanguage()
        guard let retailer = try await database.retailer(userCode: userCode) else {
            throw APIError(status: .notFound, code: "unknown_retailer", message: "no retailer with user_code \(userCode)")
        }
        guard retailer.active else {
            throw APIError(status: .conflict, code: "retailer_disabled", message: "retailer \(userCode) is disabled")
        }
        let members = try await issuer.issue(for: retailer, language: language, via: "api:\(key.name)", apiKey: key)
        return JSONResponse.make(.ok, members)
    }

    /// `GET /api/v1/transactions/{client_ref_id}`: decision, states, amounts and Eko ids (customer data masked).
    @Sendable func transaction(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try await authenticate(request)
        let clientRefID = try context.parameters.require("client_ref_id")
        guard let record = try await database.transaction(clientRefID: clientRefID) else {
            throw APIError(status: .notFound, code: "not_found", message: "no transaction with client_ref_id \(clientRefID)")
        }
        let iso = ISO8601DateFormatter()
        let ledger = try await database.settlements(clientRefID: clientRefID).map { row -> JSONValue in
            .object(JSONObject([
                .init(key: "kind", value: .string(row.kind)),
                .init(key: "amount_paise", value: .number(String(row.amountPaise))),
                .init(key: "commission_paise", value: row.commissionPaise.map { .number(String($0)) } ?? .null),
                .init(key: "tds_paise", value: row.tdsPaise.map { .number(String($0)) } ?? .null),
                .init(key: "verified_by", value: .string(row.verifiedBy)),
                .init(key: "at", value: .string(iso.string(from: row.createdAt))),
            ]))
        }
        func text(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
        func number(_ value: Int64?) -> JSONValue { value.map { .number(String($0)) } ?? .null }
        return JSONResponse.make(.ok, [
            ("client_ref_id", .string(record.clientRefId)),
            ("user_code", text(record.userCode)),
            ("type", number(record.type.map(Int64.init))),
            ("amount", text(record.amountPaise.map(Paise.format))),
            ("amount_paise", number(record.amountPaise)),
            ("customer_mobile", text(record.customerMobile.map(Redactor.maskMobile))),
            ("decision", .string(record.decision)),
            ("reason", .string(record.reason)),
            ("state", .string(record.state.rawValue)),
            ("reported_tx_status", number(record.reportedTxStatus.map(Int64.init))),
            ("reported_amount_paise", number(record.reportedAmountPaise)),
            ("eko_tid", text(record.ekoTid)),
            ("bank_ref_num", text(record.bankRefNum)),
            ("aadhaar_last4", text(record.aadhaarLast4)),
            ("decided_at", .string(iso.string(from: record.decidedAt))),
            ("reported_at", text(record.reportedAt.map(iso.string))),
            ("settlements", .array(ledger)),
            // Why a person must look, with both values (what our side had, what Eko said); null when nothing is.
            ("flag", record.flagReason.map { reason in
                .object(JSONObject([
                    .init(key: "reason", value: .string(reason)),
                    .init(key: "claimed", value: text(record.flagClaimed)),
                    .init(key: "eko", value: text(record.flagEko)),
                    .init(key: "at", value: text(record.flaggedAt.map(iso.string))),
                ]))
            } ?? .null),
        ])
    }

    private func authenticate(_ request: Request) async throws -> APIKey {
        guard let token = request.headers.bearer?.token, !token.isEmpty, token.count <= 200 else {
            throw APIError.unauthorizedAPIKey
        }
        guard let key = try await database.activeAPIKey(keyHash: SecretToken.hash(token)) else {
            throw APIError.unauthorizedAPIKey
        }
        return key
    }
}

extension APIError {
    static let unauthorizedAPIKey = APIError(
        status: .unauthorized, code: "unauthorized", message: "a valid API key is required (Authorization: Bearer …)",
        headers: [(.wwwAuthenticate, "Bearer")]
    )
}
