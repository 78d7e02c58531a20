import Hummingbird
import NIOCore

/// The request context of every route: remembers the peer's address for the callback log.
public struct AppRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    /// Callback bodies are small; nothing this server accepts is larger.
    public var maxUploadSize: Int { CallbackController.maximumBodyBytes }
}
