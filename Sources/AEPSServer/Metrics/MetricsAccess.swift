import Crypto
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address range (`10.0.0.0/8`, `::1`, `192.0.2.7`), as `metrics.allowed_addresses` lists them.
public struct IPAddressRange: Sendable, Equatable, CustomStringConvertible {
    /// 4 or 16 bytes.
    let network: [UInt8]
    let prefixLength: Int

    public static let loopback = [IPAddressRange("127.0.0.0/8")!, IPAddressRange("::1")!]

    /// Parses `address` or `address/prefix`; nil when it is neither.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let bytes = Self.bytes(String(parts[0])) else { return nil }
        let bits = bytes.count * 8
        var prefix = bits
        if parts.count == 2 {
            guard let number = Int(parts[1]), (0...bits).contains(number), parts[1].allSatisfy(\.isASCIIDigit) else {
                return nil
            }
            prefix = number
        }
        network = Self.masked(bytes, prefix)
        prefixLength = prefix
    }

    public var description: String {
        var text = [CChar](repeating: 0, count: 64)
        _ = network.withUnsafeBytes { raw in
            inet_ntop(network.count == 4 ? AF_INET : AF_INET6, raw.baseAddress, &text, socklen_t(text.count))
        }
        let prefix = text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return "\(String(decoding: prefix, as: UTF8.self))/\(prefixLength)"
    }

    /// Whether `address` (text as the peer or `X-Forwarded-For` gives it) is in the range. An IPv4-mapped IPv6
    /// address (`::ffff:127.0.0.1`) is taken as its IPv4 address.
    public func contains(_ address: String) -> Bool {
        guard var bytes = Self.bytes(address) else { return false }
        if bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff {
            bytes = Array(bytes[12...])
        }
        return bytes.count == network.count && Self.masked(bytes, prefixLength) == network
    }

    private static func bytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    private static func masked(_ bytes: [UInt8], _ prefix: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in
            let keep = min(8, max(0, prefix - index * 8))
            return keep == 8 ? byte : byte & UInt8(truncatingIfNeeded: 0xff << (8 - keep))
        }
    }
}

/// Who may read `/metrics`: an allowed client address, or the bearer token from `metrics.bearer_token_file`.
public struct MetricsAccess: Sendable {
    public enum Verdict: Sendable, Equatable {
        case allowed
        /// 401: a token was sent and is wrong, or one is configured and none was sent from an address not allowed.
        case badToken(String)
        /// 403: the address is not allowed and no token is configured.
        case forbidden(String)
    }

    let allowedAddresses: [IPAddressRange]
    /// SHA-256 of the token: compared digest to digest.
    let tokenDigest: SHA256.Digest?

    public init(allowedAddresses: [IPAddressRange], token: String?) {
        self.allowedAddresses = allowedAddresses
        self.tokenDigest = token.map { SHA256.hash(data: Data($0.utf8)) }
    }

    /// Reads `metrics.bearer_token_file` (when set): one line, at least 16 characters.
    public static func load(_ config: AppConfig.Metrics) throws(ConfigError) -> MetricsAccess {
        guard let path = config.bearerTokenFile else { return MetricsAccess(allowedAddresses: config.allowedAddresses, token: nil) }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(key: "metrics.bearer_token_file", "cannot read \(path) (it must exist and be readable by the server)")
        }
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard token.count >= 16, token.allSatisfy({ $0.isASCII && !$0.isWhitespace && !$0.isNewline }),
            token.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7f })
        else {
            throw ConfigError(
                key: "metrics.bearer_token_file", "\(path) must hold one token of at least 16 printable characters"
            )
        }
        return MetricsAccess(allowedAddresses: config.allowedAddresses, token: token)
    }

    /// - Parameters:
    ///   - address: the client's address (the peer's, or behind a trusted proxy the forwarded one).
    ///   - proxiedButUntrusted: the request carries `X-Forwarded-For` while `http.trust_forwarded_for` is off: the
    ///     peer is then a proxy (often on loopback), so its address says nothing about the client and allows nothing.
    ///   - authorization: the `Authorization` header.
    public func check(address: String?, proxiedButUntrusted: Bool, authorization: String?) -> Verdict {
        if let authorization {
            let prefix = "bearer "
            guard let tokenDigest, authorization.lowercased().hasPrefix(prefix),
                SHA256.hash(data: Data(authorization.dropFirst(prefix.count).trimmingCharacters(in: .whitespaces).utf8))
                    == tokenDigest
            else { return .badToken("the bearer token is not the one in metrics.bearer_token_file") }
            return .allowed
        }
        if !proxiedButUntrusted, let address, allowedAddresses.contains(where: { $0.contains(address) }) {
            return .allowed
        }
        if tokenDigest != nil {
            return .badToken("send Authorization: Bearer with the token in metrics.bearer_token_file")
        }
        return .forbidden("this address may not read metrics; add it to metrics.allowed_addresses")
    }
}
