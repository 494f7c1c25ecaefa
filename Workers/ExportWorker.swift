import ArgumentParser
import ExportServices
import JobQueue
import Logging
import ProcessSupport
import RedisClient

/// `export-worker`: a long-running worker process. Any number may run on any machine that
/// reaches the same Redis; each reserves jobs in batches, runs up to `--concurrency` at once,
/// and drains gracefully on SIGTERM/SIGINT.
@main
struct ExportWorker: AsyncParsableCommand {
    static func main() async { await daemonMain() }

    static let configuration = CommandConfiguration(
        commandName: "export-worker",
        abstract: "Run ExportGrid jobs from Redis until stopped.",
        discussion: """
            Reads REDIS_URL and EXPORTGRID_NAMESPACE. SIGTERM or SIGINT stops reserving, lets running \
            jobs finish for up to --drain-timeout seconds, then hands the rest back at once; a second \
            signal exits immediately. Exit codes: 0 stopped, 64 a bad flag, 78 a configuration Redis \
            refuses (password, database, ACL), 1 any other error (see ops/RUNBOOK.md).
            """,
        version: ExportGridVersion.current
    )

    @Option(
        help: "Queues to serve, as name or name:weight, comma-separated (weights set how often a queue is tried first)."
    )
    var queues = RunJobs.defaultWorkerQueues

    @Flag(help: "Always try queues in the listed order (strict priority) instead of by weight.")
    var strict = false

    @Option(help: "Jobs run at once, 1-4096 (default: the number of cores).")
    var concurrency: Int?

    @Option(help: "Seconds running jobs get to finish on shutdown before they are handed back (up to 86400).")
    var drainTimeout = 25.0

    @Option(
        help: "Seconds without a heartbeat after which this worker counts as gone and its jobs are reclaimed (1-3600)."
    )
    var heartbeatTTL = 5.0

    // For `exportctl bench` only, so not in --help.
    @Option(
        help: ArgumentHelp(
            "Benchmark mode: serve job kind 'noop', each doing exactly one INCR of this key.", visibility: .hidden))
    var benchNoop: String?

    @OptionGroup var daemon: DaemonOptions

    func validate() throws {
        if let concurrency { try FlagCheck.integer(concurrency, "--concurrency", in: 1...4096) }
        try FlagCheck.seconds(drainTimeout, "--drain-timeout", max: 86_400)
        // Heartbeats go every second: a shorter TTL would expire between two of them.
        guard heartbeatTTL.isFinite, heartbeatTTL >= 1, heartbeatTTL <= 3600 else {
            throw ValidationError("--heartbeat-ttl must be a number of seconds from 1 to 3600; got \(heartbeatTTL)")
        }
        do { _ = try WeightedQueue.parseList(queues) } catch { throw ValidationError("--queues: \(error)") }
    }

    func run() async throws {
        // Before any socket exists: a write to a connection Redis dropped is then an EPIPE error
        // the client reconnects from, never a silent death by SIGPIPE (exit 141).
        ignoreBrokenPipes()
        try daemon.bootstrapLogging()
        let logger = Logger(label: "export-worker")
        try await DaemonExit.serving(as: "export-worker", logger: logger) { try await serve($0, logger: logger) }
    }

    func serve(_ redisConfig: RedisConfiguration, logger: Logger) async throws {
        let redis = RedisConnection(configuration: redisConfig, logger: logger)
        let blocking = RedisConnection(configuration: redisConfig, logger: logger, name: "redis-block")
        let queue = JobQueue(redis: redis, namespace: JobQueue.namespaceFromEnvironment(), logger: logger)

        var config = WorkerConfiguration(
            queues: try WeightedQueue.parseList(queues), concurrency: concurrency ?? WorkerConfiguration.cores)
        config.strictPriority = strict
        config.drainTimeout = .milliseconds(Int64(drainTimeout * 1000))
        config.heartbeatTTL = .milliseconds(Int64(heartbeatTTL * 1000))
        config.version = ExportGridVersion.current

        var handlers = RunHandlers(control: RunControl(queue: queue), logger: logger).all()
        if let key = benchNoop {
            let counter = RedisConnection(configuration: redisConfig, logger: logger, name: "redis-bench")
            handlers["noop"] = ClosureJobHandler { _ in
                _ = try await counter.send(RedisCommand("INCR", [.string(key)]))
                return nil
            }
        }

        let worker = QueueWorker(
            queue: queue, blocking: blocking, configuration: config, handlers: handlers, logger: logger)
        let signals = ShutdownSignals(onShutdown: { sig in
            logger.notice("shutdown requested", metadata: ["signal": "\(sig)"])
            worker.shutdown()
        })
        defer { signals.cancel() }
        var metrics: MetricsServer?
        if daemon.metricsPort > 0 {
            let id = config.id
            let cluster = ClusterMetrics(control: RunControl(queue: queue)) {
                let (processed, failed) = worker.counts
                return [
                    "# HELP exportgrid_worker_jobs_total Jobs this worker finished, by outcome.",
                    "# TYPE exportgrid_worker_jobs_total counter",
                    "exportgrid_worker_jobs_total{worker=\"\(id)\",outcome=\"processed\"} \(processed)",
                    "exportgrid_worker_jobs_total{worker=\"\(id)\",outcome=\"failed\"} \(failed)",
                    "# HELP exportgrid_worker_running Handlers running now in this worker.",
                    "# TYPE exportgrid_worker_running gauge",
                    "exportgrid_worker_running{worker=\"\(id)\"} \(worker.running)",
                ]
            }
            metrics = try MetricsServer(host: daemon.metricsHost, port: daemon.metricsPort, logger: logger) {
                await cluster.render()
            }
        }
        defer { metrics?.stop() }
        try await worker.run()
    }
}
