import Crypto
import EkoSigning
import Foundation
import Testing

@Suite struct EkoSignerTests {
    /// The four (timestamp, secret_key) pairs from Eko's published material, all made with the older UAT key.
    @Test(arguments: [
        ("1516705204593", "MC6dKW278tBef+AuqL/5rW2K3WgOegF0ZHLW/FriZQw="),
        ("1532582133692", "dCUujUywtuu86CyoHkZZzBjLUAVC365e6PLaa4UYwqM="),
        ("1550561806065", "zzXQ/vUshAV32utYyzmNLfwOuGKZbu5H6Fh4S7I3nos="),
        ("1585999782835", "y4aNr2cuSuaX2fCsfXMVopqvaZtx9MKHCcsF73fHxvc="),
    ])
    func secretKeyMatchesEkoPublishedPair(timestamp: String, expected: String) throws {
        let signer = EkoSigner(accessKey: try #require(EkoAccessKey("f74c50a1-f705-4634-9cda-30a477df91b7")))
        #expect(signer.secretKey(timestamp: timestamp) == expected)
    }

    @Test func secretKeyMatchesProtocolVectorForCurrentUATKey() throws {
        let signer = EkoSigner(accessKey: try #require(EkoAccessKey("d2fe1d99-6298-4af2-8cc5-d97dcf46df30")))
        #expect(signer.secretKey(timestamp: "1700000000000") == "qIir8tILHtqxO1Mu3/fC3pVElIa0oIxXMRDUP0463Bc=")
    }

    @Test(arguments: [
        (["9876543210", "500", "20810200"], "SYWYFfRpGAMuMjgJELzPK7uHJst8GPzoTqnZj9W3BeE="),
        (["9876543210", "20810200"], "H56K1czvT/I0a0NKiHnYcn9CS0fPCESNaiFJAMt+fOQ="),
    ])
    func requestHashMatchesProtocolVector(values: [String], expected: String) throws {
        let signer = EkoSigner(accessKey: try #require(EkoAccessKey("d2fe1d99-6298-4af2-8cc5-d97dcf46df30")))
        #expect(signer.requestHash(timestamp: "1700000000000", values: values) == expected)
    }

    @Test func signUsesOneTimestampForBothValues() throws {
        let signer = EkoSigner(accessKey: try #require(EkoAccessKey("d2fe1d99-6298-4af2-8cc5-d97dcf46df30")))
        let signature = signer.sign(timestamp: "1700000000000", values: ["9876543210", "500", "20810200"])
        #expect(signature.timestamp == "1700000000000")
        #expect(signature.secretKey == "qIir8tILHtqxO1Mu3/fC3pVElIa0oIxXMRDUP0463Bc=")
        #expect(signature.requestHash == "SYWYFfRpGAMuMjgJELzPK7uHJst8GPzoTqnZj9W3BeE=")
    }

    @Test func theHMACKeyIsTheBase64TextNotTheDecodedKey() throws {
        // The Node example that decodes the base64 first produces what Eko rejects; make sure we are not that.
        let access = "d2fe1d99-6298-4af2-8cc5-d97dcf46df30"
        let wrongKey = SymmetricKey(data: Data(access.utf8))
        let wrong = Data(HMAC<SHA256>.authenticationCode(for: Data("1700000000000".utf8), using: wrongKey))
            .base64EncodedString()
        let signer = EkoSigner(accessKey: try #require(EkoAccessKey(access)))
        #expect(signer.secretKey(timestamp: "1700000000000") != wrong)
    }

    @Test func keyFileWhitespaceIsIgnoredAndBlankKeysAreRejected() throws {
        let fromFile = try #require(EkoAccessKey("d2fe1d99-6298-4af2-8cc5-d97dcf46df30\n"))
        #expect(EkoSigner(accessKey: fromFile).secretKey(timestamp: "1700000000000") == "qIir8tILHtqxO1Mu3/fC3pVElIa0oIxXMRDUP0463Bc=")
        #expect(EkoAccessKey("  \n") == nil)
    }

    @Test func accessKeyAndSignatureNeverPrintTheirSecrets() throws {
        let key = try #require(EkoAccessKey("d2fe1d99-6298-4af2-8cc5-d97dcf46df30"))
        #expect(!"\(key)".contains("d2fe1d99"))
        #expect(!String(reflecting: key).contains("d2fe1d99"))
        let signature = EkoSigner(accessKey: key).sign(timestamp: "1700000000000", values: [])
        #expect(!"\(signature)".contains(signature.secretKey))
        #expect(!"\(signature)".contains(signature.requestHash))
    }

    @Test func publicUATKeysAreRecognised() throws {
        #expect(try #require(EkoAccessKey("d2fe1d99-6298-4af2-8cc5-d97dcf46df30")).isPublicUATKey)
        #expect(try #require(EkoAccessKey("f74c50a1-f705-4634-9cda-30a477df91b7")).isPublicUATKey)
        #expect(try !#require(EkoAccessKey("11111111-2222-3333-4444-555555555555")).isPublicUATKey)
    }

    @Test func timestampIsMillisecondsSinceTheEpoch() {
        #expect(EkoTimestamp.milliseconds(Date(timeIntervalSince1970: 1_700_000_000)) == "1700000000000")
        #expect(EkoTimestamp.milliseconds(Date(timeIntervalSince1970: 1_700_000_000.1239)) == "1700000000123")
    }

    @Test func startupSelfTestPasses() {
        #expect(EkoSigningSelfTest.failures().isEmpty)
        #expect(EkoSigningSelfTest.vectors.count == 7)
    }

    @Test func startupSelfTestReportsAWrongVector() {
        let wrong = EkoSigningSelfTest.Vector(
            source: "tampered", accessKey: "d2fe1d99-6298-4af2-8cc5-d97dcf46df30", timestamp: "1700000000000",
            values: ["9876543210", "501", "20810200"], expected: "SYWYFfRpGAMuMjgJELzPK7uHJst8GPzoTqnZj9W3BeE="
        )
        let failures = EkoSigningSelfTest.failures(of: EkoSigningSelfTest.vectors + [wrong])
        #expect(failures.count == 1)
        #expect(failures.first?.hasPrefix("tampered: expected SYWYFfRp") == true)
    }
}
