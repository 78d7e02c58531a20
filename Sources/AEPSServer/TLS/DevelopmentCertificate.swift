import Crypto
import Foundation
import SwiftASN1
import X509

/// A self-signed certificate for local HTTPS (`aeps dev-cert`, `make run`): P-256, valid for `localhost`,
/// `127.0.0.1` and `::1`. Browsers will warn about it; it is for a developer's machine, never production.
public struct DevelopmentCertificate: Sendable {
    public let certificatePEM: String
    public let privateKeyPEM: String

    public static func make(now: Date, days: Int = 365, hostName: String = "localhost") throws -> DevelopmentCertificate {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName {
            OrganizationName("aeps development")
            CommonName(hostName)
        }
        let certificate = try Certificate(
            version: .v3,
            serialNumber: Certificate.SerialNumber(),
            publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-300),
            notValidAfter: now.addingTimeInterval(Double(days) * 86_400),
            issuer: name,
            subject: name,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames([
                    .dnsName(hostName),
                    .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1])),
                    .ipAddress(ASN1OctetString(contentBytes: ArraySlice(Array(repeating: 0, count: 15) + [1]))),
                ])
            },
            issuerPrivateKey: .init(key)
        )
        return DevelopmentCertificate(
            certificatePEM: try certificate.serializeAsPEM().pemString,
            privateKeyPEM: key.pemRepresentation
        )
    }

    /// Writes both files, the key readable by its owner only. Never overwrites existing files.
    public func write(certificatePath: String, privateKeyPath: String) throws {
        let manager = FileManager.default
        for path in [certificatePath, privateKeyPath] {
            try manager.createDirectory(
                at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true
            )
            guard !manager.fileExists(atPath: path) else { throw CocoaError(.fileWriteFileExists, userInfo: [NSFilePathErrorKey: path]) }
        }
        guard manager.createFile(atPath: privateKeyPath, contents: Data(privateKeyPEM.utf8), attributes: [.posixPermissions: 0o600])
        else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: privateKeyPath]) }
        guard manager.createFile(atPath: certificatePath, contents: Data(certificatePEM.utf8), attributes: [.posixPermissions: 0o644])
        else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: certificatePath]) }
    }
}
