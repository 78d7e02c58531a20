import AEPSServer
import ArgumentParser
import EkoSigning
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the server: the callback for Eko's gateway, the retailer page and the health checks.",
        discussion: """
            Checks the configuration, the access key and Eko's signing vectors, applies pending database \
            migrations (unless --no-migrate), then serves until SIGINT or SIGTERM. With a `tls` section it \
            serves HTTPS itself; without one, plain HTTP for use behind a reverse proxy.
            """
    )

    @OptionGroup var options: ConfigOptions

    @Flag(name: .customLong("no-migrate"), help: "Refuse to start if migrations are pending instead of applying them.")
    var noMigrate = false

    func run() async throws {
        let config = try AppConfig.load(path: options.config)
        let failures = EkoSigningSelfTest.failures()
        guard failures.isEmpty else {
            throw CommandError("signing self-test failed, refusing to start: \(failures[0])")
        }
        let accessKey = try AccessKeyLoader.load(config: config)
        let logger = makeLogger(level: config.logLevel)

        let database = try AppDatabase.open(path: config.databasePath)
        // Built before migrating so every configuration problem (TLS files too) is reported before any write.
        let signer = EkoSigner(accessKey: accessKey.key)
        // The composition root builds the router, the Eko client (over the process-wide shared HTTP client),
        // the settler and the sweeper (a service of the application).
        var app = try buildApplication(
            config: config, dependencies: AppDependencies(database: database, signer: signer, logger: logger)
        )
        if try database.isSuperseded() { throw SupersededDatabaseError(path: database.path) }
        if noMigrate {
            let pending = try await database.pendingMigrations()
            guard pending.isEmpty else {
                throw CommandError("--no-migrate: migrations pending (\(pending.joined(separator: ", "))); run aeps migrate")
            }
        } else {
            for name in try database.migrate() { logger.notice("applied migration \(name)") }
        }

        for warning in accessKey.warnings { logger.warning("\(warning)") }
        if config.environment != .production, accessKey.key.isPublicUATKey {
            logger.notice("using Eko's public UAT access key (\(config.environment.rawValue) environment)")
        }
        if !config.verifyWithInquiry {
            logger.warning(
                "settlement.verify_with_inquiry is false: settlements are made from browser reports and marked unverified"
            )
        }
        if !config.policy.requireSession {
            logger.warning(
                "policy.require_session is false: debit-hooks are bound to the retailer only, not to a signed-in session"
            )
        }
        if config.callbackURL.hasPrefix("http://"), config.environment != .local {
            logger.warning("callback_url is http://: browsers block it from Eko's https gateway; use https://")
        }

        // Services stop in reverse order: the server, then the sweeper, then the database (first in the list).
        app.services.insert(DatabaseCloser(database: database), at: 0)
        if config.environment == .local, config.gatewaySim.runWithServer {
            // `make run`: the stand-in for Eko beside the server, signing with the same access key.
            let simulatorApp = buildGatewaySimulator(config: config, settings: config.gatewaySim, signer: signer, logger: logger)
            app.services.append(NamedService(
                name: "gateway_sim (\(config.gatewaySim.host):\(config.gatewaySim.port); set gateway_sim.run_with_server to false or another gateway_sim.port)",
                service: simulatorApp
            ))
        }
        let scheme = config.tls == nil ? "http" : "https"
        logger.notice(
            "aeps serving",
            metadata: [
                "environment": "\(config.environment.rawValue)",
                "listen": "\(scheme)://\(config.http.host):\(config.http.port)",
                "callback": "\(config.callbackPath)", "gateway_origin": "\(config.gatewayOrigin)",
                "database": "\(database.path)",
            ]
        )
        try await app.runService()
    }

    private func makeLogger(level: String) -> Logger {
        makeCommandLogger(level: Logger.Level(rawValue: level) ?? .info)
    }
}

/// A service whose failure names what it was, so `aeps serve` ends with a line that says which part could not run.
struct NamedService<Inner: Service>: Service {
    let name: String
    let service: Inner

    func run() async throws {
        do {
            try await service.run()
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw CommandError("\(name): \(error)")
        }
    }
}

/// Closes the database after the HTTP server has stopped (services stop in reverse order).
struct DatabaseCloser: Service {
    let database: AppDatabase

    func run() async throws {
        try? await gracefulShutdown()
        try database.close()
    }
}
