import Foundation

/// The partner's Eko access key ("authenticator key"). It is used only to sign and never leaves the server.
///
/// Its `description` is redacted, so interpolating it into a log line or an error message cannot leak it.
public struct EkoAccessKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The bytes of the base64 text of the key: Eko's HMAC key is this *text*, not the decoded key (protocol §3).
    let encodedKeyBytes: Data
    private let isPublicUAT: Bool

    /// The public UAT access keys that every integrator shares (protocol §2). Production must never run with them.
    public static let publicUATKeys: Set<String> = [
        "d2fe1d99-6298-4af2-8cc5-d97dcf46df30",
        "f74c50a1-f705-4634-9cda-30a477df91b7",
    ]

    /// Wraps a key as Eko issued it (surrounding whitespace, e.g. a trailing newline from a key file, is removed).
    /// Returns nil for an empty key.
    public init?(_ raw: String) {
        let key = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !key.isEmpty else { return nil }
        self.encodedKeyBytes = Data(Data(key.utf8).base64EncodedString().utf8)
        self.isPublicUAT = Self.publicUATKeys.contains(key.lowercased())
    }

    /// True when this is one of the public UAT keys published by Eko.
    public var isPublicUATKey: Bool { isPublicUAT }

    public var description: String { "EkoAccessKey(redacted)" }
    public var debugDescription: String { description }
}
