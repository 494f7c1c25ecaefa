import Foundation
import JobQueue
import Logging
import ProcessSupport
import RedisClient
import TestSupport

/// A namespace of its own on a test Redis, a queue client, and helpers to run workers.
final class QueueFixture: @unchecked Sendable {
    let url: RedisURL
    let namespace: String
    let redis: RedisConnection
    let queue: JobQueue
    let logs = LogCapture()
    private var workers: [(QueueWorker, Task<Void, any Error>)] = []
    private var probes: [ChildProcess] = []

    init(url: RedisURL? = nil, clock: any QueueClock = .server, retention: Retention = .default) throws {
        self.url = try url ?? TestRedis.url()
        namespace = "t" + UUID().uuidString.prefix(8).lowercased()
        redis = RedisConnection(configuration: RedisConfiguration(url: self.url), logger: logs.logger())
        queue = JobQueue(redis: redis, namespace: namespace, clock: clock, retention: retention, logger: logs.logger())
    }

    deinit {
        for p in probes { p.stop(grace: 0.5) }
    }

    func spec(
        _ id: String, kind: String = "record", payload: String = "", queue: String = "default", maxAttempts: Int = 3,
        group: String? = nil, schedule: JobSpec.Schedule = .now, timeout: Duration = .seconds(30)
    ) -> JobSpec {
        JobSpec(
            id: id, queue: queue, kind: kind, payload: Array(payload.utf8), maxAttempts: maxAttempts, timeout: timeout,
            schedule: schedule, group: group)
    }

    /// A worker configuration with test-friendly timings.
    func config(queues: String = "default", concurrency: Int = 4, id: String? = nil) throws -> WorkerConfiguration {
        var c = WorkerConfiguration(queues: try WeightedQueue.parseList(queues), concurrency: concurrency)
        if let id { c.id = id }
        c.heartbeatInterval = .milliseconds(200)
        c.heartbeatTTL = .seconds(1)
        c.maintenanceInterval = .milliseconds(100)
        c.idleWait = .milliseconds(200)
        c.drainTimeout = .seconds(5)
        c.retry = RetryPolicy(base: .milliseconds(50), max: .seconds(1), jitter: 0)
        return c
    }

    /// Starts an in-process worker; it is shut down by `stopWorkers()`.
    @discardableResult
    func startWorker(_ config: WorkerConfiguration, handlers: [String: any JobHandler]) -> QueueWorker {
        let blocking = RedisConnection(
            configuration: RedisConfiguration(url: url), logger: logs.logger(), name: "redis-block")
        let w = QueueWorker(
            queue: queue, blocking: blocking, configuration: config, handlers: handlers, logger: logs.logger())
        let t = Task { try await w.run() }
        workers.append((w, t))
        return w
    }

    func stopWorkers() async throws {
        for (w, _) in workers { w.shutdown() }
        for (_, t) in workers { try await t.value }
        workers.removeAll()
    }

    /// Starts a `queue-probe` process serving this namespace.
    func startProbe(id: String, concurrency: Int = 4, extra: [String: String] = [:]) throws -> ChildProcess {
        var env = ProcessInfo.processInfo.environment
        env["QP_REDIS_URL"] = "\(url.endpoint.urlText)"
        env["QP_NAMESPACE"] = namespace
        env["QP_WORKER_ID"] = id
        env["QP_CONCURRENCY"] = "\(concurrency)"
        for (k, v) in extra { env[k] = v }
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("probe-\(namespace)-\(id).log").path
        let p = try ChildProcess(
            executable: try Self.probeBinary(), arguments: [], environment: env, stdoutPath: log, stderrPath: log)
        probes.append(p)
        return p
    }

    func probeLog(_ id: String) -> String {
        (try? String(
            contentsOfFile: FileManager.default.temporaryDirectory.appendingPathComponent(
                "probe-\(namespace)-\(id).log"
            ).path, encoding: .utf8)) ?? ""
    }

    static func probeBinary() throws -> String {
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [dir, dir.deletingLastPathComponent()] {
            let p = candidate.appendingPathComponent("queue-probe").path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        throw TestSetupError(
            "queue-probe is not built next to the test binary (\(dir.path)); run the suite with ops/test")
    }

    /// Every key of this namespace.
    func keys() async throws -> [String] {
        var out: [String] = []
        var cursor = "0"
        repeat {
            let r = try await redis.send(
                RedisCommand("SCAN", [.string(cursor), "MATCH", .string("{\(namespace)}:*"), "COUNT", 1000]))
            cursor = r.array![0].string!
            out += r.array![1].array!.map { $0.string! }
        } while cursor != "0"
        return out.sorted()
    }

    func stat(_ name: String) async throws -> Int64 { try await queue.stats()[name] ?? 0 }

    /// Deletes this namespace's keys.
    func clean() async throws {
        for k in try await keys() { _ = try await redis.send(RedisCommand("DEL", [.string(k)])) }
    }
}

extension RedisURL.Endpoint {
    var urlText: String {
        switch self {
        case .tcp(let h, let p): return "redis://\(h):\(p)"
        case .unix(let path): return "unix://\(path)"
        }
    }
}

/// A handler that records how many times each job id started and finished.
final class Recorder: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var starts: [String: Int] = [:]
    private(set) var finishes: [String: Int] = [:]

    func started(_ id: String) { lock.withLock { starts[id, default: 0] += 1 } }
    func finished(_ id: String) { lock.withLock { finishes[id, default: 0] += 1 } }
    var totalFinished: Int { lock.withLock { finishes.values.reduce(0, +) } }
    func startCount(_ id: String) -> Int { lock.withLock { starts[id] ?? 0 } }

    func handler(sleep: Duration = .zero, result: String = "ok") -> ClosureJobHandler {
        ClosureJobHandler { ctx in
            self.started(ctx.id)
            if sleep > .zero { try await Task.sleep(for: sleep) }
            self.finished(ctx.id)
            return Array(result.utf8)
        }
    }
}
