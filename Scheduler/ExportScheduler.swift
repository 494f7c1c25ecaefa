import ArgumentParser
import ExportDomain
import ExportServices
import Foundation
import JobQueue
import Logging
import ProcessSupport
import RedisClient

/// `export-scheduler`: drives runs. Any number may run; one leads (a lease in Redis) and plans
/// runs left unplanned, starts periodic monitoring once per two-week period and purges expired
/// runs. Every scheduler also serves the control queue (the national pool, the collector), so
/// stage transitions happen while any one of them is alive.
@main
struct ExportScheduler: AsyncParsableCommand {
    static func main() async { await daemonMain() }

    static let configuration = CommandConfiguration(
        commandName: "export-scheduler",
        abstract: "Drive ExportGrid runs: leadership, planning, periodic monitoring, the control queue.",
        discussion: """
            Reads REDIS_URL and EXPORTGRID_NAMESPACE. SIGTERM or SIGINT stops it gracefully (it gives \
            up leadership at once, so another scheduler takes over without waiting for the lease). \
            Exit codes: 0 stopped, 64 a bad flag, 78 a configuration Redis refuses (password, \
            database, ACL), 1 any other error (see ops/RUNBOOK.md).
            """,
        version: ExportGridVersion.current
    )

    @Option(help: "This scheduler's id (default: hostname and pid).")
    var id: String?

    @Option(help: "Control-queue jobs (national pool, collector) run at once, up to 4096; 0 serves none.")
    var controlConcurrency = 2

    @Option(help: "Days a done or failed run is kept, from when it ended, before it is purged (up to 36500).")
    var retentionDays = 7.0

    @Option(help: "Seconds of the leadership lease, 1-3600 (renewed every tick while alive).")
    var leaseSeconds = 10.0

    @Option(help: "Seconds running control jobs get to finish on shutdown before they are handed back (up to 86400).")
    var drainTimeout = 25.0

    @Option(help: "Simulated clock for monitoring: start at this date (YYYY-MM-DD) instead of now.")
    var clockStart: String?

    @Option(help: "Simulated clock speed: simulated seconds per real second.")
    var clockSpeed = 1.0

    @OptionGroup var daemon: DaemonOptions

    func validate() throws {
        if let id, id.isEmpty || id.contains(where: { $0 == " " || $0 == "\n" }) {
            throw ValidationError("--id must be a word without spaces; got '\(id)'")
        }
        try FlagCheck.integer(controlConcurrency, "--control-concurrency", in: 0...4096)
        try FlagCheck.seconds(retentionDays, "--retention-days", max: 36_500)
        guard leaseSeconds.isFinite, leaseSeconds >= 1, leaseSeconds <= 3600 else {
            throw ValidationError("--lease-seconds must be a number of seconds from 1 to 3600; got \(leaseSeconds)")
        }
        try FlagCheck.seconds(drainTimeout, "--drain-timeout", max: 86_400)
        try FlagCheck.seconds(clockSpeed, "--clock-speed", max: 1e9)
        if let clockStart, CivilDate(iso: clockStart) == nil {
            throw ValidationError("--clock-start must be a date YYYY-MM-DD; got '\(clockStart)'")
        }
    }

    func run() async throws {
        // Before any socket exists: a write to a connection Redis dropped is then an EPIPE error
        // the client reconnects from, never a silent death by SIGPIPE (exit 141).
        ignoreBrokenPipes()
        try daemon.bootstrapLogging()
        let logger = Logger(label: "export-scheduler")
        try await DaemonExit.serving(as: "export-scheduler", logger: logger) { try await serve($0, logger: logger) }
    }

    func serve(_ redisConfig: RedisConfiguration, logger: Logger) async throws {
        let redis = RedisConnection(configuration: redisConfig, logger: logger)
        let queue = JobQueue(redis: redis, namespace: JobQueue.namespaceFromEnvironment(), logger: logger)
        let control = RunControl(queue: queue)
        var clock = SchedulerClock(speed: clockSpeed)
        if let clockStart {
            guard let d = CivilDate(iso: clockStart) else {
                throw ValidationError("--clock-start must be a date YYYY-MM-DD, got '\(clockStart)'")
            }
            let epochDay = d.dayNumber - CivilDate(year: 1970, month: 1, day: 1)!.dayNumber
            clock = SchedulerClock(startingAt: Int64(epochDay) * 86_400_000, speed: clockSpeed)
        }
        let name = id ?? "\(WorkerConfiguration.hostname)-\(getpid())"
        let service = SchedulerService(
            control: control, id: name, clock: clock, lease: .milliseconds(Int64(leaseSeconds * 1000)),
            retention: .seconds(Int64(retentionDays * 86_400)), logger: logger)

        var controlWorker: QueueWorker?
        if controlConcurrency > 0 {
            var config = WorkerConfiguration(
                queues: [WeightedQueue(RunJobs.controlQueue)], concurrency: controlConcurrency)
            config.id = "scheduler-" + name
            config.drainTimeout = .milliseconds(Int64(drainTimeout * 1000))
            config.version = ExportGridVersion.current
            let blocking = RedisConnection(configuration: redisConfig, logger: logger, name: "redis-block")
            controlWorker = QueueWorker(
                queue: queue, blocking: blocking, configuration: config,
                handlers: RunHandlers(control: control, logger: logger).all(), logger: logger)
        }
        let worker = controlWorker
        let drainNanos = UInt64((drainTimeout * 1e9).rounded()) + UInt64(QueueWorker.stopGrace.nanoseconds)
        let signals = ShutdownSignals(onShutdown: { sig in
            logger.notice("shutdown requested", metadata: ["signal": "\(sig)"])
            // Whatever state Redis is in, the process is gone by the drain deadline plus the grace.
            service.shutdown(deadline: MonotonicClock.nanos() + drainNanos)
            worker?.shutdown()
        })
        defer { signals.cancel() }
        var metrics: MetricsServer?
        if daemon.metricsPort > 0 {
            let cluster = ClusterMetrics(control: control) {
                [
                    "# HELP exportgrid_scheduler_leader 1 when this scheduler leads.",
                    "# TYPE exportgrid_scheduler_leader gauge",
                    "exportgrid_scheduler_leader{scheduler=\"\(name)\"} \(service.isLeader ? 1 : 0)",
                ]
            }
            metrics = try MetricsServer(host: daemon.metricsHost, port: daemon.metricsPort, logger: logger) {
                await cluster.render()
            }
        }
        defer { metrics?.stop() }
        logger.notice("scheduler started", metadata: ["scheduler": "\(name)"])
        try await withThrowingTaskGroup(of: Void.self) { g in
            g.addTask {
                await service.run()
                // A refusal retrying cannot fix stops the control worker too, and then the process.
                if let fatal = service.fatal {
                    worker?.shutdown()
                    throw fatal
                }
            }
            if let worker { g.addTask { try await worker.run() } }
            try await g.waitForAll()
        }
    }
}
