import AEPSServer
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct RequestLogTests {
    /// The captured `request` lines (level `info`).
    func requestLines(_ server: TestServer) -> [String] {
        server.logs.all.filter { $0.hasPrefix("info request ") }
    }

    /// One line per request, with its id, the route pattern, method, status and latency; never the raw path's id,
    /// the query string, the Authorization header or the body.
    @Test func eachRequestLeavesOneLineWithItsRouteAndNothingSecret() async throws {
        let server = try TestServer()
        try await server.addRetailer()
        try await server.makeApp().test(.router) { client in
            let status = try await client.execute(
                uri: "/api/v1/transactions/SECRETREF987?token=querysecret42", method: .get,
                headers: [.authorization: "Bearer apikeysecret55", .cookie: "aeps_login=cookiesecret66"]
            ) { $0.status }
            #expect(status == .unauthorized)
            try await postCallback(client, debitHookBody(clientRefID: "LOGREF-1"))
            let missing = try await client.execute(uri: "/no/such/page-SECRET77", method: .get) { $0.status }
            #expect(missing == .notFound)
        }
        let lines = requestLines(server)
        #expect(lines.count == 3, "\(lines)")
        guard lines.count == 3 else { return }
        let fields = [
            (route: "/api/v1/transactions/{client_ref_id}", method: "GET", status: "401"),
            (route: "/aeps/callback", method: "POST", status: "200"),
            (route: "not_found", method: "GET", status: "404"),
        ]
        for (line, expected) in zip(lines, fields) {
            #expect(line.contains("\"route\": \(expected.route)"), "\(line)")
            #expect(line.contains("\"method\": \(expected.method)"), "\(line)")
            #expect(line.contains("\"status\": \(expected.status)"), "\(line)")
            #expect(line.contains(/"latency_ms": [0-9]+\.[0-9]/), "\(line)")
            #expect(line.contains(/"request_id": [0-9a-f]+/), "\(line)")
        }
        for secret in ["SECRETREF987", "querysecret42", "apikeysecret55", "cookiesecret66", "SECRET77", "9876543210"] {
            #expect(!lines.joined().contains(secret), "a request line holds \(secret)")
        }
        // Each request has its own id.
        let ids = lines.compactMap { $0.firstMatch(of: /"request_id": ([0-9a-f]+)/).map { String($0.1) } }
        #expect(Set(ids).count == 3)
    }
}
