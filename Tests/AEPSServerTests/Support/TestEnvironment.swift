import AEPSServer
import Crypto
import EkoSigning
import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Logging
import NIOConcurrencyHelpers
import Testing

/// The pinned clock of every app test: `secret_key_timestamp` is then `1700000000000`.
let pinnedNow = Date(timeIntervalSince1970: 1_700_000_000)
let uatAccessKey = "d2fe1d99-6298-4af2-8cc5-d97dcf46df30"
let stageOrigin = "https://stagegateway.eko.in"
/// The gateway-session token that `TestServer.addRetailer` issues (each test server has its own database).
let defaultGatewayToken = "gs_test-default-token-0123456789"

/// A temporary folder removed when the value goes away.
final class TemporaryDirectory: Sendable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("aeps-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// Log lines captured from the app under test (to prove secrets and personal data stay out of them).
final class LogCapture: Sendable {
    private let lines = NIOLockedValueBox<[String]>([])

    var all: [String] { lines.withLockedValue { $0 } }
    var text: String { all.joined(separator: "\n") }

    func logger() -> Logger {
        var logger = Logger(label: "aeps-test") { _ in CapturingHandler(capture: self) }
        logger.logLevel = .trace
        return logger
    }

    /// The capturing handler itself, to wrap (e.g. in ``PrintableLogHandler``).
    func handler() -> any LogHandler {
        CapturingHandler(capture: self)
    }

    fileprivate func append(_ line: String) { lines.withLockedValue { $0.append(line) } }

    private struct CapturingHandler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            capture.append("\(event.level) \(event.message) \(merged)")
        }
    }
}

