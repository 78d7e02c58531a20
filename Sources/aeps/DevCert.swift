import AEPSServer
import ArgumentParser
import Foundation

struct DevCert: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dev-cert",
        abstract: "Make a self-signed certificate for local HTTPS (localhost, 127.0.0.1, ::1).",
        discussion: """
            For a developer's machine only: browsers and curl need to be told to trust it (curl --cacert FILE). \
            Production uses a real certificate, or TLS at a reverse proxy (see deploy/). \
            Existing files are never overwritten.
            """
    )

    @Option(help: ArgumentHelp("Where to write the certificate (PEM).", valueName: "path"))
    var certificate = "dev-certs/localhost.pem"

    @Option(help: ArgumentHelp("Where to write the private key (PEM, mode 600).", valueName: "path"))
    var privateKey = "dev-certs/localhost-key.pem"

    @Option(help: ArgumentHelp("Days the certificate stays valid.", valueName: "n"))
    var days = 365

    func validate() throws {
        guard (1...825).contains(days) else { throw ValidationError("--days: expected 1 to 825") }
        if FileManager.default.fileExists(atPath: certificate) {
            throw ValidationError("--certificate: \(certificate) already exists; delete it to make a new one")
        }
        if FileManager.default.fileExists(atPath: privateKey) {
            throw ValidationError("--private-key: \(privateKey) already exists; delete it to make a new one")
        }
    }

    func run() async throws {
        let made = try DevelopmentCertificate.make(now: Date(), days: days)
        try made.write(certificatePath: certificate, privateKeyPath: privateKey)
        print("wrote \(certificate) and \(privateKey) (self-signed for localhost, valid \(days) days)")
    }
}
