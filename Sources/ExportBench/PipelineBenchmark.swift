import ExportData
import ExportDomain
import ExportServices
import Foundation
import JobQueue
import Logging
import ProcessSupport
import RedisClient

/// `exportctl bench pipeline`: a generated nation submitted and run to its report by real
/// processes (one scheduler, N workers) on one Redis, with the time of every stage, the time
/// spent in the domain functions, Redis memory of the run and each process's peak RSS.
public struct PipelineBenchmark {
    public var firms: Int
    public var directory: String
    public var workers: Int
    public var binaries: String
    /// `--concurrency` of each worker (nil: the worker's default, the number of cores).
    public var workerConcurrency: Int?

    public init(firms: Int, directory: String, workers: Int, binaries: String, workerConcurrency: Int? = nil) {
        self.firms = firms
        self.directory = directory
        self.workers = workers
        self.binaries = binaries
        self.workerConcurrency = workerConcurrency
    }

    public struct Figures: Sendable {
        public var workers = 0
        public var firms = 0
        public var chunks = 0
        public var stages: [(name: String, seconds: Double)] = []
        public var computeSeconds: [(stage: String, seconds: Double)] = []
        public var totalSeconds = 0.0
        public var runMemoryBytes: Int64 = 0
        public var runKeys = 0
        public var redisUsedMemory: Int64 = 0
        public var submitRSSkB = 0
        public var processRSSkB: [(name: String, kB: Int)] = []
    }

    public func run(redisURL: String?, runID: String) async throws -> Figures {
        if access(directory + "/firms.csv", F_OK) != 0 {
            _ = try NationGenerator(firms: firms, seed: 2016).write(to: directory)
        }
        var server: LocalRedisServer?
        let url: String
        if let redisURL {
            url = redisURL
        } else {
            server = try LocalRedisServer()
            url = server!.url
        }
        defer { server?.stop() }
        let namespace = "bench-pipeline-\(getpid())-\(workers)"
        var env = ProcessInfo.processInfo.environment
        env["REDIS_URL"] = url
        env["EXPORTGRID_NAMESPACE"] = namespace
        var logger = Logger(label: "bench-pipeline")
        logger.logLevel = .error
        var config = RedisConfiguration(url: try RedisURL(parsing: url))
        config.commandTimeout = .seconds(30)
        let redis = RedisConnection(configuration: config, logger: logger)
        let control = RunControl(queue: JobQueue(redis: redis, namespace: namespace, logger: logger))

        var procs: [(String, ChildProcess)] = []
        let log = directory + "/bench-pipeline.log"
        procs.append(
            (
                "scheduler",
                try ChildProcess(
                    executable: binaries + "/export-scheduler", arguments: ["--log-level", "warning"], environment: env,
                    stdoutPath: log, stderrPath: log)
            ))
        for i in 0..<workers {
            procs.append(
                (
                    "worker \(i + 1)",
                    try ChildProcess(
                        executable: binaries + "/export-worker",
                        arguments: ["--log-level", "warning"]
                            + (workerConcurrency.map { ["--concurrency", "\($0)"] } ?? []),
                        environment: env, stdoutPath: log, stderrPath: log)
                ))
        }
        defer { for (_, p) in procs { p.stop(grace: 10) } }
        try await Task.sleep(for: .milliseconds(300))

        var f = Figures()
        f.workers = workers
        let t0 = monotonic()
        let s = try await Submission.store(
            directory: directory, runID: runID, encoding: nil, chunkSizeOverride: nil, redis: config,
            namespace: namespace, logger: logger)
        try await control.plan(runID)
        f.firms = s.firms
        f.chunks = s.chunks
        while true {
            let m = try await control.meta(runID)
            if m["state"] == "done" { break }
            if m["state"] == "failed" { throw BenchError("the run failed: \(m["error"] ?? "")") }
            try await Task.sleep(for: .milliseconds(20))
        }
        f.totalSeconds = monotonic() - t0
        let m = try await control.meta(runID)
        func ms(_ k: String) -> Double { Double(m[k] ?? "0") ?? 0 }
        f.stages = RunControl.stageMarks.map {
            ($0.stage == "load" ? "load (submit: read, validate, store)" : $0.stage, (ms($0.end) - ms($0.start)) / 1000)
        }
        f.computeSeconds = ["evaluate", "pool", "ecosystem", "collect"].map { ($0, ms("compute_us_" + $0) / 1e6) }
        let mem = try await control.memory(runID)
        f.runMemoryBytes = mem.bytes
        f.runKeys = mem.keys
        let info = try await redis.send(RedisCommand("INFO", ["memory"])).string ?? ""
        for line in info.split(whereSeparator: \.isNewline) where line.hasPrefix("used_memory:") {
            f.redisUsedMemory = Int64(line.dropFirst("used_memory:".count)) ?? 0
        }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        f.submitRSSkB = Int(usage.ru_maxrss)
        try await control.purge(runID)
        for (name, p) in procs {
            p.signal(SIGTERM)
            f.processRSSkB.append((name, p.waitWithUsage().maxRSSkB))
        }
        return f
    }
}
