/// A configuration problem, always tied to the key (or environment variable, or file) it is about, so the one
/// line the operator sees says what to fix.
public struct ConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The key in dotted form (`http.port`), or the environment variable / flag name.
    public let key: String
    public let message: String

    public init(key: String, _ message: String) {
        self.key = key
        self.message = message
    }

    public var description: String { "\(key): \(message)" }
}
