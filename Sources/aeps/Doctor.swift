import AEPSServer
import ArgumentParser
import Foundation

struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the installation end to end and explain each problem with its fix and Eko's page.",
        discussion: """
            Checks the configuration, the access key (never printed), environment and gateway origin, callback_url, \
            the TLS certificate, the clock against Eko's API, CORS as a browser sees it (against the running \
            server), the signing recipe, the database and the retailers; with --user-code, whether Eko has AePS \
            Gateway (service 43) active for that retailer. Applies no migration and writes nothing. Exits 1 when \
            any check fails (warnings do not fail).
            """
    )

    @OptionGroup var options: ConfigOptions

    @Flag(help: "Print the checks as a JSON array of {id, title, status, detail, fix, link}.")
    var json = false

    @Option(name: .customLong("user-code"), help: ArgumentHelp("Ask Eko whether AePS (service 43) is active for this retailer.", valueName: "code"))
    var userCode: String?

    func validate() throws {
        if let userCode, userCode.isEmpty || userCode.count > 20 || !userCode.allSatisfy({ $0.isASCII && $0.isNumber }) {
            throw ValidationError("--user-code: expected the retailer's Eko user_code (digits, e.g. 20810200), got \"\(userCode)\"")
        }
    }

    func run() async throws {
        let configuration: Result<AppConfig, ConfigError>
        do {
            configuration = .success(try AppConfig.load(path: options.config))
        } catch {
            configuration = .failure(error)
        }
        let report = await Doctor(
            configuration: configuration, accessKey: .lookUp(environment: ProcessInfo.processInfo.environment),
            userCode: userCode, timeout: .seconds(5)
        ).run()
        print(json ? report.json : report.text, terminator: json ? "\n" : "")
        let failed = report.checks.filter { $0.status == .fail }.map(\.id)
        if !failed.isEmpty {
            throw CommandError("doctor: \(failed.count) check\(failed.count == 1 ? "" : "s") failed (\(failed.joined(separator: ", ")))")
        }
    }
}
