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
    /// The server refused a connection setting from REDIS_URL (a database that does not exist).
    case configuration(String)
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
        case .configuration(let m): return "redis refused the connection's settings: \(m)"
        case .closed: return "redis client closed"
        }
    }
}

extension RedisError {
    /// True for refusals that retrying cannot fix, only a change of configuration: wrong or
    /// missing credentials, a database that does not exist, an ACL that forbids a command.
    /// A long-running program stops on these with one clear line instead of retrying.
    public var retryCannotFix: Bool {
        switch self {
        case .authentication, .configuration: return true
        case .server(let e): return ["NOPERM", "NOAUTH", "WRONGPASS"].contains(e.code)
        default: return false
        }
    }

    /// One line saying what is wrong, for an error that `retryCannotFix`; `user` is the ACL
    /// user of the connection (nil: `default`).
    public func unfixableReason(user: String?) -> String {
        let who = user ?? "default"
        guard case .server(let e) = self else { return description }
        switch e.code {
        case "NOPERM":
            // "NOPERM this user has no permissions to run the 'evalsha' command", or "... to
            // access one of the keys used as arguments".
            let parts = e.message.split(separator: "'", omittingEmptySubsequences: false)
            if e.message.contains("to run the '"), parts.count >= 3 {
                return "the ACL user \(who) may not run \(parts[1].uppercased()) (\(e.message))"
            }
            return "the ACL user \(who) was refused by the server's ACL (\(e.message))"
        case "NOAUTH", "WRONGPASS":
            return "redis authentication failed for user \(who): \(e.message)"
        default:
            return description
        }
    }
}
