import AEPSServer
import EkoSigning
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct TLSTests {
    /// Makes a certificate in the test, serves HTTPS with it, and gets a signed approval over a real TLS socket.
    @Test func aDebitHookIsApprovedOverHTTPS() async throws {
        let directory = try TemporaryDirectory()
        let certificate = directory.path("localhost.pem")
        let key = directory.path("localhost-key.pem")
        try DevelopmentCertificate.make(now: Date()).write(certificatePath: certificate, privateKeyPath: key)
        let keyMode = try FileManager.default.attributesOfItem(atPath: key)[.posixPermissions] as? Int
        #expect(keyMode == 0o600)

        let server = try TestServer(overrides: [
            "tls": "{\"certificate_chain\": \"\(certificate)\", \"private_key\": \"\(key)\"}",
        ])
        try await server.addRetailer()
        try await server.makeApp().test(.ahc(.https)) { client in
            let answer = try await postCallback(client, debitHookBody())
            #expect(answer.status == .ok)
            #expect(answer.headers[.accessControlAllowOrigin] == stageOrigin)
            #expect(answer.json["allow"] == .bool(true))
            #expect(answer.json["request_hash"] == .string("SYWYFfRpGAMuMjgJELzPK7uHJst8GPzoTqnZj9W3BeE="))
        }
    }

    @Test(arguments: ["certificate_chain", "private_key"])
    func aMissingCertificateFileIsNamed(missing: String) throws {
        let directory = try TemporaryDirectory()
        let certificate = directory.path("c.pem")
        let key = directory.path("k.pem")
        try DevelopmentCertificate.make(now: Date()).write(certificatePath: certificate, privateKeyPath: key)
        try FileManager.default.removeItem(atPath: missing == "certificate_chain" ? certificate : key)
        let server = try TestServer(overrides: [
            "tls": "{\"certificate_chain\": \"\(certificate)\", \"private_key\": \"\(key)\"}",
        ])
        #expect {
            try server.makeApp()
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.key == "tls.\(missing)" && error.message.contains("file not found")
        }
    }

    @Test func aFileThatIsNotPEMIsNamed() throws {
        let directory = try TemporaryDirectory()
        let certificate = directory.path("c.pem")
        let key = directory.path("k.pem")
        _ = FileManager.default.createFile(atPath: certificate, contents: Data("not a certificate".utf8))
        _ = FileManager.default.createFile(atPath: key, contents: Data("not a key".utf8))
        let server = try TestServer(overrides: [
            "tls": "{\"certificate_chain\": \"\(certificate)\", \"private_key\": \"\(key)\"}",
        ])
        #expect {
            try server.makeApp()
        } throws: { error in
            (error as? ConfigError)?.key == "tls.certificate_chain"
        }
    }
}
