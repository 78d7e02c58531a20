import Crypto
import Foundation

/// Unguessable tokens (gateway sessions, API keys, CSRF) and the one-way form in which they are stored.
public enum SecretToken {
    /// The longest token accepted anywhere (ours are 46 characters).
    public static let maxLength = 128

    /// 32 random bytes from the system's CSPRNG, base64url without padding, after a readable prefix.
    public static func generate(prefix: String) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let text = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return prefix + text
    }

    /// SHA-256 hex: what is stored and looked up, so the database never holds a usable token.
    public static func hash(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// Compares two secrets in time that does not depend on where they differ.
    public static func constantTimeEquals(_ left: String, _ right: String) -> Bool {
        let a = Array(SHA256.hash(data: Data(left.utf8)))
        let b = Array(SHA256.hash(data: Data(right.utf8)))
        var difference: UInt8 = 0
        for index in 0..<a.count { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
