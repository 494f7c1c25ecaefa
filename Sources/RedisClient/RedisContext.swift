import CHiredis

#if canImport(Glibc)
    import Glibc
#endif

/// Sole owner of one hiredis `redisContext`: blocking calls only, used by one thread at a time,
/// freed exactly once when the value is consumed or goes out of scope.
///
/// After any I/O error hiredis leaves the context unusable; the owner must drop it and connect
/// again (see `RedisSession`).
public struct RedisContext: ~Copyable {
    private let raw: UnsafeMutablePointer<redisContext>

    /// Opens a blocking connection; a failure is `.unavailable` with hiredis's reason.
    public init(endpoint: RedisURL.Endpoint, connectTimeout: Duration) throws(RedisError) {
        var tv = timeval(duration: connectTimeout)
        let ctx: UnsafeMutablePointer<redisContext>?
        switch endpoint {
        case .tcp(let host, let port): ctx = redisConnectWithTimeout(host, Int32(port), tv)
        case .unix(let path): ctx = redisConnectUnixWithTimeout(path, tv)
        }
        guard let ctx else { throw .unavailable("out of memory allocating a redis context") }
        if ctx.pointee.err != 0 {
            let reason = Self.errorString(ctx)
            redisFree(ctx)
            throw .unavailable("\(endpoint.display): \(reason)")
        }
        tv = timeval()
        raw = ctx
    }

    deinit { redisFree(raw) }

    /// Sets the socket send/receive timeout used by every following read and write.
    public func setTimeout(_ d: Duration) throws(RedisError) {
        guard redisSetTimeout(raw, timeval(duration: d)) == REDIS_OK else { throw brokenError() }
    }

    /// Turns on TCP keep-alive (hiredis 0.14 uses a 15 s interval); a no-op on unix sockets.
    public func enableKeepAlive() {
        if raw.pointee.connection_type == REDIS_CONN_TCP { _ = redisEnableKeepAlive(raw) }
    }

    /// The socket's file descriptor (for shutdown from another thread in tests and closing).
    public var fileDescriptor: Int32 { raw.pointee.fd }

    /// Appends a command to the output buffer; nothing is sent until a reply is read.
    public func append(_ command: RedisCommand) throws(RedisError) {
        let rc = command.withEncoded { header, body in
            guard
                redisAppendFormattedCommand(raw, header.baseAddress!.assumingMemoryBound(to: CChar.self), header.count)
                    == REDIS_OK
            else { return REDIS_ERR }
            guard let base = body.baseAddress else { return REDIS_OK }
            return redisAppendFormattedCommand(raw, base.assumingMemoryBound(to: CChar.self), body.count)
        }
        guard rc == REDIS_OK else { throw brokenError() }
    }

    /// Flushes pending output and reads the next reply. On failure the context is broken.
    public func readReply() throws(RedisError) -> RedisReply {
        var out: UnsafeMutableRawPointer?
        chiredis_clear_errno()
        guard redisGetReply(raw, &out) == REDIS_OK, let out else { throw brokenError() }
        let reply = out.assumingMemoryBound(to: redisReply.self)
        defer { freeReplyObject(reply) }
        return Self.convert(reply)
    }

    /// Sends one command and reads its reply (an error reply is returned as `.error`).
    public func command(_ command: RedisCommand) throws(RedisError) -> RedisReply {
        try append(command)
        return try readReply()
    }

    /// Copies a hiredis reply tree into Swift values; the caller frees the tree once.
    private static func convert(_ r: UnsafeMutablePointer<redisReply>) -> RedisReply {
        let p = r.pointee
        switch p.type {
        case REDIS_REPLY_STRING:
            return .bulk(p.len == 0 ? [] : Array(UnsafeRawBufferPointer(start: p.str, count: Int(p.len))))
        case REDIS_REPLY_INTEGER:
            return .integer(p.integer)
        case REDIS_REPLY_NIL:
            return .null
        case REDIS_REPLY_STATUS:
            return .status(String(decoding: UnsafeRawBufferPointer(start: p.str, count: Int(p.len)), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            let text = String(decoding: UnsafeRawBufferPointer(start: p.str, count: Int(p.len)), as: UTF8.self)
            return .error(RedisServerError(message: text))
        case REDIS_REPLY_ARRAY:
            var items: [RedisReply] = []
            items.reserveCapacity(Int(p.elements))
            for i in 0..<Int(p.elements) { items.append(convert(p.element[i]!)) }
            return .array(items)
        default:
            return .error(RedisServerError(message: "PROTOCOL unknown reply type \(p.type)"))
        }
    }

    /// Maps the context's error state to a typed error.
    private func brokenError() -> RedisError {
        let err = raw.pointee.err
        let e = chiredis_errno()
        let reason = Self.errorString(raw)
        switch err {
        case REDIS_ERR_IO where e == EAGAIN || e == EWOULDBLOCK || e == ETIMEDOUT:
            return .timeout("no reply within the command timeout")
        case REDIS_ERR_EOF:
            return .connectionLost("server closed the connection")
        case REDIS_ERR_PROTOCOL:
            return .protocolError(reason)
        case REDIS_ERR_OOM:
            return .protocolError("out of memory: \(reason)")
        default:
            return .connectionLost(reason)
        }
    }

    private static func errorString(_ ctx: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: ctx.pointee.errstr) { raw in
            let bytes = raw.prefix(while: { $0 != 0 })
            return bytes.isEmpty ? "unknown error" : String(decoding: bytes, as: UTF8.self)
        }
    }
}

extension RedisURL.Endpoint {
    /// Host and port or socket path, for messages.
    public var display: String {
        switch self {
        case .tcp(let host, let port): return "\(host):\(port)"
        case .unix(let path): return path
        }
    }
}

extension timeval {
    init(duration: Duration) {
        let (s, atto) = duration.components
        self.init(tv_sec: Int(s), tv_usec: Int(atto / 1_000_000_000_000))
    }
}
