import Foundation
import HTTPTypes
import Hummingbird

/// A console answer other than the page asked for: rendered as an HTML page with this status and message.
struct OpsError: Error {
    var status: HTTPResponse.Status
    var message: String
    var headers: [(HTTPField.Name, String)] = []

    static func badRequest(_ message: String) -> OpsError { OpsError(status: .badRequest, message: message) }
    static let notSignedIn = OpsError(status: .unauthorized, message: "Please sign in to the ops console.")
    static let operatorOnly = OpsError(status: .forbidden, message: "Only an operator may do this; your account can only view.")
    static let csrf = OpsError(
        status: .forbidden, message: "This form did not come from the console, or it expired. Reload the page and try again."
    )
    static let crossSite = OpsError(status: .forbidden, message: "Cross-site requests are refused.")
    static let notFound = OpsError(status: .notFound, message: "Not found.")
}

/// Renders every ``OpsError`` (and anything unexpected) as an HTML page with the console's CSP.
struct OpsErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let redirect as OpsController.Redirect {
            return OpsController.redirect(redirect.location)
        } catch let error as OpsError {
            var response = OpsPages.render("error", status: error.status, [
                "title": "\(error.status.code) \(error.status.reasonPhrase)", "message": error.message,
            ])
            for (name, value) in error.headers { response.headers[name] = value }
            return response
        } catch let error as any HTTPResponseError {
            return OpsPages.render("error", status: error.status, [
                "title": "\(error.status.code) \(error.status.reasonPhrase)", "message": error.status.reasonPhrase,
            ])
        } catch {
            context.logger.error("ops console error", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            return OpsPages.render("error", status: .internalServerError, [
                "title": "500 Internal Server Error", "message": "Something went wrong; the error is in the server's log.",
            ])
        }
    }
}

/// Reading the console's query strings and forms, each bad value answered with a 400 naming it.
enum OpsInput {
    /// A `application/x-www-form-urlencoded` body (at most 16 KiB).
    static func form(_ request: inout Request) async throws -> [String: String] {
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: 16 * 1024)
        } catch {
            throw OpsError(status: .contentTooLarge, message: "The form is larger than 16 KiB.")
        }
        return decodeForm(String(buffer: buffer))
    }

    static func decodeForm(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            if fields[parts[0]] == nil { fields[parts[0]] = parts.count > 1 ? parts[1] : "" }
        }
        return fields
    }

    /// A query parameter, nil when absent or empty.
    static func parameter(_ request: Request, _ name: String) -> String? {
        guard let value = request.uri.queryParameters.get(name)?.trimmingCharacters(in: .whitespaces), !value.isEmpty
        else { return nil }
        return value
    }

    /// Printable ASCII without spaces, bounded: identifiers, codes, references.
    static func identifier(_ request: Request, _ name: String, maxLength: Int = 64) throws -> String? {
        guard let value = parameter(request, name) else { return nil }
        guard value.count <= maxLength, value.unicodeScalars.allSatisfy({ (0x21...0x7E).contains($0.value) }) else {
            throw OpsError.badRequest("\(name): expected at most \(maxLength) printable characters without spaces")
        }
        return value
    }

    /// An Indian calendar day `YYYY-MM-DD`.
    static func day(_ request: Request, _ name: String) throws -> String? {
        guard let value = parameter(request, name) else { return nil }
        let parts = value.split(separator: "-")
        guard value.count == 10, parts.count == 3, parts.allSatisfy({ $0.allSatisfy(\.isASCIIDigit) }),
            let month = Int(parts[1]), (1...12).contains(month), let day = Int(parts[2]), (1...31).contains(day)
        else { throw OpsError.badRequest("\(name): expected a day as YYYY-MM-DD") }
        return value
    }

    /// A page cursor: the id of the last row shown.
    static func cursor(_ request: Request, _ name: String) throws -> Int64? {
        guard let value = parameter(request, name) else { return nil }
        guard let id = Int64(value), id > 0 else { throw OpsError.badRequest("\(name): expected a positive whole number") }
        return id
    }

    /// The transaction list's filters (shared by the list and its exports).
    static func transactionFilter(_ request: Request) throws -> TransactionFilter {
        var filter = TransactionFilter()
        filter.query = try identifier(request, "q")
        if let state = parameter(request, "state") {
            guard TransactionState(rawValue: state) != nil else {
                throw OpsError.badRequest(
                    "state: expected one of \(TransactionState.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            filter.state = state
        }
        if let type = parameter(request, "type") {
            guard let number = Int(type), [2, 3, 4].contains(number) else {
                throw OpsError.badRequest("type: expected 2 (cash withdrawal), 3 (balance enquiry) or 4 (mini statement)")
            }
            filter.type = number
        }
        if let reason = parameter(request, "reason") {
            guard reason.count <= 40, reason.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") })
            else { throw OpsError.badRequest("reason: expected a reason code such as approved or session_expired") }
            filter.reason = reason
        }
        filter.from = try day(request, "from")
        filter.to = try day(request, "to")
        if let from = filter.from, let to = filter.to, from > to {
            throw OpsError.badRequest("from: must not be after to")
        }
        return filter
    }

    /// The filter as a query string (for links to the next page and the exports).
    static func query(_ filter: TransactionFilter, after: Int64? = nil) -> String {
        let pairs: [(String, String?)] = [
            ("q", filter.query), ("state", filter.state), ("type", filter.type.map(String.init)), ("reason", filter.reason),
            ("from", filter.from), ("to", filter.to), ("after", after.map(String.init)),
        ]
        return pairs.compactMap { name, value in
            value.map { "\(name)=" + ($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "") }
        }.joined(separator: "&")
    }

    /// The filter as the audit log records it: a customer mobile masked.
    static func auditDescription(_ filter: TransactionFilter) -> String {
        var masked = filter
        if let query = filter.query, query.count == 10, query.allSatisfy(\.isASCIIDigit) {
            masked.query = Redactor.maskMobile(query)
        }
        let text = query(masked)
        return text.isEmpty ? "all transactions" : text.removingPercentEncoding ?? text
    }
}
