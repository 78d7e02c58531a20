import Logging

/// Wraps a log handler so that each entry stays one line of printable text: the message and every metadata value
/// (strings, and inside lists and dictionaries) pass through ``Redactor/printable(_:limit:)``. Values that came from
/// a request (an origin, an identifier, an error's text) can then neither forge log lines nor send escape sequences
/// to an operator's terminal.
public struct PrintableLogHandler: LogHandler {
    private var inner: any LogHandler
    /// The longest metadata value written.
    static let valueLimit = 500

    public init(wrapping inner: any LogHandler) {
        self.inner = inner
    }

    public var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    public var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue.mapValues(Self.printable) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue.map(Self.printable) }
    }

    public func log(event: LogEvent) {
        var event = event
        event.message = "\(Redactor.printable(event.message.description, limit: 1000))"
        event.metadata = event.metadata.map { $0.mapValues(Self.printable) }
        inner.log(event: event)
    }

    static func printable(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case .string(let text): .string(Redactor.printable(text, limit: valueLimit))
        case .stringConvertible(let convertible): .string(Redactor.printable(convertible.description, limit: valueLimit))
        case .array(let items): .array(items.map(printable))
        case .dictionary(let members): .dictionary(members.mapValues(printable))
        }
    }
}

/// The logger of `aeps serve` and the other commands: standard error, one printable line per entry.
public func makeCommandLogger(level: Logger.Level) -> Logger {
    var logger = Logger(label: "aeps") { PrintableLogHandler(wrapping: StreamLogHandler.standardError(label: $0)) }
    logger.logLevel = level
    return logger
}
