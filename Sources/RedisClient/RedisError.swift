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
    /// AUTH was refused (wrong user or password) or the user may not connect. The text goes on
    /// from "authentication failed": "for user X at host:port: WRONGPASS ...".
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
        case .authentication(let m): return "redis authentication failed \(m)"
        case .configuration(let m): return "redis refused the connection's settings: \(m)"
        case .closed: return "redis client closed"
        }
    }
}

extension RedisError {
    /// The description without its "redis ...:" prefix, for wrapping in another case without
    /// saying the same thing twice.
    public var detail: String {
        switch self {
        case .server(let e): return e.message
        case .connectionLost(let m), .unavailable(let m), .timeout(let m), .protocolError(let m),
            .authentication(let m),
            .configuration(let m):
            return m
        case .closed: return "client closed"
        }
    }

    /// What to check, for a program to print after the error (nil: nothing useful to add). A
    /// refusal never gets the "is it reachable" hint: the server was reached and said no.
    public var hint: String? {
        switch self {
        case .unavailable, .connectionLost, .timeout:
            return "check REDIS_URL and that redis-server is reachable"
        case .authentication:
            return "check the user and password: REDIS_URL, REDIS_PASSWORD or REDIS_PASSWORD_FILE"
        case .configuration:
            return "check REDIS_URL"
        case .server(let e) where e.code == "NOPERM":
            return "the ACL user lacks a permission this program needs (see ops/redis/users.acl.template)"
        case .server(let e) where e.code == "NOAUTH" || e.code == "WRONGPASS":
            return "check the user and password: REDIS_URL, REDIS_PASSWORD or REDIS_PASSWORD_FILE"
        default:
            return nil
        }
    }

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
