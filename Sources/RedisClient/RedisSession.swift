import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// A blocking connection that reconnects: `establishSession()` is the one place where timeouts,
/// keep-alive, AUTH, SELECT and the client name are applied, on the first connect and on every
/// reconnect. Outages are logged once when they start and once when they end.
///
/// Owner: exactly one thread at a time (it holds a hiredis context, which is not thread-safe).
public final class RedisSession {
    public let configuration: RedisConfiguration
    private let logger: Logger
    private let backoff: Backoff
    private var context: RedisContext?
    /// Monotonic time at which the current outage began; nil while healthy.
    private var outageStart: UInt64?
    private var outageReason = ""
    /// The last failure's text without its kind ("127.0.0.1:6379: Connection refused"), for the
    /// `.unavailable` thrown while the outage lasts.
    private var outageDetail = ""
    private var failedAttempts = 0
    private var nextAttemptAt: UInt64 = 0
    /// Completed connects, the first one included.
    public private(set) var connects = 0

    public init(configuration: RedisConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.backoff = Backoff(base: configuration.reconnectBase, max: configuration.reconnectMax)
    }

    public var isConnected: Bool { context != nil }

    /// A moment (monotonic ns) after which no reconnect backoff is waited out, whatever the
    /// caller's deadline: set when the process shuts down, so an outage cannot hold it. Read
    /// before each attempt and between slices of every backoff wait, so it may change from
    /// another thread. An attempt that is due is still made (with a short connect timeout).
    public var waitLimit: @Sendable () -> UInt64 = { .max }

    /// Connects now if not connected, retrying with backoff until `deadline` (monotonic ns) or
    /// `waitLimit`, whichever comes first. Authentication and configuration errors are thrown at
    /// once: retrying cannot fix them.
    public func ensureConnected(deadline: UInt64) throws(RedisError) {
        while context == nil {
            let limit = min(deadline, waitLimit())
            let now = MonotonicClock.nanos()
            if now < nextAttemptAt {
                guard nextAttemptAt <= limit else { throw .unavailable(outageDetail) }
                // In slices, so a shutdown that moves the limit closer is noticed.
                MonotonicClock.sleep(nanos: min(nextAttemptAt - now, 50_000_000))
                continue
            }
            do {
                // A connect to a silent host takes the whole connect timeout: not much past the
                // limit (an attempt that is due is still made, so a connection outliving a
                // shutdown can reconnect; only waiting is cut).
                let left = Duration.nanoseconds(Int64(clamping: max(limit > now ? limit - now : 0, 200_000_000)))
                try establishSession(connectTimeout: min(configuration.connectTimeout, left))
            } catch {
                failedAttempts += 1
                nextAttemptAt = MonotonicClock.nanos() + UInt64(backoff.delay(attempt: failedAttempts).nanoseconds)
                switch error {
                case .authentication, .configuration, .server:
                    // Refused, not unreachable: no "retrying" warning; the caller says what is wrong.
                    throw error
                default:
                    beginOutage(error)
                    if MonotonicClock.nanos() >= limit { throw error }
                }
            }
        }
    }

    /// Opens the socket and applies every per-connection setting in one round trip.
    private func establishSession(connectTimeout: Duration) throws(RedisError) {
        let url = configuration.url
        let ctx = try RedisContext(endpoint: url.endpoint, connectTimeout: connectTimeout)
        try ctx.setTimeout(configuration.commandTimeout)
        if configuration.keepAlive { ctx.enableKeepAlive() }
        var setup: [(RedisCommand, String)] = []
        if let password = url.password {
            var auth = RedisCommand("AUTH")
            if let user = url.user { auth.append(user) }
            auth.append(password)
            setup.append((auth, "AUTH"))
        }
        if url.database != 0 { setup.append((RedisCommand("SELECT", [.int(url.database)]), "SELECT")) }
        if let name = configuration.clientName {
            setup.append((RedisCommand("CLIENT", ["SETNAME", .string(name)]), "SETNAME"))
        }
        setup.append((RedisCommand("PING"), "PING"))
        for (c, _) in setup { try ctx.append(c) }
        var refusal: RedisError?
        for (_, what) in setup {
            // Every reply is read, so the connection stays in step for the query below.
            let reply = try ctx.readReply()
            guard refusal == nil, case .error(let e) = reply else { continue }
            switch (what, e.code) {
            case ("SETNAME", _): continue  // a user without CLIENT rights still works
            case ("AUTH", _), (_, "NOAUTH"), (_, "WRONGPASS"):
                refusal = .authentication(
                    what == "AUTH"
                        ? "for user \(url.user ?? "default") at \(url.endpoint.display): \(e.message)"
                        : "at \(url.endpoint.display): the server requires a password; "
                            + "give it in REDIS_URL, REDIS_PASSWORD or REDIS_PASSWORD_FILE")
            case ("SELECT", _) where e.message.contains("out of range"):
                refusal = .configuration("database \(url.database) does not exist")
            case (_, "LOADING"), (_, "MASTERDOWN"):
                // A server still loading its dataset after a restart (or a replica without its
                // master) answers; it is not ready yet: an outage to wait out, not a refusal.
                refusal = .unavailable("\(url.endpoint.display) is not ready: \(e.message)")
            default:
                refusal = .server(e)
            }
        }
        if case .configuration = refusal {
            // How many there are, when this user may ask (CONFIG is an admin command).
            let count = Self.databaseCount(ctx).map { "redis has \($0), 0-\($0 - 1)" } ?? "ERR DB index is out of range"
            refusal = .configuration(
                "database \(url.database) does not exist (\(count)); fix the /\(url.database) in REDIS_URL")
        }
        if let refusal { throw refusal }
        context = consume ctx
        connects += 1
        failedAttempts = 0
        nextAttemptAt = 0
        if let start = outageStart {
            let secs = Double(MonotonicClock.nanos() - start) / 1e9
            logger.notice(
                "redis connection restored",
                metadata: ["redis": "\(url)", "outage_seconds": "\(secs.rounded(toPlaces: 3))"])
            outageStart = nil
        }
    }

