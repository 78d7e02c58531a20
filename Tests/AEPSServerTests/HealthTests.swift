import AEPSServer
import EkoSigning
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@Suite struct HealthTests {
    @Test func healthAndReadinessAnswerJSON() async throws {
        let server = try TestServer()
        try await server.makeApp().test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
                let body = try JSONValue.parse(String(buffer: response.body))
                #expect(body["status"] == .string("ok"))
            }
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .ok)
                let body = try JSONValue.parse(String(buffer: response.body))
                #expect(body["status"] == .string("ready"))
            }
        }
    }

    @Test func readinessFailsWhileMigrationsArePending() async throws {
        let directory = try TemporaryDirectory()
        let config = try AppConfig.parse(Data(configJSON([
            "database": "{\"path\": \"\(directory.path("fresh.sqlite"))\"}",
        ]).utf8))
        let database = try AppDatabase.open(path: config.databasePath)  // not migrated
        let app = try buildApplication(
            config: config,
            dependencies: AppDependencies(
                database: database, signer: EkoSigner(accessKey: EkoAccessKey(uatAccessKey)!),
                logger: LogCapture().logger(), publicDirectory: directory.path("public")
            )
        )
        try await app.test(.router) { client in
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                let body = try JSONValue.parse(String(buffer: response.body))
                #expect(body["status"] == .string("not_ready"))
                #expect(body["reason"]?.scalarText?.contains("aeps migrate") == true)
            }
        }
    }

    @Test func publicFilesAreServed() async throws {
        let server = try TestServer()
        try FileManager.default.createDirectory(atPath: server.directory.path("public"), withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: server.directory.path("public/robots.txt"), contents: Data("User-agent: *\n".utf8))
        try await server.makeApp().test(.router) { client in
            try await client.execute(uri: "/robots.txt", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == "User-agent: *\n")
            }
        }
    }
}
