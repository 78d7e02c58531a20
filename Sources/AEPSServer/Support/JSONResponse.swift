import EkoSigning
import HTTPTypes
import Hummingbird
import NIOCore

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
        } catch let error as APIError {
            var response = JSONResponse.error(error.status, code: error.code, message: error.message)
            for (name, value) in error.headers { response.headers[name] = value }
            return response
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

/// A client error of the JSON APIs, with a stable `error` code for programs and a message for people.
struct APIError: Error {
    var status: HTTPResponse.Status
    var code: String
    var message: String
    var headers: [(HTTPField.Name, String)] = []

    static let notSignedIn = APIError(status: .unauthorized, code: "not_signed_in", message: "Please sign in.")
    static let csrf = APIError(
        status: .forbidden, code: "csrf_failed", message: "This request did not come from the page; reload it and try again."
    )
    static let crossSite = APIError(status: .forbidden, code: "cross_site_request", message: "Cross-site requests are refused.")
    static let unsupportedMediaType = APIError(
        status: .unsupportedMediaType, code: "unsupported_media_type", message: "Content-Type must be application/json"
    )

    static func badRequest(_ message: String) -> APIError {
        APIError(status: .badRequest, code: "invalid_request", message: message)
    }
}

extension Request {
    /// Reads a small JSON object body (an empty body is an empty object); anything else is a 4xx ``APIError``.
    mutating func jsonObject(limit: Int = 4096) async throws -> JSONObject {
        let buffer: ByteBuffer
        do {
            buffer = try await collectBody(upTo: limit)
        } catch {
            throw APIError(status: .contentTooLarge, code: "body_too_large", message: "the body is larger than \(limit) bytes")
        }
        if buffer.readableBytes == 0 { return JSONObject() }
        guard let mediaType = headers[.contentType].flatMap({ MediaType(from: $0) }), mediaType.isType(.applicationJson)
        else { throw APIError.unsupportedMediaType }
        guard case .object(let object) = try? JSONValue.parse(buffer.readableBytesView) else {
            throw APIError.badRequest("the body must be a JSON object")
        }
        return object
    }
}
