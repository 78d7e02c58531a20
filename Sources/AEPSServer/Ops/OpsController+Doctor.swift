import Foundation
import Hummingbird

extension OpsController {
    /// `GET /ops/doctor?user_code=C`: the checks of `aeps doctor`, run by this server with its configuration,
    /// its database and the key it started with. Short timeouts, so the page never hangs (the CORS self-test calls
    /// this server's own callback URL over the network).
    @Sendable func doctor(_ request: Request, context: AppRequestContext) async throws -> Response {
        let signed = try await viewer(request)
        var userCode = request.uri.queryParameters["user_code"].map(String.init)
        if userCode?.isEmpty == true { userCode = nil }
        if let code = userCode, code.count > 20 || !code.allSatisfy({ $0.isASCII && $0.isNumber }) {
            throw OpsError.badRequest("user_code: expected the retailer's Eko user_code (digits, e.g. 20810200)")
        }
        let report = await Doctor(
            configuration: .success(config), accessKey: .running(signer), database: database, userCode: userCode,
            timeout: .seconds(2)
        ).run()
        return OpsPages.render("doctor", signed.layout("Doctor", [
            "userCode": userCode ?? "", "summary": report.summary,
            "checks": report.checks.map { check -> [String: Any] in
                [
                    "id": check.id, "title": check.title, "status": check.status.rawValue,
                    "statusLabel": check.status.rawValue.uppercased(), "detail": check.detail, "fix": check.fix,
                    "link": check.link,
                ]
            },
        ]))
    }

    /// `GET /ops/troubleshooting`: Eko's error messages, their causes, and how to check each.
    @Sendable func troubleshooting(_ request: Request, context: AppRequestContext) async throws -> Response {
        let signed = try await viewer(request)
        return OpsPages.render("troubleshooting", signed.layout("Troubleshooting", [
            "entries": Troubleshooting.entries.map { entry -> [String: Any] in
                [
                    "id": entry.id, "message": entry.message, "seenIn": entry.seenIn, "cause": entry.cause,
                    "prevention": entry.prevention, "howToCheck": entry.howToCheck, "simulator": entry.simulator,
                    "link": entry.link,
                ]
            },
        ]))
    }
}