/// The configuration text of a test server; `overrides` replace top-level members.
func configJSON(_ overrides: [String: String] = [:]) -> String {
    var members: [(String, String)] = [
        ("environment", #""uat""#),
        ("partner_name", #""Test Partner""#),
        ("initiator_logo_url", #""https://example.com/logo.png""#),
        ("initiator_id", #""9962981729""#),
        ("developer_key", #""becbbce45f79c6f5109f848acd540567""#),
        ("callback_url", #""https://partner.example/aeps/callback""#),
        ("eko", #"{"extra_origins": ["https://extra.example"]}"#),
    ]
    for (key, value) in overrides {
        if let index = members.firstIndex(where: { $0.0 == key }) {
            members[index].1 = value
        } else {
            members.append((key, value))
        }
    }
    return "{" + members.filter { $0.1 != "REMOVE" }.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
}

/// A real application over a real SQLite file in a temporary folder, with a pinned clock and captured logs.
struct TestServer {
    let directory: TemporaryDirectory
    let config: AppConfig
    let database: AppDatabase
    let logs = LogCapture()
    /// What the app's sweeper does (subscribe before posting).
    let settlementEvents = SettlementEvents()

    init(overrides: [String: String] = [:]) throws {
        directory = try TemporaryDirectory()
        var overrides = overrides
        if overrides["database"] == nil {
            overrides["database"] = "{\"path\": \"\(directory.path("data/aeps.sqlite"))\"}"
        }
        if overrides["eko"] == nil {
            // The sweeper runs inside every app under test: without a fake Eko it finds nobody (a closed port).
            let closed = try freeLoopbackPort()
            overrides["eko"] = """
                {"extra_origins": ["https://extra.example"], "api_base": "http://127.0.0.1:\(closed)/ekoapi/v1", \
                "read_timeout_ms": 500}
                """
        }
        config = try AppConfig.parse(Data(configJSON(overrides).utf8))
        database = try AppDatabase.open(path: config.databasePath)
        try database.migrate()
    }

    func makeApp(clock: @escaping @Sendable () -> Date = { pinnedNow }) throws -> some ApplicationProtocol {
        try buildApplication(
            config: config,
            dependencies: AppDependencies(
                database: database,
                signer: EkoSigner(accessKey: EkoAccessKey(uatAccessKey)!),
                clock: clock,
                logger: logs.logger(),
                publicDirectory: directory.path("public"),
                ekoBackoff: { _ in .milliseconds(1) },
                settlementEvents: settlementEvents
            )
        )
    }

    /// Registers an active retailer and opens a gateway session for it with `token` (valid 15 minutes from the
    /// pinned clock), as the page would.
    func addRetailer(
        _ userCode: String = "20810200", name: String = "Test Shop", token: String = defaultGatewayToken,
        sessionIssuedAt: Date = pinnedNow, language: String = "en"
    ) async throws {
        let retailer = try await database.addRetailer(userCode: userCode, name: name, now: pinnedNow)
        _ = try await database.createGatewaySession(
            retailer: retailer, tokenHash: SecretToken.hash(token), environment: "uat", issuedVia: "test",
            language: language, now: sessionIssuedAt, ttlSeconds: 900
        )
    }

    /// A separate read-only connection to the database file, to check what is really on disk.
    func openFile() throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.readonly = true
        return try DatabaseQueue(path: config.databasePath, configuration: configuration)
    }

    /// Every row of a query, each column as text (nil for NULL), read through a separate connection.
    func rows(_ sql: String) async throws -> [[String: String?]] {
        try await query { db in
            try Row.fetchAll(db, sql: sql).map { row in
                Dictionary(uniqueKeysWithValues: row.columnNames.map { name -> (String, String?) in
                    let value: DatabaseValue = row[name]
                    switch value.storage {
                    case .null: return (name, nil)
                    case .int64(let number): return (name, String(number))
                    case .double(let number): return (name, String(number))
                    case .string(let text): return (name, text)
                    case .blob(let data): return (name, data.base64EncodedString())
                    }
                })
            }
        }
    }

    /// Reads the database file through a separate connection.
    func query<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        try await openFile().read(body)
    }
}

// MARK: - Callback bodies

func debitHookBody(
    clientRefID: String = "AEPS1700000000123",
    type: String = #""2""#,
    amount: String? = #""500""#,
    customerID: String = #""9876543210""#,
    userCode: String = #""20810200""#,
    params: [String] = ["customer_id", "amount", "user_code"],
    session: String? = defaultGatewayToken,
    extraTopLevel: String = ""
) -> String {
    let sessionMember = session.map { #", "aeps_session": "\#($0)""# } ?? ""
    let amountMember = amount.map { #", "amount": \#($0)"# } ?? ""
    let paramList = params.map { "\"\($0)\"" }.joined(separator: ", ")
    return """
        {"action": "debit-hook", "detail": {"client_ref_id": "\(clientRefID)", "request_hash_params": [\(paramList)], \
        "data": {"type": \(type)\(amountMember), "customer_id": \(customerID), "user_code": \(userCode), \
        "bank_code": "607153"}, "url": "https://example/api", "http_method": "POST", "interaction_type_id": 344}\(sessionMember)\(extraTopLevel)}
        """
}

func ekoResponseBody(
    clientRefID: String = "AEPS1700000000123",
    txStatus: String = #""0""#,
    amount: String = "500.00",
    aadhaar: String = "XXXX XXXX 1234"
) -> String {
    """
    {"action": "eko-response", "detail": {"client_ref_id": "\(clientRefID)", "http_status": 200, "response": \
    {"status": 0, "response_status_id": 0, "response_type_id": 1463, "message": "Transaction Successful", "data": \
    {"tx_status": \(txStatus), "amount": "\(amount)", "tid": "3210000000", "bank_ref_num": "412345678901", \
    "aadhar": "\(aadhaar)", "sender_name": "Test User", "bank": "Example Bank", "balance": "1520.00", \
    "user_code": "20810200", "commission": "1.50", "tds": "0.08", "customer_id": "9876543210"}}}}
    """
}

/// Request headers as the gateway's browser call sends them.
func gatewayHeaders(origin: String? = stageOrigin, contentType: String? = "application/json") -> HTTPFields {
    var headers = HTTPFields()
    if let origin { headers[.origin] = origin }
    if let contentType { headers[.contentType] = contentType }
    return headers
}

/// POSTs to the callback and returns status, headers and the parsed JSON answer.
@discardableResult
func postCallback(
    _ client: some TestClientProtocol,
    _ body: String,
    headers: HTTPFields = gatewayHeaders(),
    path: String = "/aeps/callback",
    sourceLocation: SourceLocation = #_sourceLocation
) async throws -> (status: HTTPResponse.Status, headers: HTTPFields, json: JSONValue) {
    try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: body)) { response in
        let text = String(buffer: response.body)
        let json = try #require(try? JSONValue.parse(text), "answer is not JSON: \(text)", sourceLocation: sourceLocation)
        return (response.status, response.headers, json)
    }
}

/// An independent computation of Eko's recipe, so app answers are not checked with the app's own signer.
func referenceHMAC(_ message: String, accessKey: String = uatAccessKey) -> String {
    let key = SymmetricKey(data: Data(Data(accessKey.utf8).base64EncodedString().utf8))
    return Data(HMAC<SHA256>.authenticationCode(for: Data(message.utf8), using: key)).base64EncodedString()
}
