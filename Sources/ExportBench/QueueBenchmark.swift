import JobQueue
import Logging
import ProcessSupport
import RedisClient

/// The queue benchmarks: single-job enqueue (the peer harness's method), bulk enqueue, and the
/// drain of no-op jobs by worker processes.
public struct QueueBenchmark {
    public var url: RedisURL
    public var namespace: String
    public var logger: Logger

    public init(url: RedisURL, namespace: String, logger: Logger) {
        self.url = url
        self.namespace = namespace
        self.logger = logger
    }

    func makeQueue() -> JobQueue {
        JobQueue(
            redis: RedisConnection(configuration: RedisConfiguration(url: url), logger: logger), namespace: namespace,
            logger: logger)
    }

    static func noop(_ i: Int, tag: String) -> JobSpec {
        JobSpec(id: "\(tag)-\(i)", queue: "bench", kind: "noop", maxAttempts: 3, timeout: .seconds(60))
    }

    /// Enqueues `count` no-op jobs one by one through the normal single-job API, on one
    /// connection, each call awaited before the next; returns the seconds spent in the loop.
    /// The loop runs on the connection's I/O thread (`RedisConnection.executor`), as a
    /// producer that only talks to Redis should.
    public func enqueueOneByOne(count: Int, tag: String) async throws -> Double {
        let queue = makeQueue()
        try await queue.loadScripts()
        return try await withTaskExecutorPreference(queue.redis.executor) {
            let start = MonotonicClock.nanos()
            for i in 0..<count { _ = try await queue.enqueue(Self.noop(i, tag: tag)) }
            return Double(MonotonicClock.nanos() - start) / 1e9
        }
    }

    /// Enqueues `count` no-op jobs through the single-job API from `callers` concurrent tasks
    /// sharing one connection (which pipelines their calls); returns seconds.
    public func enqueueConcurrently(count: Int, callers: Int, tag: String) async throws -> Double {
        let queue = makeQueue()
        try await queue.loadScripts()
        let start = MonotonicClock.nanos()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for c in 0..<callers {
                group.addTask {
                    var i = c
                    while i < count {
                        _ = try await queue.enqueue(Self.noop(i, tag: tag))
                        i += callers
                    }
                }
            }
            try await group.waitForAll()
        }
        return Double(MonotonicClock.nanos() - start) / 1e9
    }

    /// Enqueues `count` no-op jobs in one call of the bulk API, which sends script calls of
    /// `batch` jobs; returns seconds.
    public func enqueueBulk(count: Int, batch: Int, tag: String) async throws -> Double {
        let queue = makeQueue()
        try await queue.loadScripts()
        let specs = (0..<count).map { Self.noop($0, tag: tag) }
        let start = MonotonicClock.nanos()
        _ = try await queue.enqueue(specs, batchSize: batch)
        return Double(MonotonicClock.nanos() - start) / 1e9
    }

    /// Starts `processes` export-worker processes in bench mode and waits until `counterKey`
    /// reaches `count`; returns seconds from start and the workers' peak RSS in kB.
    public func drain(
        count: Int, processes: Int, concurrency: Int, workerBinary: String, counterKey: String
    ) async throws -> (seconds: Double, peakRSSkB: [Int]) {
        // The workers' counter starts at zero.
        _ = try await RedisConnection(configuration: RedisConfiguration(url: url), logger: logger)
            .send(RedisCommand("DEL", [.string(counterKey)]))
        let redis = RedisConnection(configuration: RedisConfiguration(url: url), logger: logger)
        var env = ProcessEnvironment.all()
        env["REDIS_URL"] = "\(url.endpoint.urlText(database: url.database))"
        env["EXPORTGRID_NAMESPACE"] = namespace
        let start = MonotonicClock.nanos()
        var workers: [ChildProcess] = []
        for _ in 0..<processes {
            workers.append(
                try ChildProcess(
                    executable: workerBinary,
                    arguments: [
                        "--queues", "bench", "--concurrency", "\(concurrency)", "--bench-noop", counterKey,
                        "--log-level", "warning",
                    ],
                    environment: env))
        }
        defer { for w in workers { w.stop() } }
        var peaks = [Int](repeating: 0, count: processes)
        while true {
            let n = try await redis.send(RedisCommand("GET", [.string(counterKey)])).int ?? 0
            for (k, w) in workers.enumerated() { peaks[k] = max(peaks[k], peakResidentKB(pid: w.pid)) }
            if n >= count { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        return (Double(MonotonicClock.nanos() - start) / 1e9, peaks)
    }
}

extension RedisURL.Endpoint {
    func urlText(database: Int) -> String {
        switch self {
        case .tcp(let h, let p): return "redis://\(h):\(p)/\(database)"
        case .unix(let path): return "unix://\(path)?db=\(database)"
        }
    }
}

/// Peak resident set size of a process in kB (VmHWM), 0 when unknown.
public func peakResidentKB(pid: Int32) -> Int {
    guard let text = try? readTextFile("/proc/\(pid)/status") else { return 0 }
    for line in text.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0") ?? 0
    }
    return 0
}

func readTextFile(_ path: String) throws -> String {
    guard let f = fopen(path, "r") else { throw BenchError("cannot open \(path)") }
    defer { fclose(f) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buf, 1, buf.count, f)
        if n <= 0 { break }
        out += buf[..<n]
    }
    return String(decoding: out, as: UTF8.self)
}

#if canImport(Glibc)
    import Glibc
#endif
