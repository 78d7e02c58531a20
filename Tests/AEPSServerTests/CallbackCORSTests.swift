import AEPSServer
import EkoSigning
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct CallbackCORSTests {
    func preflight(_ client: some TestClientProtocol, origin: String?) async throws -> (HTTPResponse.Status, HTTPFields, String) {
        var headers = HTTPFields()
        if let origin { headers[.origin] = origin }
        headers[.accessControlRequestMethod] = "POST"
        headers[.accessControlRequestHeaders] = "content-type, x-aeps-session"
        return try await client.execute(uri: "/aeps/callback", method: .options, headers: headers) { response in
            (response.status, response.headers, String(buffer: response.body))
        }
    }

    @Test(arguments: [stageOrigin, "https://extra.example"])
    func preflightFromAnAllowedOriginIsEchoed(origin: String) async throws {
        let server = try TestServer()
        try await server.makeApp().test(.router) { client in
            let (status, headers, _) = try await preflight(client, origin: origin)
            #expect(status == .noContent)
            #expect(headers[.accessControlAllowOrigin] == origin)
            #expect(headers[.vary] == "Origin")
            #expect(headers[.accessControlAllowMethods] == "POST, OPTIONS")
            let allowed = headers[.accessControlAllowHeaders]?.lowercased().split(separator: ",")
                .map { $0.trimmingCharacters(in: .whitespaces) }
            #expect(allowed == ["content-type", "x-aeps-session"])
        }
    }

    @Test func productionAllowsTheProductionGatewayOnly() async throws {
        let server = try TestServer(overrides: [
            "environment": #""production""#, "developer_key": #""0123456789abcdef0123456789abcdef""#,
        ])
        try await server.makeApp().test(.router) { client in
            let (status, headers, _) = try await preflight(client, origin: "https://gateway.eko.in")
            #expect(status == .noContent)
            #expect(headers[.accessControlAllowOrigin] == "https://gateway.eko.in")
            let (stageStatus, stageHeaders, _) = try await preflight(client, origin: stageOrigin)
            #expect(stageStatus == .forbidden)
            #expect(stageHeaders[.accessControlAllowOrigin] == nil)
        }
    }

    @Test func preflightFromAForeignOriginGetsNoCORSHeaders() async throws {
        let server = try TestServer()
        try await server.makeApp().test(.router) { client in
            let (status, headers, body) = try await preflight(client, origin: "https://evil.example")
            #expect(status == .forbidden)
            #expect(headers[.accessControlAllowOrigin] == nil)
            #expect(headers[.accessControlAllowMethods] == nil)
            #expect(headers[.accessControlAllowHeaders] == nil)
            #expect(headers[.vary] == "Origin")
            #expect(try JSONValue.parse(body)["error"] == .string("origin_not_allowed"))
        }
    }

    @Test func aPostFromAForeignOriginIsAnsweredWithoutCORSHeaders() async throws {
        let server = try TestServer()
        try await server.addRetailer()
        try await server.makeApp().test(.router) { client in
            let answer = try await postCallback(client, debitHookBody(), headers: gatewayHeaders(origin: "https://evil.example"))
            #expect(answer.status == .ok)
            #expect(answer.headers[.accessControlAllowOrigin] == nil)
            #expect(answer.headers[.vary] == "Origin")
        }
    }

    @Test func theCallbackPathFollowsCallbackURL() async throws {
        let server = try TestServer(overrides: ["callback_url": #""https://partner.example/eko/cb""#])
        try await server.addRetailer()
        try await server.makeApp().test(.router) { client in
            let answer = try await postCallback(client, debitHookBody(), path: "/eko/cb")
            #expect(answer.json["allow"] == .bool(true))
            try await client.execute(uri: "/aeps/callback", method: .post, headers: gatewayHeaders()) { response in
                #expect(response.status == .notFound)
            }
        }
    }
}
