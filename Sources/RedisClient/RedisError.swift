/// An error reply from the server (`-ERR ...`, `-NOSCRIPT ...`, `-NOPERM ...`): the command ran
/// (or was refused) and the connection is fine.
public struct RedisServerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The first word of the reply (`ERR`, `WRONGTYPE`, `NOSCRIPT`, `NOPERM`, `WRONGPASS`, ...).
    public var code: String
    /// The full reply text.
    public var message: String

    public init(message: String) {
        self.message = message
        self.code = String(message.prefix(while: { $0 != " " }))
    }

    public var description: String { message }
}

/// Everything that can go wrong talking to Redis, one case per way it matters to a caller.
public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server answered with an error reply; the connection is still usable.
    case server(RedisServerError)
    /// The connection broke while the command was in flight: it may or may not have run.
    case connectionLost(String)
    /// No connection could be made (refused, unreachable, DNS); the command was never sent.
    case unavailable(String)
    /// The server did not answer within the command timeout; the outcome is unknown and the
    /// connection is reset before it is used again.
    case timeout(String)
    /// The reply stream could not be parsed; the connection is reset.
    case protocolError(String)
    /// AUTH was refused (wrong user or password) or the user may not connect.
    case authentication(String)
    /// The client was closed by its owner.
    case closed

    /// True when the command may have taken effect on the server although no reply was seen.
    public var outcomeUnknown: Bool {
        switch self {
        case .connectionLost, .timeout, .protocolError: return true
        default: return false
        }
    }

    public var description: String {
        switch self {
        case .server(let e): return "redis error reply: \(e.message)"
        case .connectionLost(let m): return "redis connection lost (outcome unknown): \(m)"
        case .unavailable(let m): return "redis unavailable: \(m)"
        case .timeout(let m): return "redis command timed out (outcome unknown): \(m)"
        case .protocolError(let m): return "redis protocol error: \(m)"
        case .authentication(let m): return "redis authentication failed: \(m)"
        case .closed: return "redis client closed"
        }
    }
}
