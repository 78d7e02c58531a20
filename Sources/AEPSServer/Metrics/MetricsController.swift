import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `GET /metrics`: Prometheus text, for the addresses in `metrics.allowed_addresses` or a request with the bearer
/// token of `metrics.bearer_token_file`; others get 403 or 401 JSON. The counters are this process's; the
/// transaction gauges are read from the database at each scrape.
struct MetricsController: Sendable {
    let metrics: AppMetrics
    let access: MetricsAccess
    let database: AppDatabase
    let clock: @Sendable () -> Date
    let trustForwardedFor: Bool

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("/metrics", use: scrape)
    }

    @Sendable func scrape(_ request: Request, context: AppRequestContext) async throws -> Response {
        let verdict = access.check(
            address: context.clientAddress(request, trustForwardedFor: trustForwardedFor),
            proxiedButUntrusted: !trustForwardedFor && request.headers[.xForwardedFor] != nil,
            authorization: request.headers[.authorization]
        )
        switch verdict {
        case .allowed:
            break
        case .badToken(let message):
            var response = JSONResponse.error(.unauthorized, code: "unauthorized", message: message)
            response.headers[.wwwAuthenticate] = "Bearer"
            return response
        case .forbidden(let message):
            return JSONResponse.error(.forbidden, code: "forbidden", message: message)
        }
        let gauges: TransactionGauges
        do {
            gauges = try await database.transactionGauges(now: clock())
        } catch {
            context.logger.error("metrics could not read the database", metadata: ["error": "\(error)"])
            return JSONResponse.error(.serviceUnavailable, code: "storage_unavailable", message: "database unreachable")
        }
        return Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: metrics.exposition(gauges)))
        )
    }
}
