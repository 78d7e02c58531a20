import AEPSServer
import ArgumentParser

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply pending database migrations and say what ran.",
        discussion: "Creates the database file (database.path) when it does not exist. Safe to run again."
    )

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let config = try AppConfig.load(path: options.config)
        let database = try AppDatabase.open(path: config.databasePath)
        let ran = try database.migrate()
        if ran.isEmpty {
            print("database \(database.path) is up to date")
        } else {
            for name in ran { print("applied \(name)") }
            print("database \(database.path) is up to date")
        }
        try database.close()
    }
}
