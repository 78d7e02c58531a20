import ArgumentParser
import Foundation

/// Runs the command line, printing any error as one line (`aeps: <what and which key or flag>`) and exiting
/// non-zero; `--help` prints the full help.
@main
enum Entry {
    static func main() async {
        do {
            var command = try AEPS.parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = AEPS.exitCode(for: error)
            if code == .success {
                print(AEPS.fullMessage(for: error))
                exit(0)
            }
            let message = AEPS.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
            FileHandle.standardError.write(Data("aeps: \(message)\n".utf8))
            exit(code.rawValue)
        }
    }
}

/// The `aeps` command and its subcommands.
struct AEPS: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aeps",
        abstract: "The partner server for Eko's AePS Gateway: signs debit-hooks, records every callback.",
        discussion: """
            Start with `aeps serve` (reads ./aeps.config; copy aeps.config.example to make one). \
            The Eko access key comes from the EKO_ACCESS_KEY environment variable or the file named by \
            access_key_file in the configuration; it is never written in aeps.config itself.
            """,
        subcommands: [
            Serve.self, Migrate.self, RetailerCommand.self, APIKeyCommand.self, KillSwitch.self, PolicyCommand.self,
            Inquire.self, Export.self, Sign.self, DevCert.self, OpsUserCommand.self, DoctorCommand.self, GatewaySimCommand.self,
            DemoCommand.self,
        ]
    )
}

/// `--config PATH`, shared by every command that reads the configuration or the database.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The configuration file.", valueName: "path"))
    var config: String = "aeps.config"
}

/// A one-line failure of a command, naming the flag or key at fault.
struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
