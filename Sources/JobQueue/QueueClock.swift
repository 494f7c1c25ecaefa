import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Where the queue's scripts take "now" from. The default, `.server`, lets Redis's own clock
/// (`TIME`) decide every lease and schedule, so hosts with skewed clocks agree. Tests inject a
/// manual clock to step through backoff schedules and lease expiry.
public protocol QueueClock: Sendable {
    /// Milliseconds since the Unix epoch, or 0 to use the Redis server's clock.
    func nowMillis() -> Int64
}

/// Redis's clock.
public struct ServerClock: QueueClock {
    public init() {}
    public func nowMillis() -> Int64 { 0 }
}

extension QueueClock where Self == ServerClock {
    public static var server: ServerClock { ServerClock() }
}

/// A clock moved by hand.
public final class ManualClock: QueueClock {
    private let now: Mutex<Int64>

    public init(startingAt millis: Int64 = 1_700_000_000_000) { now = Mutex(millis) }

    public func nowMillis() -> Int64 { now.withLock { $0 } }
    public func advance(by d: Duration) { now.withLock { $0 += d.milliseconds } }
    public func set(_ millis: Int64) { now.withLock { $0 = millis } }
}

/// The wall clock in milliseconds since the epoch.
public func wallClockMillis() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}
