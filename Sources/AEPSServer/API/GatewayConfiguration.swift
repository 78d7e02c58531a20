import EkoSigning
import Foundation

/// The object the page posts to Eko's gateway form (product brief 4.4): Eko's field names, all strings, plus the
/// form's `gateway_url` and the token's `expires_at`.
enum GatewayConfiguration {
    static func members(
        config: AppConfig,
        userCode: String,
        token: String,
        secretKey: String,
        timestamp: String,
        expiresAt: Date,
        language: String
    ) -> [(String, JSONValue)] {
        let params = JSONValue.object(JSONObject([.init(key: "aeps_session", value: .string(token))])).serialized()
        let headers = JSONValue.object(JSONObject([.init(key: "X-AePS-Session", value: .string(token))])).serialized()
        return [
            ("partner_name", .string(config.partnerName)),
            ("initiator_logo_url", .string(config.initiatorLogoURL)),
            ("initiator_id", .string(config.initiatorID)),
            ("developer_key", .string(config.developerKey)),
            ("secret_key", .string(secretKey)),
            ("secret_key_timestamp", .string(timestamp)),
            ("user_code", .string(userCode)),
            ("environment", .string(config.environment.rawValue)),
            ("language", .string(language)),
            ("callback_url", .string(config.callbackURL)),
            ("callback_url_custom_params", .string(params)),
            ("callback_url_custom_headers", .string(headers)),
            ("gateway_url", .string(config.gatewayURL)),
            ("expires_at", .string(ISO8601DateFormatter().string(from: expiresAt))),
        ]
    }
}

/// Mints gateway sessions: a fresh token (stored hashed) and a freshly signed configuration, for one retailer.
struct GatewaySessionIssuer: Sendable {
    let database: AppDatabase
    let config: AppConfig
    let signer: EkoSigner
    let clock: @Sendable () -> Date

    /// - Parameters:
    ///   - issuedVia: `page`, or `api:<key name>` with `apiKey` the partner API key that asked.
    func issue(
        for retailer: Retailer, language: String?, via issuedVia: String, apiKey: APIKey? = nil
    ) async throws -> [(String, JSONValue)] {
        try await issueSession(for: retailer, language: language, via: issuedVia, apiKey: apiKey).members
    }

    /// As ``issue(for:language:via:apiKey:)``, with the id of the gateway session (the opening) it stored.
    func issueSession(
        for retailer: Retailer, language: String?, via issuedVia: String, apiKey: APIKey? = nil
    ) async throws -> (sessionID: Int64, members: [(String, JSONValue)]) {
        let now = clock()
        let token = SecretToken.generate(prefix: "gs_")
        let session: GatewaySession
        do {
            session = try await database.createGatewaySession(
                retailer: retailer, tokenHash: SecretToken.hash(token), environment: config.environment.rawValue,
                issuedVia: issuedVia, apiKeyID: apiKey?.id, language: language ?? config.language, now: now,
                ttlSeconds: config.policy.sessionTTLSeconds
            )
        } catch GatewaySessionError.retailerDisabled {
            throw APIError(status: .conflict, code: "retailer_disabled", message: RefusalCode.retailerDisabled.message)
        } catch GatewaySessionError.apiKeyRevoked {
            throw APIError.unauthorizedAPIKey
        }
        let timestamp = EkoTimestamp.milliseconds(now)
        let members = GatewayConfiguration.members(
            config: config, userCode: retailer.userCode, token: token,
            secretKey: signer.secretKey(timestamp: timestamp), timestamp: timestamp,
            expiresAt: session.expiresAt, language: language ?? config.language
        )
        return (session.id!, members)
    }
}

extension JSONObject {
    /// The optional `language` member of a gateway-configuration request, checked against Eko's languages.
    func requestedLanguage() throws -> String? {
        guard let requested = self["language"] else { return nil }
        guard case .string(let code) = requested, AppConfig.languages.contains(code) else {
            throw APIError.badRequest("language must be one of \(AppConfig.languages.joined(separator: ", "))")
        }
        return code
    }
}
