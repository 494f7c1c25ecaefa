import RedisClient

/// Errors of the queue layer; Redis errors pass through as `RedisError`.
public enum QueueError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A caller error: a bad id, name or parameter.
    case invalid(String)
    /// A job names a group that does not exist.
    case noSuchGroup(String)
    /// The worker's registry entry expired (it was declared dead); it must register again.
    case workerGone(String)
    /// A reply did not have the shape the script returns (a version mismatch, or tampering).
    case malformedReply(String)
    /// A guarded write's condition did not hold (see `QueueGuard`): nothing was written.
    case refused(String)

    public var description: String {
        switch self {
        case .invalid(let m): return "invalid: \(m)"
        case .noSuchGroup(let m): return m
        case .workerGone(let m): return m
        case .malformedReply(let m): return "unexpected reply from Redis: \(m)"
        case .refused(let m): return "refused: \(m)"
        }
    }

    /// The refusal carried by a script's GUARD error reply, or the error itself.
    static func mapGuard(_ error: any Error) -> any Error {
        if case RedisError.server(let e) = error, e.code == "GUARD" {
            return QueueError.refused(String(e.message.dropFirst(6)))
        }
        return error
    }

    /// Names become parts of Redis keys: non-empty, at most 200 bytes, no spaces or control bytes.
    static func checkName(_ s: String, what: String) throws(QueueError) {
        guard !s.isEmpty else { throw .invalid("\(what) is empty") }
        guard s.utf8.count <= 200 else { throw .invalid("\(what) is longer than 200 bytes") }
        guard !s.utf8.contains(where: { $0 <= 32 || $0 == 127 }) else {
            throw .invalid("\(what) '\(s)' contains a space or control character")
        }
    }
}
