import EkoSigning
import Foundation

/// Finds the access key: the `EKO_ACCESS_KEY` environment variable, else the file named by `access_key_file`.
/// The key is never part of `aeps.config` itself.
public enum AccessKeyLoader {
    public static let environmentVariable = "EKO_ACCESS_KEY"

    /// What was found, with a warning for the operator when something is risky but allowed.
    public struct Loaded: Sendable {
        public let key: EkoAccessKey
        public let source: String
        public let warnings: [String]
        /// How many characters the key has (what `aeps doctor` may show of it; never the key itself).
        public var length: Int = 0
    }

    /// Loads the key and applies the production rules: no key, or a public UAT key, refuses to start.
    public static func load(
        config: AppConfig,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigError) -> Loaded {
        let found = try find(config: config, environment: environment)
        if found.key.isPublicUATKey {
            if config.environment == .production {
                throw ConfigError(
                    key: found.source,
                    "this is Eko's public UAT access key; production needs the key Eko issued to you"
                )
            }
        }
        return found
    }

    /// Finds the key where the server looks for it, without the production rules (`aeps doctor` reports those
    /// itself). Throws when there is no usable key.
    public static func find(
        config: AppConfig,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigError) -> Loaded {
        var warnings: [String] = []
        var found: (key: EkoAccessKey, source: String, length: Int)?
        if let text = environment[environmentVariable], !text.isEmpty {
            guard let key = EkoAccessKey(text) else {
                throw ConfigError(key: environmentVariable, "is blank (expected Eko's access key)")
            }
            found = (key, environmentVariable, Self.length(text))
        } else if let path = config.accessKeyFile {
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
            else {
                throw ConfigError(key: "access_key_file", "cannot read \(path) (it must exist and be readable by the server)")
            }
            guard let key = EkoAccessKey(text) else {
                throw ConfigError(key: "access_key_file", "\(path) is empty (expected Eko's access key)")
            }
            if let mode = (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] as? Int,
                mode & 0o077 != 0
            {
                warnings.append("access_key_file \(path) is readable by other users; run: chmod 600 \(path)")
            }
            found = (key, "access_key_file", Self.length(text))
        }
        guard let found else {
            throw ConfigError(
                key: environmentVariable,
                "no access key: set \(environmentVariable) or access_key_file (UAT's public key is in the README)"
            )
        }
        return Loaded(key: found.key, source: found.source, warnings: warnings, length: found.length)
    }

    private static func length(_ text: String) -> Int { text.trimmingCharacters(in: .whitespacesAndNewlines).count }
}
