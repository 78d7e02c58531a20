// The load benchmark's baseline (`make bench`, docs/performance.md): the callback route with none of the server's
// work but the unavoidable part. It reads the same JSON with `JSONValue`, computes the same two HMACs with
// `EkoSigner` over the hook's `request_hash_params` values, and answers the same JSON shape with the same CORS
// headers. No policy, no session, no database, no log: what a debit-hook costs when nothing is decided or stored.
//
//   aeps-baseline [PORT]   (127.0.0.1 only; the access key from EKO_ACCESS_KEY, else Eko's public UAT key)
import EkoSigning
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

let port = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 8099
let rawKey = ProcessInfo.processInfo.environment["EKO_ACCESS_KEY"] ?? "d2fe1d99-6298-4af2-8cc5-d97dcf46df30"
guard let accessKey = EkoAccessKey(rawKey) else { fatalError("EKO_ACCESS_KEY is empty") }
let signer = EkoSigner(accessKey: accessKey)

/// JSON answers with members in a fixed order, as the server's `JSONResponse` makes them.
enum Answer {
    static func json(_ status: HTTPResponse.Status, _ members: [(String, JSONValue)]) -> Response {
        let body = JSONValue.object(JSONObject(members.map { JSONObject.Member(key: $0.0, value: $0.1) })).serialized()
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: body))
        )
    }
}

let router = Router()
router.add(middleware: CORSMiddleware(
    allowOrigin: .originBased,
    allowHeaders: [.contentType, HTTPField.Name("X-AePS-Session")!],
    allowMethods: [.post, .options],
    maxAge: .seconds(600)
))
router.post("/aeps/callback") { request, _ -> Response in
    let buffer = try await request.body.collect(upTo: 64 * 1024)
    guard case .object(let envelope)? = try? JSONValue.parse(buffer.readableBytesView),
        case .object(let detail)? = envelope["detail"]
    else {
        return Answer.json(.badRequest, [("error", .string("malformed_json")), ("message", .string("not a callback body"))])
    }
    guard envelope["action"]?.scalarText == "debit-hook" else {
        return Answer.json(.ok, [("status", .string("received")), ("client_ref_id", detail["client_ref_id"] ?? .null)])
    }
    let data = detail["data"]?.objectValue ?? JSONObject()
    var names: [String] = []
    if case .array(let items)? = detail["request_hash_params"] {
        names = items.compactMap(\.scalarText)
    }
    let values = names.map { data[$0]?.hashText ?? "" }
    let signature = signer.sign(timestamp: EkoTimestamp.milliseconds(Date()), values: values)
    return Answer.json(.ok, [
        ("action", .string("go")),
        ("allow", .bool(true)),
        ("secret_key_timestamp", .string(signature.timestamp)),
        ("secret_key", .string(signature.secretKey)),
        ("request_hash", .string(signature.requestHash)),
        ("client_ref_id", detail["client_ref_id"] ?? .null),
    ])
}

var logger = Logger(label: "aeps-baseline")
logger.logLevel = .warning
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger)
try await app.runService()
