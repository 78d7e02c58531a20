import EkoSigning
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// The simulator's routes: Eko's gateway form (`POST /v2/aeps`) and popup, the popup's calls back to the
/// simulated Eko, and Eko's server APIs (Transaction Inquiry, User Services Enquiry) under `/ekoapi/v1`.
struct GatewaySimulatorController {
    let simulator: GatewaySimulator
    let events: GatewaySimEvents

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.get("/") { _, _ in html(.ok, GatewaySimPages.index(simulator: simulator, events: events.recent())) }
        router.get("/v2/aeps") { _, _ in
            html(.methodNotAllowed, GatewaySimPages.failure(.init(
                ekoMessage: "405 Method Not Allowed", detail: "The gateway is opened by a form POST, not by a link.",
                fix: "Post the configuration as a form (method post, target EkoAePS).", link: GatewaySimulator.links.web
            ), language: "en"))
        }
        router.post("/v2/aeps") { request, _ in try await openGateway(request) }
        router.get("/sim/popup.js") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/javascript; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: GatewaySimPages.script)))
        }
        router.get("/sim/sim.css") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/css; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: GatewaySimPages.style)))
        }
        router.post("/sim/openings/:id/hook") { request, context in try await prepareHook(request, context: context) }
        router.post("/sim/openings/:id/execute") { request, context in try await execute(request, context: context) }
        router.post("/sim/openings/:id/event") { request, context in try await recordEvent(request, context: context) }
        router.get("/sim/transactions.json") { _, _ in
            json(.ok, .array(simulator.recent().map(GatewaySimPages.summary)))
        }
        router.get("/sim/events.json") { _, _ in
            json(.ok, .array(events.recent().map { event in
                .object(JSONObject([
                    .init(key: "at", value: .string(ISO8601DateFormatter().string(from: event.at))),
                    .init(key: "client_ref_id", value: .string(event.clientRefID)),
                    .init(key: "stage", value: .string(event.stage)), .init(key: "message", value: .string(event.message)),
                ]))
            }))
        }
        router.on("/sim/scenario-callback/:kind", method: .options) { request, context in
            let kind = try context.parameters.require("kind")
            var response = Response(status: .noContent)
            if kind != ScenarioCallback.noCORS.rawValue, let origin = request.headers[.origin] {
                response.headers[.accessControlAllowOrigin] = origin
                response.headers[.accessControlAllowMethods] = "POST, OPTIONS"
                response.headers[.accessControlAllowHeaders] = request.headers[.accessControlRequestHeaders] ?? "Content-Type"
            }
            return response
        }
        router.post("/sim/scenario-callback/:kind") { request, context in
            try await scenarioCallback(request, context: context)
        }
        router.get("/ekoapi/v1/transactions/:reference") { request, context in
            let reference = try context.parameters.require("reference")
            if let refusal = authorize(request) { return refusal }
            return json(.ok, simulator.inquiry(reference: reference))
        }
        router.get("/ekoapi/v1/user/services/:reference") { request, context in
            let reference = try context.parameters.require("reference")
            if let refusal = authorize(request) { return refusal }
            guard reference.hasPrefix("user_code:") else {
                return json(.notFound, .object(JSONObject([.init(key: "message", value: .string("Not Found"))])))
            }
            return json(.ok, simulator.userServices(userCode: String(reference.dropFirst(10))))
        }
    }

    // MARK: - Gateway form

    private func openGateway(_ request: Request) async throws -> Response {
        guard request.headers[.contentType]?.lowercased().hasPrefix("application/x-www-form-urlencoded") == true else {
            return html(.unsupportedMediaType, GatewaySimPages.failure(.init(
                ekoMessage: "415 Unsupported Media Type", detail: "The gateway form must be posted as application/x-www-form-urlencoded.",
                fix: "Post an HTML form (no JSON, no multipart).", link: GatewaySimulator.links.web
            ), language: "en"))
        }
        let body = try await request.body.collect(upTo: 64 * 1024)
        let form = Self.formFields(String(buffer: body))
        switch simulator.open(form: form) {
        case .failure(let failure):
            events.add(.init(at: Date(), clientRefID: "", stage: "open", message: failure.ekoMessage + ": " + failure.detail))
            return html(.ok, GatewaySimPages.failure(failure, language: form["language"] ?? "en"))
        case .success(let opening):
            return html(.ok, GatewaySimPages.popup(opening: opening, settings: simulator.settings))
        }
    }

    /// `a=1&b=x+y` → `["a": "1", "b": "x y"]`; the first of a repeated name wins.
    static func formFields(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ part: Substring) -> String {
                String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(part)
            }
            let name = decode(parts[0])
            if fields[name] == nil { fields[name] = parts.count > 1 ? decode(parts[1]) : "" }
        }
        return fields
    }

    // MARK: - The popup's calls

    struct HookRequest: Decodable {
        var type: Int
        var amount: String?
        var customer_id: String
        var bank_code: String
        var delivery: String?
    }

    private func prepareHook(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let input = try await request.decode(as: HookRequest.self, context: context)
        let delivery = input.delivery.flatMap(GatewaySimSettings.CustomDelivery.init) ?? simulator.settings.customDelivery
        let amount = input.amount.flatMap { $0.isEmpty ? nil : Int($0) }
        if input.type == 2, amount == nil {
            return failure(.init(ekoMessage: "Please enter a valid amount", detail: "Cash withdrawal needs an amount in whole rupees.", fix: "Enter the amount.", link: GatewaySimulator.links.web))
        }
        let choice = GatewaySimulator.Choice(type: input.type, amountRupees: amount, customerID: input.customer_id, bankCode: input.bank_code)
        switch simulator.prepareHook(openingID: id, choice: choice, delivery: delivery) {
        case .failure(let failure):
            return self.failure(failure)
        case .success(let hook):
            let opening = simulator.opening(id: id)!
            return json(.ok, .object(JSONObject([
                .init(key: "ok", value: .bool(true)), .init(key: "client_ref_id", value: .string(hook.clientRefID)),
                .init(key: "callback_url", value: .string(opening.callbackURL)), .init(key: "body", value: .string(hook.body)),
                .init(key: "detail", value: hook.detail),
                .init(key: "headers", value: .object(JSONObject(hook.headers.map { .init(key: $0.0, value: .string($0.1)) }))),
            ])))
        }
    }

    struct ExecuteRequest: Decodable {
        var client_ref_id: String
        var outcome: String
        var delivery: String?
        var http_status: Int
        var status_text: String?
        var answer_text: String
    }

    /// Reads the callback's answer as Eko does, then checks its signature and executes the outcome.
    private func execute(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let id = try context.parameters.require("id")
        let input = try await request.decode(as: ExecuteRequest.self, context: context)
        guard let outcome = GatewaySimulator.Outcome(rawValue: input.outcome) else {
            return failure(.init(ekoMessage: "Invalid outcome", detail: input.outcome, fix: "Pick an outcome.", link: GatewaySimulator.links.web))
        }
        let delivery = input.delivery.flatMap(GatewaySimSettings.CustomDelivery.init) ?? simulator.settings.customDelivery
        let statusLine = "(Status = \(input.http_status) \(input.status_text ?? ""))".replacingOccurrences(of: " )", with: ")")
        let invalid = "Invalid response from callback server \(statusLine)"
        func reject(_ detail: String, _ fix: String) -> Response {
            events.add(.init(at: Date(), clientRefID: input.client_ref_id, stage: "debit-hook", message: "\(invalid): \(detail)"))
            return failure(.init(ekoMessage: invalid, detail: detail, fix: fix, link: GatewaySimulator.links.web))
        }
        guard input.http_status == 200 else {
            return reject("The callback answered HTTP \(input.http_status).", "Answer every debit-hook with HTTP 200 and JSON, refusals too.")
        }
        guard case .object(let answer)? = try? JSONValue.parse(input.answer_text) else {
            return reject("The answer is not JSON: \(input.answer_text.prefix(80))", "Answer with application/json: {\"action\":\"go\",\"allow\":…}.")
        }
        guard answer["action"] == .string("go"), case .bool(let allow)? = answer["allow"] else {
            return reject("The answer has no \"action\":\"go\" with a boolean \"allow\".", "Answer {\"action\":\"go\",\"allow\":true|false,…} (allow is a JSON boolean).")
        }
        guard allow else {
            let message = answer["message"]?.scalarText ?? ""
            events.add(.init(at: Date(), clientRefID: input.client_ref_id, stage: "debit-hook", message: "refused by the callback: \(message)"))
            return json(.ok, .object(JSONObject([
                .init(key: "ok", value: .bool(false)), .init(key: "refused", value: .bool(true)),
                .init(key: "message", value: .string(message.isEmpty ? "Transaction not allowed" : message)),
            ])))
        }
        guard case .string(let secretKey)? = answer["secret_key"], case .string(let timestamp)? = answer["secret_key_timestamp"],
            case .string(let requestHash)? = answer["request_hash"]
        else {
            return reject("An approval needs secret_key, secret_key_timestamp and request_hash as text.", "Sign the approval (protocol §3) and send all three as strings.")
        }
        let approval = GatewaySimulator.Approval(secretKey: secretKey, secretKeyTimestamp: timestamp, requestHash: requestHash)
        switch simulator.execute(clientRefID: input.client_ref_id, approval: approval, outcome: outcome, delivery: delivery) {
        case .failure(let failure):
            events.add(.init(at: Date(), clientRefID: input.client_ref_id, stage: "debit-hook", message: failure.ekoMessage + ": " + failure.detail))
            return self.failure(failure)
        case .success(let result):
            _ = id
            events.add(.init(at: Date(), clientRefID: input.client_ref_id, stage: "executed", message: "\(outcome.rawValue), tid \(result.executed.tid)"))
            return json(.ok, .object(JSONObject([
                .init(key: "ok", value: .bool(true)), .init(key: "tid", value: .string(result.executed.tid)),
                .init(key: "body", value: .string(result.body)), .init(key: "detail", value: result.detail),
            ])))
        }
    }

    struct EventRequest: Decodable {
        var client_ref_id: String?
        var stage: String
        var message: String
    }

    private func recordEvent(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let input = try await request.decode(as: EventRequest.self, context: context)
        events.add(.init(
            at: Date(), clientRefID: String((input.client_ref_id ?? "").prefix(64)), stage: String(input.stage.prefix(32)),
            message: String(input.message.prefix(300))
        ))
        return json(.ok, .object(JSONObject([.init(key: "ok", value: .bool(true))])))
    }

    // MARK: - Misbehaving callbacks

    /// Callbacks that go wrong the ways partners' callbacks do, so every one of Eko's popup errors can be seen
    /// locally: the popup's "Callback to call" sends the debit-hook to one of these (on the simulator's other
    /// loopback name, so the call is cross-origin and CORS applies) instead of `callback_url`.
    enum ScenarioCallback: String, CaseIterable {
        case html, wrongFields = "wrong-fields", serverError = "server-error", silent, noCORS = "no-cors"
        case reformattedAmount = "reformatted-amount", otherKey = "other-key"
    }

    private func scenarioCallback(_ request: Request, context: BasicRequestContext) async throws -> Response {
        guard let kind = ScenarioCallback(rawValue: try context.parameters.require("kind")) else {
            return json(.notFound, .object(JSONObject([.init(key: "message", value: .string("unknown scenario"))])))
        }
        let body = try await request.body.collect(upTo: 64 * 1024)
        let hook = try? JSONValue.parse(body.readableBytesView)
        var response: Response
        switch kind {
        case .html:
            response = Response(status: .ok, headers: [.contentType: "text/html"], body: .init(byteBuffer: ByteBuffer(string: "<html><body>OK</body></html>")))
        case .wrongFields:
            response = json(.ok, .object(JSONObject([.init(key: "status", value: .string("ok")), .init(key: "approved", value: .string("yes"))])))
        case .serverError:
            response = json(.internalServerError, .object(JSONObject([.init(key: "error", value: .string("internal error"))])))
        case .silent:
            try await Task.sleep(for: .milliseconds(simulator.settings.verificationTimeoutMilliseconds + 5_000))
            response = json(.ok, .object(JSONObject()))
        case .noCORS:
            response = json(.ok, .object(JSONObject([.init(key: "action", value: .string("go")), .init(key: "allow", value: .bool(false))])))
        case .reformattedAmount, .otherKey:
            // Signs what a careless callback signs: the amount reformatted as 500.00, or with another key.
            let data = hook?["detail"]?["data"]
            let names = hook?["detail"]?["request_hash_params"].flatMap { value -> [String]? in
                guard case .array(let items) = value else { return nil }
                return items.compactMap(\.scalarText)
            } ?? []
            let values = names.map { name -> String in
                let text = data?[name]?.hashText ?? ""
                return kind == .reformattedAmount && name == "amount" ? text + ".00" : text
            }
            let signer = kind == .otherKey ? EkoSigner(accessKey: EkoAccessKey(SecretToken.generate(prefix: ""))!) : simulator.signer
            let timestamp = EkoTimestamp.milliseconds(simulator.clock())
            let signature = signer.sign(timestamp: timestamp, values: values)
            response = json(.ok, .object(JSONObject([
                .init(key: "action", value: .string("go")), .init(key: "allow", value: .bool(true)),
                .init(key: "secret_key_timestamp", value: .string(timestamp)),
                .init(key: "secret_key", value: .string(signature.secretKey)),
                .init(key: "request_hash", value: .string(signature.requestHash)),
            ])))
        }
        if kind != .noCORS, let origin = request.headers[.origin] {
            response.headers[.accessControlAllowOrigin] = origin
        }
        return response
    }

    // MARK: - Answers

    private func authorize(_ request: Request) -> Response? {
        let refusal = simulator.authorize(
            developerKey: request.headers[HTTPField.Name("developer_key")!],
            secretKey: request.headers[HTTPField.Name("secret-key")!],
            timestamp: request.headers[HTTPField.Name("secret-key-timestamp")!]
        )
        guard let refusal else { return nil }
        return json(.init(code: refusal.status), .object(JSONObject([.init(key: "message", value: .string(refusal.message))])))
    }

    private func failure(_ failure: GatewaySimulator.Failure) -> Response {
        json(.ok, .object(JSONObject([
            .init(key: "ok", value: .bool(false)), .init(key: "eko_message", value: .string(failure.ekoMessage)),
            .init(key: "detail", value: .string(failure.detail)), .init(key: "fix", value: .string(failure.fix)),
            .init(key: "link", value: .string(failure.link)),
        ])))
    }
}

