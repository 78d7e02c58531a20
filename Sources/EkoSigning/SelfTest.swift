import Foundation

/// Signing vectors that pin the recipe to what Eko accepts, checked in the test suite and at every server start.
public enum EkoSigningSelfTest {
    /// One `(access key, timestamp, values?, expected)` case. `values == nil` means a `secret_key`.
    public struct Vector: Sendable {
        public let source: String
        public let accessKey: String
        public let timestamp: String
        public let values: [String]?
        public let expected: String

        public init(source: String, accessKey: String, timestamp: String, values: [String]?, expected: String) {
            self.source = source
            self.accessKey = accessKey
            self.timestamp = timestamp
            self.values = values
            self.expected = expected
        }
    }

    /// Four `(timestamp, secret_key)` pairs that appear in Eko's own published material, all made with the older
    /// public UAT key, plus the project's vectors for the current UAT key (protocol §3).
    public static let vectors: [Vector] = [
        .init(source: "Eko API docs sample headers", accessKey: "f74c50a1-f705-4634-9cda-30a477df91b7",
              timestamp: "1516705204593", values: nil, expected: "MC6dKW278tBef+AuqL/5rW2K3WgOegF0ZHLW/FriZQw="),
        .init(source: "aeps-gateway-lib config() example", accessKey: "f74c50a1-f705-4634-9cda-30a477df91b7",
              timestamp: "1532582133692", values: nil, expected: "dCUujUywtuu86CyoHkZZzBjLUAVC365e6PLaa4UYwqM="),
        .init(source: "UAT gateway sample (2019)", accessKey: "f74c50a1-f705-4634-9cda-30a477df91b7",
              timestamp: "1550561806065", values: nil, expected: "zzXQ/vUshAV32utYyzmNLfwOuGKZbu5H6Fh4S7I3nos="),
        .init(source: "aeps-gateway-lib README", accessKey: "f74c50a1-f705-4634-9cda-30a477df91b7",
              timestamp: "1585999782835", values: nil, expected: "y4aNr2cuSuaX2fCsfXMVopqvaZtx9MKHCcsF73fHxvc="),
        .init(source: "protocol §3 secret_key", accessKey: "d2fe1d99-6298-4af2-8cc5-d97dcf46df30",
              timestamp: "1700000000000", values: nil, expected: "qIir8tILHtqxO1Mu3/fC3pVElIa0oIxXMRDUP0463Bc="),
        .init(source: "protocol §3 request_hash (type 2)", accessKey: "d2fe1d99-6298-4af2-8cc5-d97dcf46df30",
              timestamp: "1700000000000", values: ["9876543210", "500", "20810200"],
              expected: "SYWYFfRpGAMuMjgJELzPK7uHJst8GPzoTqnZj9W3BeE="),
        .init(source: "protocol §3 request_hash (types 3, 4)", accessKey: "d2fe1d99-6298-4af2-8cc5-d97dcf46df30",
              timestamp: "1700000000000", values: ["9876543210", "20810200"],
              expected: "H56K1czvT/I0a0NKiHnYcn9CS0fPCESNaiFJAMt+fOQ="),
    ]

    /// Computes every vector; returns one line per failure (empty when the recipe is right).
    public static func failures(of vectors: [Vector] = vectors) -> [String] {
        vectors.compactMap { vector in
            guard let key = EkoAccessKey(vector.accessKey) else { return "\(vector.source): unusable key" }
            let signer = EkoSigner(accessKey: key)
            let actual = vector.values.map { signer.requestHash(timestamp: vector.timestamp, values: $0) }
                ?? signer.secretKey(timestamp: vector.timestamp)
            return actual == vector.expected ? nil : "\(vector.source): expected \(vector.expected), got \(actual)"
        }
    }
}
