import HTTPTypes
import Hummingbird

/// Security headers for the retailer page's files: a Content-Security-Policy that allows only the page's own
/// scripts, styles and API, and form posts to Eko's gateway; frames from this origin only, in both directions;
/// no MIME sniffing. An answer that sets its own policy (the ops console's) keeps it.
struct PageSecurityMiddleware<Context: RequestContext>: RouterMiddleware {
    let contentSecurityPolicy: String

    init(gatewayOrigin: String) {
        contentSecurityPolicy = [
            "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
            "connect-src 'self'", "form-action 'self' \(gatewayOrigin)", "frame-src 'self'", "frame-ancestors 'self'", "base-uri 'none'",
        ].joined(separator: "; ")
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        var response = try await next(request, context)
        response.headers[.xContentTypeOptions] = "nosniff"
        if response.headers[.contentType]?.hasPrefix("text/html") == true {
            let ownPolicy = response.headers[.contentSecurityPolicy] != nil
            if !ownPolicy { response.headers[.contentSecurityPolicy] = contentSecurityPolicy }
            // The retailer page sends its origin (only the origin, never over plain HTTP from HTTPS): the gateway form
            // POST then carries `Origin` and `Referer` as it does from every partner page using Eko's library.
            // Pages with their own policy (the ops console) send no referrer at all.
            response.headers[HTTPField.Name("Referrer-Policy")!] = ownPolicy ? "no-referrer" : "strict-origin-when-cross-origin"
            response.headers[.cacheControl] = "no-cache"
        }
        return response
    }
}
