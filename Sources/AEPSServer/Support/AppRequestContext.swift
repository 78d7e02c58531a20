import HTTPTypes
import Hummingbird
import HummingbirdAuth
import NIOCore

/// The request context of every route: the peer's address (callback log, sign-in throttling) and the retailer's
/// page session (hummingbird-auth sessions).
public struct AppRequestContext: RequestContext, RemoteAddressRequestContext, SessionRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    public let sessions = SessionContext<LoginSession>()

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    /// Callback bodies are small; nothing this server accepts is larger.
    public var maxUploadSize: Int { CallbackController.maximumBodyBytes }
}

extension AppRequestContext {
    /// The client's address: the peer's, or, behind a trusted reverse proxy, the last `X-Forwarded-For` entry
    /// (the address that connected to the proxy). Used for sign-in throttling and the callback log.
    func clientAddress(_ request: Request, trustForwardedFor: Bool) -> String? {
        if trustForwardedFor, let forwarded = request.headers[.xForwardedFor],
            let last = forwarded.split(separator: ",").last?.trimmingCharacters(in: .whitespaces), !last.isEmpty
        {
            return String(last.prefix(64))
        }
        return remoteAddress?.ipAddress
    }
}

extension HTTPField.Name {
    static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
}
