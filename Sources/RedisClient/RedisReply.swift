/// A reply, copied out of hiredis into a Swift value.
///
/// Bulk strings are raw bytes (binary safe). Error replies appear as `.error` inside pipelines
/// and arrays; single-command calls turn a top-level `.error` into `RedisError.server`.
public enum RedisReply: Sendable, Equatable {
    case status(String)
    case bulk([UInt8])
    case integer(Int64)
    case null
    case array([RedisReply])
    case error(RedisServerError)

    /// The reply as UTF-8 text, for bulk and status replies.
    public var string: String? {
        switch self {
        case .bulk(let b): return String(decoding: b, as: UTF8.self)
        case .status(let s): return s
        default: return nil
        }
    }

    /// The raw bytes of a bulk or status reply.
    public var bytes: [UInt8]? {
        switch self {
        case .bulk(let b): return b
        case .status(let s): return Array(s.utf8)
        default: return nil
        }
    }

    /// The integer value of an integer reply, or of a bulk reply holding a decimal number.
    public var int: Int64? {
        switch self {
        case .integer(let i): return i
        case .bulk(let b): return Int64(String(decoding: b, as: UTF8.self))
        default: return nil
        }
    }

    public var array: [RedisReply]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// Throws the server error carried by an `.error` reply; returns the reply otherwise.
    @discardableResult
    public func get() throws(RedisError) -> RedisReply {
        if case .error(let e) = self { throw .server(e) }
        return self
    }
}
