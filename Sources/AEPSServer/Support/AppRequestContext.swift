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
