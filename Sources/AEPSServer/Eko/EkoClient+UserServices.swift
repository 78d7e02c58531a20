import AsyncHTTPClient
import EkoSigning
import Foundation
import NIOCore

/// One service in Eko's User Services Enquiry answer (AePS Gateway is `service_code` 43; status `1` = activated).
public struct EkoUserService: Sendable, Equatable {
    public var code: String
    public var status: String
    public var description: String?

    public var isActive: Bool { status == "1" }
}

/// What Eko's User Services Enquiry said about one `user_code` (protocol §9).
public enum UserServicesOutcome: Sendable, Equatable {
    /// Eko answered with its envelope; `status` 0 means the enquiry itself succeeded.
    case answered(status: Int?, message: String?, services: [EkoUserService])
    /// HTTP 403: a wrong access key, a stale timestamp, or the developer key used as the access key (Eko FAQ).
    case forbidden
    /// Another HTTP status, or an answer that is not Eko's envelope.
    case unexpected(reason: String)
    /// No answer (not reachable, timed out).
    case unreachable(reason: String)
}

extension EkoClient {
    /// AePS Gateway's service code in Eko's service lists.
    public static let aepsGatewayServiceCode = "43"

    /// User Services Enquiry: `GET {api base}/user/services/user_code:{C}?initiator_id=…`, signed like the inquiry.
    /// Asked once (it is a diagnosis, not money): not retried and not recorded in `eko_call`.
    public func userServices(userCode: String) async -> UserServicesOutcome {
        await Self.userServices(
            userCode: userCode, config: config, signer: signer, http: http, now: clock(),
            timeout: .milliseconds(Int64(config.ekoReadTimeoutMilliseconds))
        )
    }

    /// The same enquiry without a database (for `aeps doctor`, which may run before the database is usable).
    public static func userServices(
        userCode: String, config: AppConfig, signer: EkoSigner, http: HTTPClient, now: Date, timeout: TimeAmount
    ) async -> UserServicesOutcome {
        let url = "\(config.ekoAPIBase)/user/services/user_code:\(escape(userCode))?initiator_id=\(config.initiatorID)"
        let request = signedGET(url: url, config: config, signer: signer, now: now)
        do {
            let response = try await http.execute(request, timeout: timeout)
            let body = try await response.body.collect(upTo: 256 * 1024)
            switch response.status.code {
            case 403: return .forbidden
            case 200..<300: break
            default: return .unexpected(reason: "Eko answered HTTP \(response.status.code)")
            }
            guard case .object(let envelope)? = try? JSONValue.parse(body.readableBytesView),
                envelope["status"] != nil || envelope["data"] != nil
            else { return .unexpected(reason: "Eko answered with a body that is not its JSON envelope") }
            var services: [EkoUserService] = []
            if case .array(let items)? = envelope["data"]?["service_status_list"] {
                for item in items {
                    guard let code = item["service_code"]?.scalarText else { continue }
                    services.append(EkoUserService(
                        code: code, status: item["status"]?.scalarText ?? "", description: item["status_desc"]?.scalarText
                    ))
                }
            }
            let status = envelope["status"]?.scalarText.flatMap { Int($0) }
            return .answered(status: status, message: envelope["message"]?.scalarText, services: services)
        } catch {
            return .unreachable(reason: "\(error)".prefix(200).description)
        }
    }
}
