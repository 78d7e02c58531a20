import AEPSServer
import ArgumentParser
import Foundation

struct APIKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api-key",
        abstract: "Create, list and revoke keys for the partner API (/api/v1, Authorization: Bearer <key>).",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a key and print it once; only its hash is stored, so keep it safe."
        )
        @OptionGroup var options: ConfigOptions
        @Option(help: ArgumentHelp("A name to recognise the key by, e.g. partner-portal.", valueName: "name"))
        var name: String

        func validate() throws { try validateKeyName(name) }

        func run() async throws {
            let key = SecretToken.generate(prefix: "aeps_")
            try await openDatabase(options).createAPIKey(name: name, keyHash: SecretToken.hash(key), now: Date())
            print("API key \(name) (shown once): \(key)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List API keys (names and state, never the keys).")
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let keys = try await openDatabase(options).apiKeys()
            guard !keys.isEmpty else {
                print("no API keys (create one with: aeps api-key create --name N)")
                return
            }
            let formatter = ISO8601DateFormatter()
            for key in keys {
                let state = key.revokedAt.map { "revoked \(formatter.string(from: $0))" } ?? "active"
                print("\(key.name)  created \(formatter.string(from: key.createdAt))  \(state)")
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key: it stops working at once.")
        @OptionGroup var options: ConfigOptions
        @Option(help: ArgumentHelp("The key's name.", valueName: "name")) var name: String

        func validate() throws { try validateKeyName(name) }

        func run() async throws {
            try await openDatabase(options).revokeAPIKey(name: name, now: Date())
            print("API key \(name) revoked")
        }
    }
}

func validateKeyName(_ name: String) throws {
    guard (1...64).contains(name.count), name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) })
    else { throw ValidationError("--name: expected 1 to 64 letters, digits, '-', '_' or '.', got \"\(name)\"") }
}