private func json(_ status: HTTPResponse.Status, _ value: JSONValue) -> Response {
    Response(
        status: status, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
        body: .init(byteBuffer: ByteBuffer(string: value.serialized()))
    )
}

private func html(_ status: HTTPResponse.Status, _ text: String) -> Response {
    Response(
        status: status,
        headers: [
            .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
            .contentSecurityPolicy: "default-src 'self'; connect-src *; img-src 'self' data:; base-uri 'none'; form-action 'none'",
        ],
        body: .init(byteBuffer: ByteBuffer(string: text))
    )
}

/// What happened in the popups (openings refused, callbacks that failed, executions), newest last, for the
/// simulator's index page and `/sim/events.json`.
final class GatewaySimEvents: Sendable {
    struct Event: Sendable {
        var at: Date
        var clientRefID: String
        var stage: String
        var message: String
    }

    private let events = NIOLockedValueBox<[Event]>([])

    func add(_ event: Event) {
        events.withLockedValue { list in
            list.append(event)
            if list.count > 200 { list.removeFirst(list.count - 200) }
        }
    }

    func recent() -> [Event] { events.withLockedValue { Array($0.reversed()) } }
}

/// The simulator for a configuration (its developer key and initiator id), signing with `signer`, announcing where it
/// listens: what `aeps gateway-sim` and `aeps serve` (in `local`) both run.
public func buildGatewaySimulator(
    config: AppConfig, settings: GatewaySimSettings, signer: EkoSigner, logger: Logger
) -> some ApplicationProtocol {
    let simulator = GatewaySimulator(
        settings: settings, signer: signer, developerKey: config.developerKey, initiatorID: config.initiatorID
    )
    let host = settings.host
    return buildGatewaySimulator(simulator: simulator, logger: logger) { port in
        logger.notice("gateway simulator listening", metadata: ["url": "http://\(host):\(port)/"])
    }
}

/// The simulator as a Hummingbird application (`aeps gateway-sim`, or beside `aeps serve` in `local`).
public func buildGatewaySimulator(
    simulator: GatewaySimulator, logger: Logger, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let router = Router()
    GatewaySimulatorController(simulator: simulator, events: GatewaySimEvents()).addRoutes(to: router)
    return Application(
        router: router,
        configuration: .init(address: .hostname(simulator.settings.host, port: simulator.settings.port), serverName: "aeps-gateway-sim"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
        logger: logger
    )
}
