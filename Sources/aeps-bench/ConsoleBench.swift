// The ops console over HTTP against the filled database: the transactions page and searches, signed in through the
// real form, timed from the client (request to last byte) on loopback.
import AEPSServer
import AsyncHTTPClient
import EkoSigning
import Foundation
import Hummingbird
import HummingbirdBcrypt
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// A loopback port nobody listens on right now (bound to port 0, read back, closed).
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard bound else { throw BenchError("cannot find a free loopback port") }
    return Int(UInt16(bigEndian: address.sin_port))
}

struct ConsoleClient {
    let http: HTTPClient
    let base: String
    var cookies: [String: String] = [:]

    mutating func remember(_ response: HTTPClientResponse) {
        for header in response.headers["Set-Cookie"] {
            let pair = header.split(separator: ";").first ?? ""
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { cookies[parts[0]] = parts[1] }
        }
    }

    func cookieHeader() -> String { cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }

    mutating func get(_ path: String) async throws -> (Int, String) {
        var request = HTTPClientRequest(url: base + path)
        request.headers.add(name: "Cookie", value: cookieHeader())
        let response = try await http.execute(request, timeout: .seconds(30))
        remember(response)
        let body = try await response.body.collect(upTo: 16 << 20)
        return (Int(response.status.code), String(buffer: body))
    }

    mutating func signIn(name: String, password: String) async throws {
        let (_, page) = try await get("/ops/login")
        guard let range = page.range(of: #"name="csrf_token" value=""#),
            let end = page[range.upperBound...].firstIndex(of: "\"")
        else { throw BenchError("no CSRF field on /ops/login") }
        let csrf = String(page[range.upperBound..<end])
        var request = HTTPClientRequest(url: base + "/ops/login")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Cookie", value: cookieHeader())
        request.headers.add(name: "Sec-Fetch-Site", value: "same-origin")
        request.body = .bytes(ByteBuffer(string: "name=\(name)&password=\(password)&csrf_token=\(csrf)"))
        let response = try await http.execute(request, timeout: .seconds(30))
        remember(response)
        guard response.status == .seeOther || response.status == .found else {
            throw BenchError("sign-in answered \(response.status)")
        }
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ text: String) { description = text }
}

/// Serves the console over the filled database and times its pages; prints p50/p90/p99/max per page.
func measureConsole(database: AppDatabase, samples: Int, pages: [(String, String)]) async throws {
    let port = try freePort()
    let config = try AppConfig.parse(Data("""
        {"environment": "uat", "partner_name": "Bench", "initiator_logo_url": "https://example.com/logo.png",
         "initiator_id": "9962981729", "developer_key": "becbbce45f79c6f5109f848acd540567",
         "callback_url": "http://127.0.0.1:\(port)/aeps/callback", "http": {"host": "127.0.0.1", "port": \(port)},
         "log": {"level": "error"}}
        """.utf8))
    _ = try await database.addOpsUser(name: "bench", role: .viewer, passwordHash: Bcrypt.hash("bench-password", cost: 4), now: Date())
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    let app = try buildApplication(
        config: config,
        dependencies: AppDependencies(
            database: database, signer: EkoSigner(accessKey: EkoAccessKey("d2fe1d99-6298-4af2-8cc5-d97dcf46df30")!),
            logger: logger
        )
    )
    let server = Task { try await app.runService() }
    defer { server.cancel() }
    // Redirects are the console's answers here (the sign-in's 303), not something to follow.
    let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
    do {
        try await timePages(http: http, port: port, samples: samples, pages: pages)
    } catch {
        try await http.shutdown()
        throw error
    }
    try await http.shutdown()
}

private func timePages(http: HTTPClient, port: Int, samples: Int, pages: [(String, String)]) async throws {
    var client = ConsoleClient(http: http, base: "http://127.0.0.1:\(port)")
    for _ in 0..<200 {
        if (try? await client.get("/healthz"))?.0 == 200 { break }
        try await Task.sleep(for: .milliseconds(50))
    }
    try await client.signIn(name: "bench", password: "bench-password")
    for (label, path) in pages {
        var latencies: [Double] = []
        var status = 0
        var bytes = 0
        for _ in 0..<samples {
            let start = ContinuousClock.now
            let (code, body) = try await client.get(path)
            let elapsed = ContinuousClock.now - start
            status = code
            bytes = body.utf8.count
            latencies.append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)
        }
        latencies.sort()
        func at(_ q: Double) -> String { String(format: "%.1f", latencies[min(latencies.count - 1, Int(Double(latencies.count) * q))]) }
        print("console \(label) (\(path)): HTTP \(status), \(bytes) bytes, ms: p50 \(at(0.5))  p90 \(at(0.9))  p99 \(at(0.99))  max \(at(1.0))")
    }
}
