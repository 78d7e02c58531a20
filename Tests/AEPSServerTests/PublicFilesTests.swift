import AEPSServer
import EkoSigning
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// `public/` serves the page's own files only: regular files with plain names, never dotfiles, symlinks or
/// anything reached through percent-encoding or NUL tricks; every HTML answer carries the page's CSP.
/// Raw request paths go over a real socket, exactly as written here.
@Suite struct PublicFilesTests {
    /// A public folder with the page, a subfolder, dotfiles, and symlinks to files and a folder outside it.
    struct Folder {
        let directory: TemporaryDirectory
        var publicPath: String { directory.path("public") }

        init() throws {
            directory = try TemporaryDirectory()
            let files: [String: String] = [
                "public/index.html": "<!doctype html><title>page</title>",
                "public/app.js": "var page = 1;",
                "public/style.css": "body {}",
                "public/sub/index.html": "<!doctype html><title>sub index</title>",
                "public/sub/page.html": "<!doctype html><title>sub page</title>",
                "public/.env": "EKO_ACCESS_KEY=SECRET-IN-DOTFILE",
                "public/.git/config": "[core] SECRET-IN-GIT",
                "public/.hidden/notes.txt": "SECRET-IN-HIDDEN-FOLDER",
                "public/sub/.htaccess": "SECRET-IN-SUB-DOTFILE",
                "outside/secret.txt": "SECRET-OUTSIDE",
            ]
            for (path, text) in files {
                let url = directory.url.appendingPathComponent(path)
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try text.write(to: url, atomically: true, encoding: .utf8)
            }
            let links: [(String, String)] = [
                ("public/passwd", "/etc/passwd"),
                ("public/secret.txt", directory.path("outside/secret.txt")),
                ("public/linked", directory.path("outside")),
                ("public/sub/up.html", "../index.html"),
            ]
            for (link, target) in links {
                try FileManager.default.createSymbolicLink(atPath: directory.path(link), withDestinationPath: target)
            }
        }
    }

    func app(_ folder: Folder) throws -> some ApplicationProtocol {
        let server = try TestServer()
        return try buildApplication(
            config: server.config,
            dependencies: AppDependencies(
                database: server.database, signer: EkoSigner(accessKey: EkoAccessKey(uatAccessKey)!),
                clock: { pinnedNow }, logger: server.logs.logger(), publicDirectory: folder.publicPath
            )
        )
    }

    struct Answer: Sendable {
        var status: HTTPResponse.Status
        var headers: HTTPFields
        var body: String
    }

    func get(_ client: some TestClientProtocol, _ path: String, method: HTTPRequest.Method = .get) async throws -> Answer {
        try await client.execute(uri: path, method: method) { response in
            Answer(status: response.status, headers: response.headers, body: String(buffer: response.body))
        }
    }

    @Test func thePagesOwnFilesAreServedAndEveryHTMLCarriesTheCSP() async throws {
        let folder = try Folder()
        try await app(folder).test(.live) { client in
            for (path, title) in [("/", "page"), ("/index.html", "page"), ("/sub/", "sub index"), ("/sub/page.html", "sub page")] {
                let answer = try await get(client, path)
                #expect(answer.status == .ok, "\(path)")
                #expect(answer.body.contains("<title>\(title)</title>"), "\(path)")
                #expect(answer.headers[.contentType]?.hasPrefix("text/html") == true, "\(path)")
                #expect(answer.headers[.contentSecurityPolicy]?.contains("default-src 'none'") == true, "\(path)")
            }
            let script = try await get(client, "/app.js")
            #expect(script.status == .ok)
            #expect(script.body == "var page = 1;")
            #expect(script.headers[.xContentTypeOptions] == "nosniff")
            let head = try await get(client, "/style.css", method: .head)
            #expect(head.status == .ok)
            let folderWithoutSlash = try await get(client, "/sub")
            #expect(folderWithoutSlash.status == .movedPermanently)
            #expect(folderWithoutSlash.headers[.location] == "/sub/")
            // Query strings do not change which file is served.
            #expect(try await get(client, "/app.js?v=2").status == .ok)
        }
    }

    @Test(arguments: [
        "/.env", "/.git/config", "/.git/", "/.hidden/notes.txt", "/sub/.htaccess",
        "/passwd", "/secret.txt", "/linked/secret.txt", "/linked/", "/sub/up.html",
        "/index.html%00.js", "/index.html%00", "/app.js%00.html",
        "/%2e%2e/", "/%2e%2e/outside/secret.txt", "/sub/%2e%2e/%2e%2e/outside/secret.txt", "/..%2foutside%2fsecret.txt",
        "/sub%2fpage.html", "/sub%2Fpage.html", "/%2eenv", "/%2Eenv", "/app%2ejs", "/index%2Ehtml", "//app.js",
        "/sub//page.html", "/index.html/", "/nothing-here.html",
    ])
    func anythingElseIsNotFound(path: String) async throws {
        let folder = try Folder()
        try await app(folder).test(.live) { client in
            for method in [HTTPRequest.Method.get, .head] {
                let answer = try await get(client, path, method: method)
                #expect(answer.status == .notFound, "\(method) \(path)")
                #expect(!answer.body.contains("SECRET"))
                #expect(!answer.body.contains("root:"))
                #expect(!answer.body.contains("<title>"))
                if method == .get {
                    #expect(answer.headers[.contentType]?.hasPrefix("application/json") == true)
                    #expect((try? JSONValue.parse(answer.body))?["error"] == .string("not_found"))
                }
            }
        }
    }

    @Test func theRoutesStillAnswerBesideTheFiles() async throws {
        let folder = try Folder()
        try await app(folder).test(.live) { client in
            let me = try await get(client, "/api/me")
            #expect(me.status == .unauthorized)
            #expect((try? JSONValue.parse(me.body))?["error"] == .string("not_signed_in"))
            #expect(try await get(client, "/healthz").status == .ok)
        }
    }
}
