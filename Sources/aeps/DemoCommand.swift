import AEPSServer
import ArgumentParser
import Foundation
import HummingbirdBcrypt
import NIOPosix

/// `aeps demo`: on a `local` installation, makes sure a demo retailer and an ops account exist (first run only)
/// and prints where to go and how to sign in. `make run` calls it before `aeps serve`.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Create the demo retailer and ops account on first run (environment local only) and print the URLs.",
        discussion: """
            The passwords are generated once and kept in demo-credentials.json beside the database (mode 600), so \
            every later run prints the same ones. Refused outside environment local: demo accounts with stored \
            passwords have no place on a UAT or production server.
            """
    )

    @OptionGroup var options: ConfigOptions

    static let retailerCode = "20810200"
    static let opsName = "ops"

    struct Credentials: Codable {
        var retailer_user_code: String
        var retailer_password: String
        var ops_name: String
        var ops_password: String
    }

    func run() async throws {
        let config = try AppConfig.load(path: options.config)
        guard config.environment == .local else {
            throw CommandError("environment is \(config.environment.rawValue): aeps demo creates demo accounts only in local")
        }
        let database = try AppDatabase.open(path: config.databasePath)
        _ = try database.migrate()
        let file = URL(fileURLWithPath: config.databasePath).deletingLastPathComponent()
            .appendingPathComponent("demo-credentials.json")
        var credentials = (try? Data(contentsOf: file)).flatMap { try? JSONDecoder().decode(Credentials.self, from: $0) }
        if credentials == nil {
            let made = Credentials(
                retailer_user_code: Self.retailerCode, retailer_password: String(SecretToken.generate(prefix: "").prefix(12)),
                ops_name: Self.opsName, ops_password: String(SecretToken.generate(prefix: "").prefix(16))
            )
            let now = Date()
            if try await database.retailer(userCode: made.retailer_user_code) == nil {
                _ = try await database.addRetailer(userCode: made.retailer_user_code, name: "Demo Kirana Store", now: now)
            }
            let retailerHash = try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(made.retailer_password, cost: 10) }
            try await database.setRetailerPassword(userCode: made.retailer_user_code, passwordHash: retailerHash, now: now)
            if try await database.opsUser(name: made.ops_name) == nil {
                let opsHash = try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(made.ops_password, cost: 10) }
                _ = try await database.addOpsUser(name: made.ops_name, role: .operator, passwordHash: opsHash, now: now)
            } else {
                throw CommandError("an ops account named \(made.ops_name) exists but \(file.path) is missing; remove the database for a fresh demo")
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(made).write(to: file, options: .atomic)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file.path)
            print("created the demo retailer \(made.retailer_user_code) and the ops account \(made.ops_name) (saved in \(file.path))")
            credentials = made
        }
        try database.close()
        let origin = Self.origin(of: config.callbackURL)
        let lines = [
            "",
            "  Retailer page   \(origin)/        user code \(credentials!.retailer_user_code)   password \(credentials!.retailer_password)",
            "  Ops console     \(origin)/ops     name \(credentials!.ops_name)           password \(credentials!.ops_password)",
            "  Eko simulator   \(config.gatewayOrigin)/   (the page opens it; its index lists what it executed)",
            "",
            "  Accept the self-signed certificate at \(origin)/ first, sign in, press Start AePS transaction.",
            "",
        ]
        print(lines.joined(separator: "\n"))
    }

    static func origin(of url: String) -> String {
        guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host else { return url }
        return "\(scheme)://\(host)\(components.port.map { ":\($0)" } ?? "")"
    }
}
