#if canImport(Glibc)
    import Glibc
#endif

/// A queue a worker serves and its weight in the reservation order.
public struct WeightedQueue: Sendable, Equatable {
    public var name: String
    public var weight: Int

    public init(_ name: String, weight: Int = 1) {
        self.name = name
        self.weight = max(1, weight)
    }

    /// Parses `name` or `name:weight`, comma-separated (`evaluate:3,match:2,default`).
    public static func parseList(_ text: String) throws(QueueError) -> [WeightedQueue] {
        var out: [WeightedQueue] = []
        for part in text.split(separator: ",") {
            let pieces = part.split(separator: ":")
            let name = String(pieces[0])
            try QueueError.checkName(name, what: "queue name")
            var w = 1
            if pieces.count == 2 {
                guard let v = Int(pieces[1]), v >= 1 else {
                    throw .invalid("queue weight in '\(part)' must be a positive integer")
                }
                w = v
            } else if pieces.count > 2 {
                throw .invalid("queue '\(part)': expected name or name:weight")
            }
            out.append(WeightedQueue(name, weight: w))
        }
        guard !out.isEmpty else { throw .invalid("no queues given") }
        return out
    }
}

/// How a worker process runs. Defaults suit CPU-bound jobs; see the README's queue section.
public struct WorkerConfiguration: Sendable {
    /// Unique per process: `host:pid:random` by default.
    public var id: String
    public var queues: [WeightedQueue]
    /// Always try queues in the listed order instead of a weighted random order.
    public var strictPriority = false
    /// Jobs running at once (and reserved at once: a worker never holds more).
    public var concurrency: Int
    /// A reservation lasts this long unless the heartbeat extends it.
    public var lease: Duration = .seconds(30)
    public var heartbeatInterval: Duration = .seconds(1)
    /// The worker's liveness key expires after this long without a heartbeat; its jobs are then
    /// reclaimed at the next maintenance pass, without waiting for their leases.
    public var heartbeatTTL: Duration = .seconds(5)
    public var maintenanceInterval: Duration = .milliseconds(250)
    /// How long an idle worker blocks waiting for a wake-up before it looks again.
    public var idleWait: Duration = .seconds(1)
    /// On shutdown, running jobs get this long to finish before they are handed back.
    public var drainTimeout: Duration = .seconds(25)
    public var retry = RetryPolicy()
    public var version = "dev"
    /// Whether this process runs maintenance passes (recover, forward, trim) too.
    public var runsMaintenance = true

    public init(queues: [WeightedQueue], concurrency: Int = WorkerConfiguration.cores) {
        self.queues = queues
        self.concurrency = max(1, concurrency)
        self.id = "\(WorkerConfiguration.hostname):\(getpid()):\(String(UInt32.random(in: 0...UInt32.max), radix: 36))"
    }

    /// Online CPU cores.
    public static var cores: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    public static var hostname: String {
        var buf = [CChar](repeating: 0, count: 256)
        gethostname(&buf, buf.count - 1)
        return String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The order to try queues in for one reservation: fixed when strict, otherwise a weighted
    /// random permutation (a queue of weight 3 comes first three times as often as one of 1).
    public func reservationOrderForTesting<G: RandomNumberGenerator>(using rng: inout G) -> [String] {
        reservationOrder(using: &rng)
    }

    func reservationOrder<G: RandomNumberGenerator>(using rng: inout G) -> [String] {
        if strictPriority || queues.count == 1 { return queues.map(\.name) }
        var pool = queues
        var order: [String] = []
        while !pool.isEmpty {
            let total = pool.reduce(0) { $0 + $1.weight }
            var pick = Int.random(in: 0..<total, using: &rng)
            var i = 0
            while pick >= pool[i].weight {
                pick -= pool[i].weight
                i += 1
            }
            order.append(pool.remove(at: i).name)
        }
        return order
    }
}
