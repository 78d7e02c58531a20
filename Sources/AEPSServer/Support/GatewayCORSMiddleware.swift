import HTTPTypes
import Hummingbird

/// CORS for the callback route: Hummingbird's `CORSMiddleware` answers for the allowed origins (the configured
/// gateway's and `eko.extra_origins`), echoing the one that called, with `Vary: Origin`; other origins get no CORS
/// headers at all.
///
/// (`CORSMiddleware`'s own `.oneOf` takes a variadic list, which a list read from configuration cannot be passed
/// to; this wrapper selects the allowed origins and lets the library build every header.)
struct GatewayCORSMiddleware<Context: RequestContext>: RouterMiddleware {
    let allowedOrigins: Set<String>
    let cors: CORSMiddleware<Context>

    init(allowedOrigins: [String]) {
        self.allowedOrigins = Set(allowedOrigins)
        self.cors = CORSMiddleware(
            allowOrigin: .originBased,
            allowHeaders: [.contentType, .aepsSession],
            allowMethods: [.post, .options],
            maxAge: .seconds(600)
        )
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        if let origin = request.headers[.origin], allowedOrigins.contains(origin) {
            return try await cors.handle(request, context: context, next: next)
        }
        var response = try await next(request, context)
        // The answer differs by Origin even when it carries no CORS header: caches must know.
        response.headers[values: .vary].append("Origin")
        return response
    }
}
