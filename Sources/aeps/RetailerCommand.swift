import AEPSServer
import ArgumentParser
import Foundation

struct RetailerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retailer",
        abstract: "Register retailers (Eko user codes) and turn them on or off.",
        discussion: "A debit-hook is approved only for an active, registered retailer's user_code.",
        subcommands: [Add.self, List.self, Disable.self, Enable.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register a retailer by its Eko user code.")
        @OptionGroup var options: ConfigOptions
        @Option(help: ArgumentHelp("The retailer's Eko user_code, e.g. 20810200.", valueName: "code"))
        var userCode: String
        @Option(help: ArgumentHelp("The shop or retailer's name, for people reading the records.", valueName: "name"))
        var name: String

        func validate() throws {
            try validateUserCode(userCode)
            let trimmed = name.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, trimmed.count <= 100 else {
                throw ValidationError("--name: expected 1 to 100 characters")
            }
        }

        func run() async throws {
            let database = try openDatabase(options)
            let retailer = try await database.addRetailer(
                userCode: userCode, name: name.trimmingCharacters(in: .whitespaces), now: Date()
            )
            print("registered retailer \(retailer.userCode) (\(retailer.name)), active")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List registered retailers.")
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let retailers = try await openDatabase(options).retailers()
            guard !retailers.isEmpty else {
                print("no retailers registered (add one with: aeps retailer add --user-code C --name N)")
                return
            }
            let width = max(9, retailers.map(\.userCode.count).max() ?? 0)
            print("USER CODE".padding(toLength: width, withPad: " ", startingAt: 0) + "  STATUS    NAME")
            for retailer in retailers {
                let status = (retailer.active ? "active" : "disabled").padding(toLength: 8, withPad: " ", startingAt: 0)
                print(retailer.userCode.padding(toLength: width, withPad: " ", startingAt: 0) + "  \(status)  \(retailer.name)")
            }
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Disable a retailer: its debit-hooks are refused from now on. Nothing is deleted."
        )
        @OptionGroup var options: ConfigOptions
        @Option(help: ArgumentHelp("The retailer's Eko user_code.", valueName: "code")) var userCode: String

        func validate() throws { try validateUserCode(userCode) }
        func run() async throws { try await setActive(false, userCode: userCode, options: options) }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enable a disabled retailer again.")
        @OptionGroup var options: ConfigOptions
        @Option(help: ArgumentHelp("The retailer's Eko user_code.", valueName: "code")) var userCode: String

        func validate() throws { try validateUserCode(userCode) }
        func run() async throws { try await setActive(true, userCode: userCode, options: options) }
    }
}

/// Enables or disables a retailer and says so.
func setActive(_ active: Bool, userCode: String, options: ConfigOptions) async throws {
    let retailer = try await openDatabase(options).setRetailerActive(userCode: userCode, active: active, now: Date())
    print("retailer \(retailer.userCode) (\(retailer.name)) is \(active ? "active" : "disabled")")
}

/// Eko user codes are short alphanumeric identifiers (usually 8 digits).
func validateUserCode(_ code: String) throws {
    guard (1...32).contains(code.count), code.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
        throw ValidationError("--user-code: expected Eko's user code (letters and digits, e.g. 20810200), got \"\(code)\"")
    }
}

/// Opens the configured database, applying pending migrations so a fresh install works at once.
func openDatabase(_ options: ConfigOptions) throws -> AppDatabase {
    let config = try AppConfig.load(path: options.config)
    let database = try AppDatabase.open(path: config.databasePath)
    try database.migrate()
    return database
}
