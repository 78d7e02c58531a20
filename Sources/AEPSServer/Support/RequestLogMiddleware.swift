import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// One `info` line per request: request id, the matched route pattern (never the raw path, so no id or query
/// string reaches the log), method, status and latency in milliseconds. Nothing else: no query, body, cookie or
/// `Authorization`. Also counts the request for `/metrics` (`aeps_http_requests_total`).
struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: AppMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            record(request, context: context, status: Int(response.status.code), since: start)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            record(request, context: context, status: Int(status), since: start)
            throw error
        }
    }

    /// The route as the router matched it (`/api/v1/transactions/{client_ref_id}`), `public` for the page's files,
    /// `not_found` for anything else.
    static func route(_ endpointPath: String?) -> String {
        switch endpointPath {
        case nil, "NotFound": "not_found"
        case "FileMiddleware": "public"
        case let path?: path
        }
    }

    private func record(_ request: Request, context: Context, status: Int, since start: ContinuousClock.Instant) {
        let elapsed = (ContinuousClock.now - start).components
        let milliseconds = Double(elapsed.seconds) * 1000 + Double(elapsed.attoseconds) / 1e15
        let route = Self.route(context.endpointPath)
        metrics.httpRequest(route: route, method: request.method.rawValue, status: status)
        context.logger.info(
            "request",
            metadata: [
                "request_id": "\(context.id)", "route": "\(route)", "method": "\(request.method.rawValue)",
                "status": "\(status)", "latency_ms": "\(String(format: "%.1f", milliseconds))",
            ]
        )
    }
}
