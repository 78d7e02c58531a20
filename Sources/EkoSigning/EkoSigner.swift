import Crypto
import Foundation

/// Eko's signing recipe (protocol §3), pure: no clock, no I/O.
///
/// ```
/// secret_key   = base64(HMAC-SHA256(key: ascii(base64(access_key)), message: timestamp))
/// request_hash = base64(HMAC-SHA256(key: ascii(base64(access_key)), message: timestamp + v1 + v2 + ...))
/// ```
public struct EkoSigner: Sendable {
    private let key: SymmetricKey

    public init(accessKey: EkoAccessKey) {
        self.key = SymmetricKey(data: accessKey.encodedKeyBytes)
    }

    /// `secret_key` for a `secret_key_timestamp` (milliseconds since the epoch, as decimal text).
    public func secretKey(timestamp: String) -> String {
        mac(timestamp)
    }

    /// `request_hash` for a timestamp and the values of `request_hash_params`, in that order, concatenated as is.
    public func requestHash(timestamp: String, values: [String]) -> String {
        mac(timestamp + values.joined())
    }

    /// Both values for one fresh timestamp: one answer always uses one timestamp for both (protocol §3).
    public func sign(timestamp: String, values: [String]) -> Signature {
        Signature(
            timestamp: timestamp,
            secretKey: secretKey(timestamp: timestamp),
            requestHash: requestHash(timestamp: timestamp, values: values)
        )
    }

    private func mac(_ message: String) -> String {
        Data(HMAC<SHA256>.authenticationCode(for: Data(message.utf8), using: key)).base64EncodedString()
    }
}

/// A signed answer's three values. Its `description` hides the secrets so it cannot be logged by accident.
public struct Signature: Sendable, Equatable, CustomStringConvertible {
    public let timestamp: String
    public let secretKey: String
    public let requestHash: String

    public var description: String { "Signature(timestamp: \(timestamp), secret_key: redacted, request_hash: redacted)" }
}

/// `secret_key_timestamp` values: milliseconds since the Unix epoch as decimal text.
public enum EkoTimestamp {
    /// The timestamp for an instant, e.g. `1700000000000` for 2023-11-14T22:13:20Z.
    public static func milliseconds(_ date: Date) -> String {
        String(Int64((date.timeIntervalSince1970 * 1000).rounded(.down)))
    }
}
