import EkoSigning
import Foundation

/// One finding of `aeps doctor` (and of the console's doctor page): what was checked, what was found, what to do
/// about it, and Eko's page on the subject. Never holds a secret.
public struct DoctorCheck: Sendable, Equatable {
    public enum Status: String, Sendable, CaseIterable {
        case pass, warn, fail
        /// Not run: something it needs failed first, or it was not asked for (says which in `detail`).
        case skipped
    }

    /// A stable name (`access_key`, `cors`, …), used by `--json`, the console and the troubleshooting guide.
    public var id: String
    public var title: String
    public var status: Status
    /// The cause (or what was found), in plain words.
    public var detail: String
    /// What to do; empty when there is nothing to do.
    public var fix: String
    /// Eko's documentation page for this subject.
    public var link: String

    public init(id: String, title: String, status: Status, detail: String, fix: String = "", link: String) {
        self.id = id
        self.title = title
        self.status = status
        self.detail = detail
        self.fix = fix
        self.link = link
    }
}

/// Eko's documentation pages (product.md §7).
public enum EkoDocs {
    public static let authentication = "https://developers.eko.in/docs/authentication"
    public static let platformCredentials = "https://developers.eko.in/docs/platform-credentials"
    public static let gatewayWorkflow = "https://developers.eko.in/docs/aeps-gateway-workflow"
    public static let webIntegration = "https://developers.eko.in/docs/aeps-web-integration"
    public static let backendIntegration = "https://developers.eko.in/docs/aeps-backend-integration"
    public static let cors = "https://developers.eko.in/docs/enable-cors"
    public static let activateService = "https://developers.eko.in/reference/activate-service"
    public static let onboardUser = "https://developers.eko.in/reference/onboard-user"
    public static let transactionInquiry = "https://developers.eko.in/reference/money-transfer-inquiry"
}

/// The doctor's findings as a whole: the exit status and the two renderings (people, `--json`).
public struct DoctorReport: Sendable {
    public var checks: [DoctorCheck]

    public init(checks: [DoctorCheck]) { self.checks = checks }

    public var failed: Bool { checks.contains { $0.status == .fail } }

    public func count(_ status: DoctorCheck.Status) -> Int { checks.filter { $0.status == status }.count }

    /// One line of totals.
    public var summary: String {
        "\(checks.count) checks: \(count(.pass)) passed, \(count(.warn)) warnings, \(count(.fail)) failed, "
            + "\(count(.skipped)) skipped"
    }

    /// One block per check, labels aligned:
    /// ```
    /// [FAIL] access_key: Access key
    ///        cause: …
    ///        fix:   …
    ///        docs:  https://…
    /// ```
    public var text: String {
        var out = ""
        for check in checks {
            let label = "[\(check.status.rawValue.uppercased())]".padding(toLength: 10, withPad: " ", startingAt: 0)
            let indent = String(repeating: " ", count: 10)
            out += "\(label)\(check.id): \(check.title)\n"
            out += "\(indent)cause: \(check.detail)\n"
            if !check.fix.isEmpty { out += "\(indent)fix:   \(check.fix)\n" }
            out += "\(indent)docs:  \(check.link)\n\n"
        }
        out += summary + (failed ? " (exit status 1)" : "") + "\n"
        return out
    }

    /// `[{"id", "title", "status", "detail", "fix", "link"}, …]`.
    public var json: String {
        JSONValue.array(checks.map { check in
            .object(JSONObject([
                .init(key: "id", value: .string(check.id)), .init(key: "title", value: .string(check.title)),
                .init(key: "status", value: .string(check.status.rawValue)), .init(key: "detail", value: .string(check.detail)),
                .init(key: "fix", value: .string(check.fix)), .init(key: "link", value: .string(check.link)),
            ]))
        }).serialized()
    }
}
