// A worker process for the queue's fault tests: runs QueueWorker with test handlers so tests
// can SIGKILL, SIGSTOP and SIGTERM a real process. Configured by QP_* environment variables.
import JobQueue
import Logging
import ProcessSupport
import RedisClient

#if canImport(Glibc)
    import Glibc
#endif

func env(_ k: String, _ d: String) -> String { ProcessEnvironment.get(k).flatMap { $0.isEmpty ? nil : $0 } ?? d }
func ms(_ k: String, _ d: Int) -> Duration { .milliseconds(Int(env(k, String(d))) ?? d) }

LoggingSystem.bootstrap { label in
    var h = StreamLogHandler.standardError(label: label)
    h.logLevel = .info
    return h
}
let logger = Logger(label: "queue-probe")
let url = try RedisURL(parsing: env("QP_REDIS_URL", "redis://127.0.0.1:6379"))
let redis = RedisConnection(configuration: RedisConfiguration(url: url), logger: logger)
let blocking = RedisConnection(configuration: RedisConfiguration(url: url), logger: logger, name: "redis-block")
let queue = JobQueue(redis: redis, namespace: env("QP_NAMESPACE", "exportgrid"), logger: logger)
var config = WorkerConfiguration(
    queues: try WeightedQueue.parseList(env("QP_QUEUES", "default")), concurrency: Int(env("QP_CONCURRENCY", "4")) ?? 4)
config.id = env("QP_WORKER_ID", config.id)
config.heartbeatInterval = ms("QP_HEARTBEAT_MS", 200)
config.heartbeatTTL = ms("QP_TTL_MS", 1000)
config.lease = ms("QP_LEASE_MS", 30_000)
config.drainTimeout = ms("QP_DRAIN_MS", 5000)
config.maintenanceInterval = ms("QP_MAINTENANCE_MS", 100)
config.idleWait = ms("QP_IDLE_MS", 200)
let me = config.id

let handlers: [String: any JobHandler] = [
    // Sleeps for the payload's milliseconds (cancellable), then returns this worker's id.
    "sleep": ClosureJobHandler { ctx in
        let n = Int(String(decoding: ctx.payload, as: UTF8.self)) ?? 0
        try await Task.sleep(for: .milliseconds(n))
        return Array(me.utf8)
    },
    // Keeps a core busy for the payload's milliseconds without ever suspending (a CPU-bound job,
    // like an ecosystem's matching), then returns this worker's id.
    "spin": ClosureJobHandler { ctx in
        let n = Int(String(decoding: ctx.payload, as: UTF8.self)) ?? 0
        let end = ContinuousClock.now + .milliseconds(n)
        var x: UInt64 = 1
        while ContinuousClock.now < end { x = x &* 6_364_136_223_846_793_005 &+ 1 }
        return Array(me.utf8) + (x == 0 ? [0] : [])
    },
    // Returns this worker's id at once.
    "record": ClosureJobHandler { _ in Array(me.utf8) },
    "fail": ClosureJobHandler { _ in throw PermanentFailure("probe failure") },
]

let worker = QueueWorker(queue: queue, blocking: blocking, configuration: config, handlers: handlers, logger: logger)
let signals = ShutdownSignals(onShutdown: { _ in worker.shutdown() })
print("ready \(me)")
try await worker.run()
signals.cancel()
