import EkoSigning
import Hummingbird

/// JSON answers with their members in a fixed order (the order Eko's documentation shows).
enum JSONResponse {
    static func make(_ status: HTTPResponse.Status, _ members: [(String, JSONValue)]) -> Response {
        let body = JSONValue.object(JSONObject(members.map { JSONObject.Member(key: $0.0, value: $0.1) })).serialized()
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: body))
        )
    }

    /// `{"error": code, "message": text}`.
    static func error(_ status: HTTPResponse.Status, code: String, message: String) -> Response {
        make(status, [("error", .string(code)), ("message", .string(message))])
    }
}

/// Turns anything thrown below it into a JSON error answer, so no route of ours ever answers with an empty body.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as any HTTPResponseError {
            let status = error.status
            let code = status.reasonPhrase.lowercased().replacingOccurrences(of: " ", with: "_")
            return JSONResponse.error(status, code: code, message: "\(status.code) \(status.reasonPhrase)")
        } catch {
            context.logger.error("unhandled error", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            return JSONResponse.error(.internalServerError, code: "internal_error", message: "internal error")
        }
    }
}
