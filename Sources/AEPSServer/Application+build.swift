import AsyncHTTPClient
import EkoSigning
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging

/// Everything the application depends on from outside: the seams tests replace (a temporary database file, a
/// pinned clock, a capturing logger, a fast Eko backoff).
public struct AppDependencies: Sendable {
    public var database: AppDatabase
    public var signer: EkoSigner
    /// The clock every timestamp comes from (`secret_key_timestamp`, record times, the sweeper's schedule).
    public var clock: @Sendable () -> Date
    public var logger: Logger
    /// The folder served at `/` (the retailer page and its files).
    public var publicDirectory: String
    /// The HTTP client for Eko's server API: the process-wide shared one (nothing to shut down).
    public var http: HTTPClient
    /// The pause before an Eko call is retried (attempt 1, 2, …); tests shorten it.
    public var ekoBackoff: @Sendable (Int) -> Duration
    /// Where the sweeper tells what each inquiry did; tests wait on it.
    public var settlementEvents: SettlementEvents
    /// This application's Prometheus registry and its recorders (`GET /metrics`); one per application, never global.
    public var metrics: AppMetrics

    public init(
        database: AppDatabase,
        signer: EkoSigner,
        clock: @escaping @Sendable () -> Date = { Date() },
        logger: Logger,
        publicDirectory: String = "public",
        http: HTTPClient = .shared,
        ekoBackoff: @escaping @Sendable (Int) -> Duration = EkoClient.defaultBackoff,
        settlementEvents: SettlementEvents = SettlementEvents(),
        metrics: AppMetrics = AppMetrics()
    ) {
        self.database = database
        self.signer = signer
        self.clock = clock
        self.logger = logger
        self.publicDirectory = publicDirectory
        self.http = http
        self.ekoBackoff = ekoBackoff
        self.settlementEvents = settlementEvents
        self.metrics = metrics
    }
}

/// The money side: Eko's API client, the settler that records Eko's answers through the settlement rules, and
/// the sweeper that drains the inquiry queue. Built only by ``buildSettlement(config:dependencies:)``.
public struct SettlementServices: Sendable {
    public let eko: EkoClient
    public let settler: Settler
    public let sweeper: Sweeper
    public let rules: SettlementRules
    public let schedule: InquirySchedule
    /// Wakes the sweeper when a report queues an inquiry.
    public let inquiries: InquirySignal
}

/// The composition root, used by `aeps serve` and by the tests alike: the router, and the sweeper as a service
/// of the application (so it runs with `aeps serve` and inside `app.test(...)`).
public func buildApplication(
    config: AppConfig,
    dependencies: AppDependencies
) throws -> Application<RouterResponder<AppRequestContext>> {
    let settlement = buildSettlement(config: config, dependencies: dependencies)
    let router = try buildRouter(config: config, dependencies: dependencies, settlement: settlement)
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
        services: [settlement.sweeper],
        logger: dependencies.logger
    )
}

/// The money side of the composition root (see ``SettlementServices``); `aeps inquire` uses its Eko client.
public func buildSettlement(config: AppConfig, dependencies: AppDependencies) -> SettlementServices {
    let rules = SettlementRules(verifyWithInquiry: config.verifyWithInquiry, recheckSettledDays: config.recheckSettledDays)
    let schedule = InquirySchedule(
        resultGraceSeconds: config.resultGraceSeconds, giveUpAfterHours: config.giveUpAfterHours,
        recheckSettledDays: config.recheckSettledDays
    )
    let eko = EkoClient(
        config: config, signer: dependencies.signer, http: dependencies.http, database: dependencies.database,
        clock: dependencies.clock, logger: dependencies.logger, backoff: dependencies.ekoBackoff
    )
    let settler = Settler(
        database: dependencies.database, eko: eko, rules: rules, schedule: schedule, clock: dependencies.clock,
        logger: dependencies.logger, metrics: dependencies.metrics
    )
    let inquiries = InquirySignal()
    let sweeper = Sweeper(
        database: dependencies.database, settler: settler, schedule: schedule,
        interval: .seconds(config.sweepIntervalSeconds), clock: dependencies.clock, logger: dependencies.logger,
        signal: inquiries, events: dependencies.settlementEvents,
        retention: config.retention, retentionInterval: .seconds(60 * config.retentionIntervalMinutes),
        metrics: dependencies.metrics
    )
    return SettlementServices(eko: eko, settler: settler, sweeper: sweeper, rules: rules, schedule: schedule, inquiries: inquiries)
}

/// Routes and middleware: the page's own files for everyone, CORS only on the callback, health and metrics for
/// infrastructure, the ops console under `/ops`. Throws a ``ConfigError`` when `metrics.bearer_token_file` cannot
/// be read.
public func buildRouter(
    config: AppConfig, dependencies: AppDependencies, settlement: SettlementServices
) throws(ConfigError) -> Router<AppRequestContext> {
    let metricsAccess = try MetricsAccess.load(config.metrics)
    let router = Router(context: AppRequestContext.self)
    router.addMiddleware {
        RequestLogMiddleware(metrics: dependencies.metrics)
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
        settlementRules: settlement.rules,
        inquirySchedule: settlement.schedule,
        inquiries: settlement.inquiries,
        metrics: dependencies.metrics
    ).addRoutes(to: router, path: config.callbackPath, allowedOrigins: config.allowedOrigins)
    let issuer = GatewaySessionIssuer(
        database: dependencies.database, config: config, signer: dependencies.signer, clock: dependencies.clock
    )
    RetailerPageController(database: dependencies.database, config: config, issuer: issuer, clock: dependencies.clock)
        .addRoutes(to: router)
    PartnerAPIController(database: dependencies.database, issuer: issuer).addRoutes(to: router)
    HealthController(database: dependencies.database).addRoutes(to: router)
    MetricsController(
        metrics: dependencies.metrics, access: metricsAccess, database: dependencies.database, clock: dependencies.clock,
        trustForwardedFor: config.http.trustForwardedFor
    ).addRoutes(to: router)
    OpsController(
        database: dependencies.database, config: config, settler: settlement.settler, clock: dependencies.clock,
        signer: dependencies.signer
    ).addRoutes(to: router)
    return router
}
