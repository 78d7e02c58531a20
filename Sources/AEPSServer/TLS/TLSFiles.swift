import Foundation
import HummingbirdTLS

/// Builds the server's TLS configuration from the PEM files named in `tls.*`, naming the key and path of any
/// file that is missing or unreadable (NIOSSL's own error names neither).
public enum TLSFiles {
    public static func serverConfiguration(_ tls: AppConfig.TLS) throws(ConfigError) -> TLSConfiguration {
        for (key, path) in [("tls.certificate_chain", tls.certificateChain), ("tls.private_key", tls.privateKey)] {
            guard FileManager.default.fileExists(atPath: path) else {
                throw ConfigError(key: key, "file not found: \(path)")
            }
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw ConfigError(key: key, "file not readable by this user: \(path)")
            }
        }
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(tls.certificateChain)
        } catch {
            throw ConfigError(key: "tls.certificate_chain", "not a PEM certificate chain: \(tls.certificateChain)")
        }
        guard !chain.isEmpty else {
            throw ConfigError(key: "tls.certificate_chain", "no certificate in \(tls.certificateChain)")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: tls.privateKey, format: .pem)
        } catch {
            throw ConfigError(key: "tls.private_key", "not a PEM private key: \(tls.privateKey)")
        }
        return TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) },
            privateKey: .privateKey(key)
        )
    }
}
