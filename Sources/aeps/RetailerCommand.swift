import AEPSServer
import ArgumentParser
import Foundation
import HummingbirdBcrypt
import NIOPosix

struct RetailerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retailer",
        abstract: "Register retailers (Eko user codes) and turn them on or off.",
        discussion: "A debit-hook is approved only for an active, registered retailer's user_code.",
        subcommands: [Add.self, List.self, Disable.self, Enable.self, SetPassword.self, SetCaps.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register a retailer by its Eko user code.")
        @OptionGroup var options: ConfigOptions
        @Option(help: ArgumentHelp("The retailer's Eko user_code, e.g. 20810200.", valueName: "code"))
        var userCode: String
        @Option(help: ArgumentHelp("The shop or retailer's name, for people reading the records.", valueName: "name"))
        var name: String
        @Flag(help: "Read the page password from standard input instead of generating one.")
        var passwordStdin = false

        func validate() throws {
            try validateUserCode(userCode)
            let trimmed = name.trimmingCharacters(in: .whitespaces)
            guard !trimmed.isEmpty, trimmed.count <= 100 else {
                throw ValidationError("--name: expected 1 to 100 characters")
            }
        }

        func run() async throws {
            let password = try passwordStdin ? readPassword() : nil
            let database = try openDatabase(options)
            let retailer = try await database.addRetailer(
                userCode: userCode, name: name.trimmingCharacters(in: .whitespaces), now: Date()
            )
            print("registered retailer \(retailer.userCode) (\(retailer.name)), active")
            try await setPassword(password, userCode: userCode, database: database)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List registered retailers.")
        @OptionGroup var options: ConfigOptions

        func run() async throws {
            let database = try openDatabase(options)
            let retailers = try await database.retailers()
            guard !retailers.isEmpty else {
                print("no retailers registered (add one with: aeps retailer add --user-code C --name N)")
                return
            }
            let width = max(9, retailers.map(\.userCode.count).max() ?? 0)
            print("USER CODE".padding(toLength: width, withPad: " ", startingAt: 0) + "  STATUS    BALANCE       NAME")
            for retailer in retailers {
                let status = (retailer.active ? "active" : "disabled").padding(toLength: 8, withPad: " ", startingAt: 0)
                // Settled withdrawals minus reversals: what the partner owes the retailer from AePS.
                let balance = ("₹" + Paise.format(try await database.retailerBalance(userCode: retailer.userCode)))
                    .padding(toLength: 12, withPad: " ", startingAt: 0)
                print(retailer.userCode.padding(toLength: width, withPad: " ", startingAt: 0) + "  \(status)  \(balance)  \(retailer.name)")
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

    struct SetPassword: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-password",
            abstract: "Set a retailer's page password (generated and printed once unless --password-stdin).",
            discussion: "Signs the retailer out of every page session opened with the old password."
        )
        @OptionGroup var options: ConfigOptions
        @Option(help: ArgumentHelp("The retailer's Eko user_code.", valueName: "code")) var userCode: String
        @Flag(help: "Read the password from standard input instead of generating one.") var passwordStdin = false

        func validate() throws { try validateUserCode(userCode) }

        func run() async throws {
            let password = try passwordStdin ? readPassword() : nil
            try await setPassword(password, userCode: userCode, database: openDatabase(options))
        }
    }
}

/// Reads one password line from standard input (10 to 72 bytes: bcrypt reads no further).
func readPassword() throws -> String {
    guard let line = readLine(strippingNewline: true), (10...72).contains(line.utf8.count) else {
        throw ValidationError("--password-stdin: expected one line of 10 to 72 characters on standard input")
    }
    return line
}

/// Stores the bcrypt hash of a password, generating and printing one when none is given.
func setPassword(_ password: String?, userCode: String, database: AppDatabase) async throws {
    let chosen = password ?? SecretToken.generate(prefix: "").prefix(16).description
    let hash = try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(chosen, cost: 12) }
    try await database.setRetailerPassword(userCode: userCode, passwordHash: hash, now: Date())
    if password == nil {
        print("page password for \(userCode) (shown once, give it to the retailer): \(chosen)")
    } else {
        print("page password for \(userCode) set")
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
