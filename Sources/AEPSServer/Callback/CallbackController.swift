import Crypto
import EkoSigning
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

extension HTTPField.Name {
    /// The gateway-session token, when the page passes it as a custom callback header.
    static let aepsSession = HTTPField.Name("X-AePS-Session")!
}

/// The callback URL Eko's gateway calls from the retailer's browser: `debit-hook` before a transaction and
/// `eko-response` after it (protocol §4–6). Every answer is JSON; every request is recorded.
public struct CallbackController: Sendable {
    /// Callback bodies are a few hundred bytes; anything over 64 KiB is refused with 413.
    public static let maximumBodyBytes = 64 * 1024

    let database: AppDatabase
    let signer: EkoSigner
    let policy: DebitHookPolicy
    let clock: @Sendable () -> Date
    let trustForwardedFor: Bool
    /// The language of refusals when the hook's session does not say (`language` in `aeps.config`).
    let language: String
    /// A reported result is a claim: recorded, and checked with Eko by the sweeper, woken through `inquiries`.
    let settlementRules: SettlementRules
    let inquirySchedule: InquirySchedule
    let inquiries: InquirySignal
    /// Counts callbacks, decisions and the debit-hook's latency (labels from fixed lists only).
    let metrics: AppMetrics

    /// Mounts `OPTIONS` and `POST` on the callback path, with the gateway's CORS and JSON errors around them.
    func addRoutes(to router: Router<AppRequestContext>, path: String, allowedOrigins: [String]) {
        router.group(RouterPath(path))
            .add(middleware: GatewayCORSMiddleware(allowedOrigins: allowedOrigins))
            .add(middleware: JSONErrorMiddleware())
            .post(use: handle)
            .on("", method: .options, use: preflightFromOtherOrigin)
    }

    /// Preflights from allowed origins are answered by the CORS middleware; this sees every other one.
    @Sendable func preflightFromOtherOrigin(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let origin = request.headers[.origin] else {
            var response = Response(status: .noContent)
            response.headers[.allow] = "POST, OPTIONS"
            return response
        }
        context.logger.notice("preflight from an origin that is not allowed", metadata: ["origin": "\(origin)"])
        return JSONResponse.error(
            .forbidden, code: "origin_not_allowed",
            message: "Origin \(origin) may not call this callback; add it to eko.extra_origins if it should."
        )
    }

    /// `POST` callback: reads the body once, dispatches on `action`, and answers.
    @Sendable func handle(_ request: Request, context: AppRequestContext) async throws -> Response {
        let start = ContinuousClock.now
        let latency: @Sendable () -> Double = {
            let elapsed = ContinuousClock.now - start
            return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        }
        var log = CallbackLogEntry(
            id: nil, receivedAt: clock(), requestId: context.id,
            remoteAddress: context.clientAddress(request, trustForwardedFor: trustForwardedFor),
            origin: request.headers[.origin].map { Redactor.printable($0, limit: 200) }, action: nil, clientRefId: nil,
            httpStatus: 200, outcome: "rejected", reason: nil, body: nil, bodyBytes: 0, latencyMs: 0
        )
        do {
            let (action, envelope, detail) = try await readEnvelope(request, log: &log)
            switch action {
            case "debit-hook":
                let token = try Self.sessionToken(header: request.headers[.aepsSession], body: envelope["aeps_session"])
                return try await debitHook(detail, sessionToken: token, log: log, latency: latency, logger: context.logger)
            case "eko-response":
                return try await ekoResponse(detail, log: log, latency: latency, logger: context.logger)
            default:
                throw CallbackRequestError(
                    .unknownAction, "action must be \"debit-hook\" or \"eko-response\", got \"\(Redactor.printable(action, limit: 64))\""
                )
            }
        } catch let error as CallbackRequestError {
            log.httpStatus = error.status
            log.outcome = "rejected"
            log.reason = error.code.rawValue
            log.latencyMs = latency()
            metrics.callback(action: log.action, outcome: .rejected)
            do {
                try await database.recordRejectedCallback(log)
            } catch {
                context.logger.error("could not record a rejected callback", metadata: ["error": "\(error)"])
            }
            context.logger.notice(
                "callback rejected",
                metadata: ["reason": "\(error.code.rawValue)", "status": "\(error.status)", "origin": "\(log.origin ?? "-")"]
            )
            return JSONResponse.error(.init(code: error.status), code: error.code.rawValue, message: error.message)
        }
    }

