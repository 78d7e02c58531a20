import AsyncHTTPClient
import EkoSigning
import Foundation
import GRDB
import Logging
import NIOCore
import NIOHTTP1

/// What Eko's Transaction Inquiry said (protocol §9), amounts in paise.
public struct InquiryAnswer: Sendable, Equatable {
    /// The envelope's `status`: 0 means the call itself succeeded.
    public var status: Int?
    public var message: String?
    public var txStatus: Int?
    public var amountPaise: Int64?
    public var tid: String?
    public var bankRefNum: String?
    public var commissionPaise: Int64?
    public var tdsPaise: Int64?

    public init(
        status: Int?, message: String?, txStatus: Int?, amountPaise: Int64?, tid: String?, bankRefNum: String?,
        commissionPaise: Int64?, tdsPaise: Int64?
    ) {
        self.status = status
        self.message = message
        self.txStatus = txStatus
        self.amountPaise = amountPaise
        self.tid = tid
        self.bankRefNum = bankRefNum
        self.commissionPaise = commissionPaise
        self.tdsPaise = tdsPaise
    }
}

/// The outcome of one inquiry, after any retries.
public enum InquiryOutcome: Sendable, Equatable {
    /// Eko answered with its envelope (which may itself say the call failed, `status != 0`).
    case answered(InquiryAnswer)
    /// No usable answer now; ask again later. `reason` is for people (e.g. the 403 hint).
    case unavailable(reason: String)
}

/// Eko's server-to-server API (Transaction Inquiry), over one shared `HTTPClient`. Every call is signed afresh,
/// recorded in `eko_call` (masked), and retried with backoff and jitter only when retrying is safe (transport
/// errors, timeouts, HTTP 429 and 5xx). Secrets never reach the log or the database.
public struct EkoClient: Sendable {
    public static let maxAttempts = 3

    let config: AppConfig
    let signer: EkoSigner
    let http: HTTPClient
    let database: AppDatabase
    let clock: @Sendable () -> Date
    let logger: Logger
    /// The pause before retry `n` (1-based); jittered. Tests shorten it.
    let backoff: @Sendable (Int) -> Duration

    public init(
        config: AppConfig, signer: EkoSigner, http: HTTPClient, database: AppDatabase,
        clock: @escaping @Sendable () -> Date = { Date() }, logger: Logger,
        backoff: @escaping @Sendable (Int) -> Duration = EkoClient.defaultBackoff
    ) {
        self.config = config
        self.signer = signer
        self.http = http
        self.database = database
        self.clock = clock
        self.logger = logger
        self.backoff = backoff
    }

    /// 200 ms before the first retry, doubling, plus up to 100 ms of jitter.
    public static let defaultBackoff: @Sendable (Int) -> Duration = { attempt in
        .milliseconds(Int64(200 * (1 << (attempt - 1))) + Int64.random(in: 0...100))
    }

    /// Transaction Inquiry by the partner's `client_ref_id`.
    public func inquire(clientRefID: String) async -> InquiryOutcome {
        await inquire(path: "transactions/client_ref_id:\(Self.escape(clientRefID))", reference: clientRefID)
    }

    /// Transaction Inquiry by Eko's `tid`.
    public func inquire(tid: String) async -> InquiryOutcome {
        await inquire(path: "transactions/\(Self.escape(tid))", reference: "tid:\(tid)")
    }

    private func inquire(path: String, reference: String) async -> InquiryOutcome {
        let url = "\(config.ekoAPIBase)/\(path)?initiator_id=\(config.initiatorID)"
        var attempt = 1
        while true {
            let (outcome, retryable) = await call(url: url, reference: reference, attempt: attempt)
            if case .unavailable = outcome, retryable, attempt < Self.maxAttempts {
                try? await Task.sleep(for: backoff(attempt))
                attempt += 1
                continue
            }
            return outcome
        }
    }