    /// The server's `databases` setting, when this user may read it.
    private static func databaseCount(_ ctx: borrowing RedisContext) -> Int? {
        guard case .array(let items)? = try? ctx.command(RedisCommand("CONFIG", ["GET", "databases"])),
            items.count == 2, let text = items[1].string
        else { return nil }
        return Int(text)
    }

    /// Marks the connection broken: drops the context and logs the outage start once.
    public func disconnect(reason: String) {
        context = nil
        beginOutage(reason: reason, detail: reason)
    }

    private func beginOutage(_ error: RedisError) { beginOutage(reason: error.description, detail: error.detail) }

    private func beginOutage(reason: String, detail: String) {
        outageReason = reason
        outageDetail = detail
        guard outageStart == nil else { return }
        outageStart = MonotonicClock.nanos()
        logger.warning(
            connects == 0
                ? "redis unavailable; retrying with backoff" : "redis connection lost; reconnecting with backoff",
            metadata: ["redis": "\(configuration.url)", "reason": "\(reason)"])
    }

    /// Sends commands as one pipeline and reads every reply in order. Error replies are values;
    /// an I/O failure drops the connection and is thrown (every command in the batch then has an
    /// unknown outcome).
    public func execute(_ commands: [RedisCommand], extraTimeout: Duration? = nil) throws(RedisError) -> [RedisReply] {
        var result: Result<[RedisReply], RedisError> = .failure(.unavailable("not connected"))
        executeGroups(1, extraTimeout: extraTimeout, commands: { _ in commands }, deliver: { _, r in result = r })
        return try result.get()
    }

    /// One command, connecting first if needed; an error reply is thrown as `.server`.
    public func send(_ command: RedisCommand, extraTimeout: Duration? = nil) throws(RedisError) -> RedisReply {
        try roundTrip(command, extraTimeout: extraTimeout).get()
    }

    /// Runs a script by SHA, loading it once on NOSCRIPT; an error reply is thrown as `.server`.
    public func run(_ script: RedisScript, keys: [String], args: [RedisArgument]) throws(RedisError) -> RedisReply {
        let cmd = script.command(keys: keys, args: args)
        let first = try roundTrip(cmd)
        guard case .error(let e) = first, e.code == "NOSCRIPT" else { return try first.get() }
        _ = try send(script.loadCommand)
        return try send(cmd)
    }

    /// Connects if needed, sends one command and returns its reply, error replies included.
    private func roundTrip(_ command: RedisCommand, extraTimeout: Duration? = nil) throws(RedisError) -> RedisReply {
        try ensureConnected(deadline: MonotonicClock.nanos() + UInt64(configuration.commandTimeout.nanoseconds))
        return try execute([command], extraTimeout: extraTimeout)[0]
    }

    /// The pipelining core: appends the commands of `groups` groups, then reads the replies group
    /// by group, handing each group's replies to `deliver` as soon as they are complete. When the
    /// connection breaks, the group being read and every later group get the error, and the
    /// connection is dropped (the next call reconnects).
    public func executeGroups(
        _ groups: Int, extraTimeout: Duration?,
        commands: (Int) -> [RedisCommand],
        deliver: (Int, Result<[RedisReply], RedisError>) -> Void
    ) {
        // Taken out for the call and put back only if still healthy: a broken context is freed here.
        guard let ctx = context.take() else {
            for g in 0..<groups {
                deliver(g, .failure(.unavailable(outageDetail.isEmpty ? "not connected" : outageDetail)))
            }
            return
        }
        var failure: RedisError?
        do {
            if let extra = extraTimeout { try ctx.setTimeout(configuration.commandTimeout + extra) }
            for g in 0..<groups { for c in commands(g) { try ctx.append(c) } }
        } catch {
            failure = error
        }
        for g in 0..<groups {
            if let failure {
                deliver(g, .failure(failure))
                continue
            }
            let n = commands(g).count
            var replies: [RedisReply] = []
            replies.reserveCapacity(n)
            do {
                for _ in 0..<n { replies.append(try ctx.readReply()) }
                deliver(g, .success(replies))
            } catch {
                failure = error
                deliver(g, .failure(error))
            }
        }
        if failure == nil, extraTimeout != nil {
            do { try ctx.setTimeout(configuration.commandTimeout) } catch { failure = error }
        }
        if let failure {
            _ = consume ctx
            context = nil
            beginOutage(failure)
        } else {
            context = consume ctx
        }
    }

    /// Closes the socket now.
    public func close() { context = nil }
}

/// A monotonic clock in nanoseconds (CLOCK_MONOTONIC), immune to wall-clock steps.
public enum MonotonicClock {
    public static func nanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    public static func sleep(nanos: UInt64) {
        var request = timespec(tv_sec: Int(nanos / 1_000_000_000), tv_nsec: Int(nanos % 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) == -1 && errno == EINTR { request = remaining }
    }
}

extension Double {
    func rounded(toPlaces p: Int) -> Double {
        var m = 1.0
        for _ in 0..<p { m *= 10 }
        return (self * m).rounded() / m
    }
}
