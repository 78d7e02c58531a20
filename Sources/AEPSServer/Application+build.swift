import EkoSigning
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging

/// Everything the application depends on from outside: the seams tests replace (a temporary database file, a
/// pinned clock, a capturing logger).
public struct AppDependencies: Sendable {
    public var database: AppDatabase
    public var signer: EkoSigner
    /// The clock every timestamp comes from (`secret_key_timestamp`, record times).
    public var clock: @Sendable () -> Date
    public var logger: Logger
    /// The folder served at `/` (the retailer page and its files).
    public var publicDirectory: String
    /// Settles reported results against Eko's own answer; nil only in tests that do not look at money.
    public var settler: Settler?

    public init(
        database: AppDatabase,
        signer: EkoSigner,
        clock: @escaping @Sendable () -> Date = { Date() },
        logger: Logger,
        publicDirectory: String = "public",
        settler: Settler? = nil
    ) {
        self.database = database
        self.signer = signer
        self.clock = clock
        self.logger = logger
        self.publicDirectory = publicDirectory
        self.settler = settler
    }
}

/// The composition root, used by `aeps serve` and by the tests alike.
public func buildApplication(
    config: AppConfig,
    dependencies: AppDependencies
) throws -> Application<RouterResponder<AppRequestContext>> {
    let router = buildRouter(config: config, dependencies: dependencies)
    let http1 = HTTP1Channel.Configuration(idleTimeout: .seconds(30))
    let server: HTTPServerBuilder
    if let tls = config.tls {
        server = try .tls(.http1(configuration: http1), tlsConfiguration: TLSFiles.serverConfiguration(tls))
    } else {
        server = .http1(configuration: http1)
    }
    return Application(
        router: router,
        server: server,
        configuration: .init(address: .hostname(config.http.host, port: config.http.port), serverName: "aeps"),
        logger: dependencies.logger
    )
}

/// Routes and middleware: the page's own files for everyone, CORS only on the callback, health for infrastructure.
public func buildRouter(config: AppConfig, dependencies: AppDependencies) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    router.addMiddleware {
        LogRequestsMiddleware(.debug)
        PageSecurityMiddleware(gatewayOrigin: config.gatewayOrigin)
        PublicFilesMiddleware(folder: dependencies.publicDirectory, logger: dependencies.logger)
    }
    CallbackController(
        database: dependencies.database,
        signer: dependencies.signer,
        policy: DebitHookPolicy(config.policy),
        clock: dependencies.clock,
        trustForwardedFor: config.http.trustForwardedFor,
        language: config.language,
        settler: dependencies.settler
    ).addRoutes(to: router, path: config.callbackPath, allowedOrigins: config.allowedOrigins)
    let issuer = GatewaySessionIssuer(
        database: dependencies.database, config: config, signer: dependencies.signer, clock: dependencies.clock
    )
    RetailerPageController(database: dependencies.database, config: config, issuer: issuer, clock: dependencies.clock)
        .addRoutes(to: router)
    PartnerAPIController(database: dependencies.database, issuer: issuer).addRoutes(to: router)
    HealthController(database: dependencies.database).addRoutes(to: router)
    return router
}
