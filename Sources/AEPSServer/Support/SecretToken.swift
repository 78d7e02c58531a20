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
        Hex.sha256(Data(token.utf8))
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

/// Lower-case hex text of bytes (digests), without Foundation's `String(format:)`, which is slow on Linux and was
/// 6 % of a debit-hook's CPU under load (docs/performance.md).
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// SHA-256 of `data`, as hex.
    public static func sha256(_ data: some DataProtocol) -> String { encode(SHA256.hash(data: data)) }
}
