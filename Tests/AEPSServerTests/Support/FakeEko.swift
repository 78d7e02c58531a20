import AEPSServer
import EkoSigning
import Foundation
import HTTPTypes
import Hummingbird
import NIOConcurrencyHelpers
import NIOCore

/// A local stand-in for Eko's server API (real HTTP on loopback): answers Transaction Inquiry from a script per
/// reference, and, as Eko does, refuses with 403 a request whose secret-key does not match its timestamp.
final class FakeEko: Sendable {
    enum Reply: Sendable {
        case json(Int, String)
        case slow(Duration, String)
        case body(String)
    }

    let port: Int
    var apiBase: String { "http://127.0.0.1:\(port)/ekoapi/v1" }
    private let script: NIOLockedValueBox<[String: [Reply]]>
    private let seen: NIOLockedValueBox<[String]>
    private let task: Task<Void, any Error>

    /// References asked about, in order (`client_ref_id:X` or a tid).
    var calls: [String] { seen.withLockedValue { $0 } }

    private init(port: Int, script: NIOLockedValueBox<[String: [Reply]]>, seen: NIOLockedValueBox<[String]>, task: Task<Void, any Error>) {
        self.port = port
        self.script = script
        self.seen = seen
        self.task = task
    }

    /// Replies for a reference, used in order; the last one repeats.
    func script(_ reference: String, _ replies: Reply...) {
        script.withLockedValue { $0[reference] = replies }
    }

    static func start(accessKey: String = uatAccessKey, developerKey: String = "becbbce45f79c6f5109f848acd540567") async throws -> FakeEko {
        let script = NIOLockedValueBox<[String: [Reply]]>([:])
        let seen = NIOLockedValueBox<[String]>([])
        let router = Router()
        router.get("/ekoapi/v1/transactions/:reference") { request, context -> Response in
            let reference = try context.parameters.require("reference")
            seen.withLockedValue { $0.append(reference) }
            let timestamp = request.headers[HTTPField.Name("secret-key-timestamp")!] ?? ""
            guard request.headers[HTTPField.Name("developer_key")!] == developerKey,
                request.headers[HTTPField.Name("secret-key")!] == referenceHMAC(timestamp, accessKey: accessKey),
                request.uri.queryParameters["initiator_id"] == "9962981729"
            else {
                return Response(status: .forbidden, body: .init(byteBuffer: ByteBuffer(string: #"{"message":"Forbidden"}"#)))
            }
            let reply: Reply = script.withLockedValue { table in
                guard var replies = table[reference], !replies.isEmpty else {
                    return .json(200, #"{"status": 463, "message": "Transaction not found"}"#)
                }
                let next = replies.count > 1 ? replies.removeFirst() : replies[0]
                table[reference] = replies
                return next
            }
            switch reply {
            case .json(let status, let body):
                return Response(
                    status: .init(code: status), headers: [.contentType: "application/json"],
                    body: .init(byteBuffer: ByteBuffer(string: body))
                )
            case .slow(let delay, let body):
                try await Task.sleep(for: delay)
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
            case .body(let text):
                return Response(status: .ok, headers: [.contentType: "text/html"], body: .init(byteBuffer: ByteBuffer(string: text)))
            }
        }
        let (port, task) = try await startOnFreePort(router: router, host: "127.0.0.1")
        return FakeEko(port: port, script: script, seen: seen, task: task)
    }

    func stop() { task.cancel() }

    /// Eko's inquiry envelope for a transaction.
    static func inquiry(txStatus: Int, amount: String = "500.00", tid: String = "3210000000") -> String {
        """
        {"status": 0, "response_status_id": 0, "message": "Transaction inquiry successful", "data": {"tx_status": "\(txStatus)", \
        "amount": "\(amount)", "tid": "\(tid)", "bank_ref_num": "412345678901", "commission": "1.50", "tds": "0.08", \
        "customer_id": "9876543210", "client_ref_id": "AEPS1700000000123"}}
        """
    }
}

/// Starts a small server on a port the system picks (port 0, so parallel tests never collide) and returns the
/// port it got and the task that runs it.
func startOnFreePort(router: Router<BasicRequestContext>, host: String) async throws -> (Int, Task<Void, any Error>) {
    let bound = AsyncStream<Int>.makeStream()
    let app = Application(
        router: router, configuration: .init(address: .hostname(host, port: 0)),
        onServerRunning: { channel in bound.continuation.yield(channel.localAddress?.port ?? 0) },
        logger: LogCapture().logger()
    )
    let task = Task { try await app.runService() }
    for await port in bound.stream { return (port, task) }
    throw CommandLineTimeout(waitingFor: "a test server on \(host)", stderr: "")
}
