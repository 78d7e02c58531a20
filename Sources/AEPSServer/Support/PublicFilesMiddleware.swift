import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Serves the retailer page's own files from `public/`, and nothing else that happens to be in the folder.
///
/// The files that may be served are listed once, at startup: regular files and folders only (no symlinks, devices
/// or sockets), none whose name starts with a dot, and only names made of letters, digits and `-`, `_`, `.`, `~`,
/// so a file has exactly one URL and it needs no percent-encoding. A request is passed to Hummingbird's
/// `FileMiddleware` only when its path, exactly as sent, is on that list: `/.env`, `/index.html%00.js`,
/// `/%2e%2e/`, encoded slashes and a symlink's name all fall through to the routes and get 404.
struct PublicFilesMiddleware<Context: RequestContext>: RouterMiddleware {
    let files: FileMiddleware<Context, LocalFileSystem>
    /// URL paths that may be served: `/app.js`, `/` and `/sub/` (their `index.html`), `/sub` (redirects to `/sub/`).
    let servedPaths: Set<String>

    init(folder: String, logger: Logger) {
        files = FileMiddleware(folder, searchForIndexHtml: true, logger: logger)
        servedPaths = PublicFolder.servedPaths(folder: folder, logger: logger)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            if request.method == .get || request.method == .head, servedPaths.contains(request.uri.path) {
                return try await files.handle(request, context: context, next: next)
            }
            return try await next(request, context)
        } catch let error as any HTTPResponseError where error.status == .notFound {
            return JSONResponse.error(.notFound, code: "not_found", message: "There is nothing at this address.")
        }
    }
}

/// What of the page's folder may be served.
enum PublicFolder {
    /// Names a URL can carry as they are.
    private static let safeCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~")

    /// The URL paths of the folder's servable files, and of its folders that have an `index.html`.
    static func servedPaths(folder: String, logger: Logger) -> Set<String> {
        var paths: Set<String> = []
        func walk(_ directory: String, urlPath: String, depth: Int) {
            guard depth <= 8, let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
            for name in names.sorted() {
                let path = directory + "/" + name
                guard !name.hasPrefix("."), name.allSatisfy(safeCharacters.contains) else {
                    logger.debug("public folder: not serving \(path) (hidden or unusual name)")
                    continue
                }
                switch kind(of: path) {
                case .regularFile:
                    paths.insert(urlPath + name)
                    if name == "index.html" { paths.insert(urlPath) }
                case .directory:
                    walk(path, urlPath: urlPath + name + "/", depth: depth + 1)
                    if paths.contains(urlPath + name + "/") { paths.insert(urlPath + name) }
                case .other:
                    logger.notice("public folder: not serving \(path): not a regular file (a symlink?)")
                }
            }
        }
        walk(folder.hasSuffix("/") ? String(folder.dropLast()) : folder, urlPath: "/", depth: 0)
        return paths
    }

    private enum Kind { case regularFile, directory, other }

    /// What the path itself is, without following a symlink.
    private static func kind(of path: String) -> Kind {
        var info = stat()
        guard lstat(path, &info) == 0 else { return .other }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .regularFile
        case S_IFDIR: return .directory
        default: return .other
        }
    }
}