    /// Checks the content type and size, parses the JSON, and returns `action`, the whole body and `detail`.
    /// Fills the log row's body (masked), action and client_ref_id as they become known.
    private func readEnvelope(_ request: Request, log: inout CallbackLogEntry) async throws(CallbackRequestError)
        -> (String, JSONObject, JSONObject)
    {
        let mediaType = request.headers[.contentType].flatMap { MediaType(from: $0) }
        guard let mediaType, mediaType.isType(.applicationJson) else {
            throw CallbackRequestError(.unsupportedMediaType, "Content-Type must be application/json")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: Self.maximumBodyBytes)
        } catch {
            throw CallbackRequestError(.bodyTooLarge, "the body is larger than \(Self.maximumBodyBytes) bytes")
        }
        log.bodyBytes = buffer.readableBytes
        log.bodyDigest = Hex.sha256(Data(buffer.readableBytesView))
        let root: JSONValue
        do {
            root = try JSONValue.parse(buffer.readableBytesView)
        } catch {
            // Not JSON: nothing in it can be masked reliably, so only its size and digest are kept.
            throw CallbackRequestError(.malformedJSON, "the body is not valid JSON (\(error))")
        }
        log.body = Redactor.mask(root).serialized()
        guard case .object(let envelope) = root else {
            throw CallbackRequestError(.malformedJSON, "the body must be a JSON object")
        }
        guard case .string(let action)? = envelope["action"] else {
            throw CallbackRequestError(.missingAction, "action is missing")
        }
        log.action = Redactor.printable(action, limit: 64)
        guard case .object(let detail)? = envelope["detail"] else {
            throw CallbackRequestError(.missingDetail, "detail is missing or not an object")
        }
        if let reference = detail["client_ref_id"]?.scalarText {
            log.clientRefId = Redactor.printable(reference, limit: DebitHook.maxClientRefIDLength)
        }
        return (action, envelope, detail)
    }

    // MARK: debit-hook

    private func debitHook(
        _ detail: JSONObject,
        sessionToken: String?,
        log: CallbackLogEntry,
        latency: @escaping @Sendable () -> Double,
        logger: Logger
    ) async throws -> Response {
        let hook = try DebitHook(detail: detail)
        let budget = Duration.milliseconds(policy.config.decisionBudgetMilliseconds)
        let database = self.database
        let policy = self.policy
        let now = clock()
        // The decision and its record run in their own task; the answer waits for it only until the budget ends,
        // unless the decision has claimed the answer (then its commit is awaited: an approval is committed only
        // if it is what the gateway is told). A decision that comes later records itself as storage_timeout.
        let gate = AnswerGate()
        let work = Task {
            try await database.decideDebitHook(
                hook, sessionToken: sessionToken, policy: policy, now: now, log: log, latency: latency,
                mayAnswer: { gate.claimForDecision() }
            )
        }
        var decided = await firstWithin(budget) { try await work.value }
        if case .timedOut = decided, !gate.claimForTimeout() {
            do { decided = .value(try await work.value) } catch { decided = .failed(error) }
        }
        let result: DebitHookResult
        switch decided {
        case .value(let value):
            result = value
        case .failed(let error):
            // Never approve without a durable record.
            logger.error(
                "could not record a debit-hook; refusing it",
                metadata: ["client_ref_id": "\(hook.clientRefID)", "error": "\(error)"]
            )
            metrics.callback(action: "debit-hook", outcome: .refused)
            metrics.debitHook(reason: RefusalCode.storageUnavailable.rawValue, latencyMilliseconds: latency())
            return refusal(.storageUnavailable, language: language)
        case .timedOut:
            logger.error(
                "debit-hook not decided within the budget; refused",
                metadata: ["client_ref_id": "\(hook.clientRefID)", "budget_ms": "\(policy.config.decisionBudgetMilliseconds)"]
            )
            metrics.callback(action: "debit-hook", outcome: .refused)
            metrics.debitHook(reason: RefusalCode.storageTimeout.rawValue, latencyMilliseconds: latency())
            return refusal(.storageTimeout, language: language)
        }
        metrics.callback(action: "debit-hook", outcome: result.decision.isApproved ? .approved : .refused)
        metrics.debitHook(reason: result.decision.reasonCode, latencyMilliseconds: latency())
        logger.info(
            "debit-hook decided",
            metadata: [
                "client_ref_id": "\(hook.clientRefID)", "decision": "\(result.decision.reasonCode)",
                "repeat": "\(result.isRepeat)", "latency_ms": "\(Int(latency().rounded()))",
            ]
        )
        guard case .approve(let approval) = result.decision else {
            return refusal(result.decision.refusalCode ?? .storageUnavailable, language: result.language ?? language)
        }
        // A fresh timestamp for every answer, repeats included; one timestamp for both values.
        let signature = signer.sign(approval, timestamp: EkoTimestamp.milliseconds(clock()))
        return JSONResponse.make(.ok, [
            ("action", .string("go")),
            ("allow", .bool(true)),
            ("secret_key_timestamp", .string(signature.timestamp)),
            ("secret_key", .string(signature.secretKey)),
            ("request_hash", .string(signature.requestHash)),
            ("client_ref_id", .string(hook.clientRefID)),
        ])
    }

    /// The gateway-session token from the `X-AePS-Session` header or the body's `aeps_session`: empty is none;
    /// anything else must be a bounded identifier.
    static func sessionToken(header: String?, body: JSONValue?) throws(CallbackRequestError) -> String? {
        guard let token = header ?? body?.scalarText, !token.isEmpty else { return nil }
        try CallbackRequestError.checkIdentifier(token, field: "the gateway-session token", maxLength: SecretToken.maxLength)
        return token
    }

    func refusal(_ code: RefusalCode, language: String) -> Response {
        JSONResponse.make(.ok, [
            ("action", .string("go")), ("allow", .bool(false)), ("message", .string(code.message(language: language))),
        ])
    }

    // MARK: eko-response

    private func ekoResponse(
        _ detail: JSONObject,
        log: CallbackLogEntry,
        latency: @escaping @Sendable () -> Double,
        logger: Logger
    ) async throws -> Response {
        let response = EkoResponse(detail: detail)
        let canonical = JSONValue.object(detail).serialized()
        let digest = Hex.sha256(Data(canonical.utf8))
        let outcome: EkoResponseOutcome
        do {
            outcome = try await database.recordEkoResponse(
                response, digest: digest, rules: settlementRules, schedule: inquirySchedule, now: clock(), log: log,
                latency: latency
            )
        } catch {
            logger.error(
                "could not record an eko-response",
                metadata: ["client_ref_id": "\(response.clientRefID ?? "-")", "error": "\(error)"]
            )
            metrics.callback(action: "eko-response", outcome: .error)
            return JSONResponse.error(
                .serviceUnavailable, code: "storage_unavailable", message: "could not record the response; send it again"
            )
        }
        metrics.callback(action: "eko-response", outcome: .received)
        metrics.ekoResponse(outcome: outcome)
        logger.info(
            "eko-response recorded",
            metadata: [
                "client_ref_id": "\(response.clientRefID ?? "-")", "tx_status": "\(response.txStatus.map(String.init) ?? "-")",
                "outcome": "\(outcome.rawValue)", "latency_ms": "\(Int(latency().rounded()))",
            ]
        )
        if outcome == .inquiryQueued || outcome == .unknownTxStatus {
            // The browser's report is a claim: the sweeper asks Eko now; money follows Eko's answer.
            inquiries.wake()
        }
        return JSONResponse.make(.ok, [
            ("status", .string("received")),
            ("client_ref_id", response.clientRefID.map(JSONValue.string) ?? .null),
        ])
    }
}
