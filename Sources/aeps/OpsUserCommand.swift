import AEPSServer
import ArgumentParser
import Foundation
import HummingbirdBcrypt
import NIOPosix

/// `aeps ops-user add`: accounts for the ops console.
struct OpsUserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ops-user",
        abstract: "Accounts for the ops console (/ops).",
        discussion: "A viewer reads every page and exports; an operator may also re-inquire, resolve, enable or disable retailers, revoke sessions and turn the kill switch.",
        subcommands: [Add.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add an ops console account (its password is generated and printed once unless --password-stdin)."
        )
        @OptionGroup var options: ConfigOptions
        @Option(help: ArgumentHelp("The account's sign-in name (letters, digits, '.', '_', '-').", valueName: "name"))
        var name: String
        @Option(help: ArgumentHelp("viewer (reads) or operator (reads and acts).", valueName: "role"))
        var role: String = "viewer"
        @Flag(help: "Read the password from standard input instead of generating one.")
        var passwordStdin = false

        func validate() throws {
            guard (1...64).contains(name.count),
                name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) })
            else {
                throw ValidationError("--name: expected 1 to 64 letters, digits, '.', '_' or '-', got \"\(name)\"")
            }
            guard OpsUser.Role(rawValue: role) != nil else {
                throw ValidationError("--role: expected viewer or operator, got \"\(role)\"")
            }
        }

        func run() async throws {
            let password = try passwordStdin ? readPassword() : nil
            let database = try openDatabase(options)
            let chosen = password ?? SecretToken.generate(prefix: "").prefix(16).description
            let hash = try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(chosen, cost: 12) }
            let user = try await database.addOpsUser(name: name, role: OpsUser.Role(rawValue: role)!, passwordHash: hash, now: Date())
            print("added ops user \(user.name) (\(user.role.rawValue))")
            if password == nil {
                print("password for \(user.name) (shown once): \(chosen)")
            }
        }
    }
}
