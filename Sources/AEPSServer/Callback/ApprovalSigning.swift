import EkoSigning

extension EkoSigner {
    /// Signs what the policy approved, and only that: `request_hash` over the ``Approval``'s canonical values of the
    /// server's own hash-parameter list. The callback has no other way to produce a `request_hash`.
    func sign(_ approval: Approval, timestamp: String) -> Signature {
        sign(timestamp: timestamp, values: approval.values)
    }
}