    /// One signed request; returns its outcome and whether trying again at once is safe.
    private func call(url: String, reference: String, attempt: Int) async -> (InquiryOutcome, retryable: Bool) {
        let request = Self.signedGET(url: url, config: config, signer: signer, now: clock())
        let start = ContinuousClock.now
        var record = EkoCallRecord(
            calledAt: clock(), operation: "transaction_inquiry", reference: String(reference.prefix(100)), attempt: attempt
        )
        let result: (InquiryOutcome, Bool)
        do {
            let response = try await http.execute(request, timeout: .milliseconds(Int64(config.ekoReadTimeoutMilliseconds)))
            let body = try await response.body.collect(upTo: 256 * 1024)
            record.httpStatus = Int(response.status.code)
            let parsed = try? JSONValue.parse(body.readableBytesView)
            record.body = parsed.map { Redactor.mask($0).serialized() }
                ?? Redactor.maskDigitRuns(String(decoding: body.readableBytesView.prefix(2048), as: UTF8.self))
            switch response.status.code {
            case 200..<300:
                guard let answer = parsed.flatMap(Self.answer) else {
                    record.outcome = "malformed"
                    result = (.unavailable(reason: "Eko answered with a body that is not its JSON envelope"), false)
                    break
                }
                record.outcome = "answered"
                record.ekoStatus = answer.status
                record.txStatus = answer.txStatus
                result = (.answered(answer), false)
            case 403:
                record.outcome = "forbidden"
                record.note = "HTTP 403: usually a wrong access key or a stale secret-key-timestamp (Eko FAQ)"
                result = (.unavailable(reason: record.note!), false)
            case 429, 500..<600:
                record.outcome = "http_error"
                result = (.unavailable(reason: "Eko answered HTTP \(response.status.code)"), true)
            default:
                record.outcome = "http_error"
                result = (.unavailable(reason: "Eko answered HTTP \(response.status.code)"), false)
            }
        } catch {
            record.outcome = "transport_error"
            record.note = "\(error)".prefix(200).description
            result = (.unavailable(reason: "no answer from Eko (\(record.note!))"), true)
        }
        let elapsed = ContinuousClock.now - start
        record.latencyMs = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        do {
            try await database.recordEkoCall(record)
        } catch {
            logger.error("could not record an Eko call", metadata: ["error": "\(error)"])
        }
        logger.info(
            "eko inquiry",
            metadata: [
                "reference": "\(record.reference)", "attempt": "\(attempt)", "outcome": "\(record.outcome)",
                "http_status": "\(record.httpStatus.map(String.init) ?? "-")",
                "latency_ms": "\(Int(record.latencyMs.rounded()))",
            ]
        )
        return result
    }

    /// A GET to Eko's server API with its authentication headers (protocol §3): `developer_key`, and a fresh
    /// `secret-key` for `secret-key-timestamp`.
    static func signedGET(url: String, config: AppConfig, signer: EkoSigner, now: Date) -> HTTPClientRequest {
        let timestamp = EkoTimestamp.milliseconds(now)
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        request.headers.add(name: "developer_key", value: config.developerKey)
        request.headers.add(name: "secret-key", value: signer.secretKey(timestamp: timestamp))
        request.headers.add(name: "secret-key-timestamp", value: timestamp)
        request.headers.add(name: "Accept", value: "application/json")
        return request
    }

    /// Reads Eko's envelope `{status, message, data: {tx_status, amount, tid, ...}}`; nil if it is not one.
    static func answer(_ value: JSONValue) -> InquiryAnswer? {
        guard case .object(let envelope) = value, envelope["status"] != nil || envelope["data"] != nil else { return nil }
        let data = envelope["data"]
        func integer(_ value: JSONValue?) -> Int? { value?.scalarText.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } }
        func paise(_ value: JSONValue?) -> Int64? { value?.scalarText.flatMap(Paise.parse) }
        return InquiryAnswer(
            status: integer(envelope["status"]), message: envelope["message"]?.scalarText,
            txStatus: integer(data?["tx_status"]), amountPaise: paise(data?["amount"]), tid: data?["tid"]?.scalarText,
            bankRefNum: data?["bank_ref_num"]?.scalarText, commissionPaise: paise(data?["commission"]),
            tdsPaise: paise(data?["tds"])
        )
    }

    static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?#"))) ?? text
    }
}

/// One call to Eko's server API, as recorded.
public struct EkoCallRecord: StoredRecord, Equatable {
    public var id: Int64?
    public var calledAt: Date
    public var operation: String
    public var reference: String
    public var attempt: Int
    public var httpStatus: Int?
    public var ekoStatus: Int?
    public var txStatus: Int?
    public var outcome: String = "pending"
    public var note: String?
    public var body: String?
    public var latencyMs: Double = 0

    public static let databaseTableName = "eko_call"

    init(calledAt: Date, operation: String, reference: String, attempt: Int) {
        self.calledAt = calledAt
        self.operation = operation
        self.reference = reference
        self.attempt = attempt
    }
}

extension AppDatabase {
    func recordEkoCall(_ record: EkoCallRecord) async throws {
        try await writer.write { db in
            var row = record
            try row.insert(db)
        }
    }
}
