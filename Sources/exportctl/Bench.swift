import ArgumentParser
import ExportBench
import ExportData
import ExportDomain
import Foundation
import JobQueue
import Logging
import ProcessSupport
import RedisClient

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure ExportGrid's speed (benchmarks print figures; they assert nothing).",
        subcommands: [
            RedisBench.self, EnqueueBench.self, DrainBench.self, IngestBench.self, IngestParse.self, EvaluateBench.self,
            MatchBench.self, PipelineBench.self,
        ]
    )
}

struct RedisBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redis",
        abstract: "The Redis client against redis-benchmark -c 1, PING and SET at pipeline depth 1, 16, 256.",
        discussion: "Uses REDIS_URL when set, otherwise starts a private redis-server on a free loopback port."
    )

    @Option(help: "Requests per unpipelined row (pipelined rows use 4x).")
    var requests = 100_000

    @Option(help: "Run only these rows, as COMMAND:DEPTH (for example SET:256); repeatable.")
    var only: [String] = []

    func validate() throws {
        try checkCount(requests, "--requests", 1...100_000_000)
    }

    func run() async throws {
        let logger = Logger(label: "bench")
        var server: LocalRedisServer?
        let url: RedisURL
        if let text = ProcessEnvironment.get("REDIS_URL"), !text.isEmpty {
            url = try RedisURL(parsing: text)
        } else {
            server = try LocalRedisServer()
            url = try RedisURL(parsing: server!.url)
        }
        defer { server?.stop() }
        print("redis client benchmark against \(url), \(requests) requests per unpipelined row")
        let rows = try await RedisBenchmark(url: url, requests: requests, only: Set(only), logger: logger).run()
        print(RedisBenchmark.table(rows), terminator: "")
    }
}

struct EnqueueBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enqueue",
        abstract: "Enqueue N no-op jobs one by one (for the peer harness); prints enqueue_seconds=<t>.",
        discussion: """
            Jobs go to queue 'bench' with kind 'noop'; serve them with
            export-worker --queues bench --bench-noop COUNTER_KEY. Uses REDIS_URL and EXPORTGRID_NAMESPACE.
            """
    )

    @Option(help: "Jobs to enqueue.")
    var count = 20_000

    @Option(help: "Enqueue through the bulk API in slices of this size instead of one by one.")
    var bulk: Int?

    @Option(help: "Enqueue one by one from this many concurrent tasks sharing the connection.")
    var callers: Int?

    func validate() throws {
        try checkCount(count, "--count", 1...100_000_000)
        try checkCount(bulk, "--bulk", 1...1_000_000)
        try checkCount(callers, "--callers", 1...10_000)
    }

    func run() async throws {
        let logger = Logger(label: "bench")
        let url = try RedisConfiguration.fromEnvironment().url
        let bench = QueueBenchmark(url: url, namespace: JobQueue.namespaceFromEnvironment(), logger: logger)
        let tag = "e\(UInt32.random(in: 0...UInt32.max))"
        let secs: Double
        if let bulk {
            secs = try await bench.enqueueBulk(count: count, batch: bulk, tag: tag)
        } else if let callers {
            secs = try await bench.enqueueConcurrently(count: count, callers: callers, tag: tag)
        } else {
            secs = try await bench.enqueueOneByOne(count: count, tag: tag)
        }
        print("enqueue_seconds=\(secs)")
        print("enqueue_jobs_per_second=\(Int(Double(count) / secs))")
    }
}

struct DrainBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drain",
        abstract:
            "Enqueue N no-op jobs (bulk), then time their drain by export-worker processes; prints rate and peak RSS.",
        discussion: """
            Each job does exactly one INCR of a counter key, like the peer harness. Uses REDIS_URL when
            set, otherwise starts a private redis-server. The workers are the export-worker binary next
            to this exportctl.
            """
    )

    @Option(help: "Jobs to drain.")
    var count = 60_000

    @Option(help: "Worker processes.")
    var processes = 2

    @Option(help: "Jobs in flight per worker process.")
    var concurrency = 1000

    func validate() throws {
        try checkCount(count, "--count", 1...100_000_000)
        try checkCount(processes, "--processes", 1...256)
        try checkCount(concurrency, "--concurrency", 1...100_000)
    }

    func run() async throws {
        let logger = Logger(label: "bench")
        var server: LocalRedisServer?
        let url: RedisURL
        if let text = ProcessEnvironment.get("REDIS_URL"), !text.isEmpty {
            url = try RedisURL(parsing: text)
        } else {
            server = try LocalRedisServer()
            url = try RedisURL(parsing: server!.url)
        }
        defer { server?.stop() }
        let worker = siblingExecutable("export-worker")
        let namespace = "bench\(UInt32.random(in: 0...UInt32.max))"
        let bench = QueueBenchmark(url: url, namespace: namespace, logger: logger)
        let counter = "{\(namespace)}:bench:done"
        let enqueue = try await bench.enqueueBulk(count: count, batch: 500, tag: "d")
        let (secs, rss) = try await bench.drain(
            count: count, processes: processes, concurrency: concurrency, workerBinary: worker, counterKey: counter)
        print("enqueued \(count) jobs in bulk: \(Int(Double(count) / enqueue)) jobs/s")
        print(
            "drained by \(processes) x export-worker --concurrency \(concurrency): \(Int(Double(count) / secs)) jobs/s (\(Double(Int(secs * 1000)) / 1000) s from worker start)"
        )
        print("worker peak RSS: \(rss.map { "\($0 / 1024) MB" }.joined(separator: ", "))")
    }
}

/// An executable installed next to this one (the build directory, or an install prefix).
func siblingExecutable(_ name: String) -> String { executableDirectory() + "/" + name }

struct IngestBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Generate a nation, then parse and validate its firms.csv; next to Python's csv module reading it.")

    @Option(help: "Firms to generate.")
    var firms = 1_000_000

    @Option(help: "Scratch directory (kept afterwards).")
    var dir = "/tmp/exportgrid-bench-ingest"

    func validate() throws {
        try checkCount(firms, "--firms", 1...100_000_000)
    }

    func run() throws {
        let f = try IngestBenchmark(firms: firms, directory: dir, selfPath: siblingExecutable("exportctl")).run()
        let mb = Double(f.fileBytes) / 1_048_576
        print("generate \(firms) firms: \(rounded(f.generateSeconds, 2)) s (all files; one core)")
        print("firms.csv: \(f.rows) rows, \(rounded(mb, 1)) MB")
        print(
            "parse + validate: \(rounded(f.parseSeconds, 3)) s = \(Int(Double(f.rows) / f.parseSeconds)) rows/s, \(rounded(mb / f.parseSeconds, 1)) MB/s, peak RSS \(f.parseMaxRSSkB / 1024) MB"
        )
        if let py = f.pythonSeconds {
            print(
                "python3 csv.reader, reading only: \(rounded(py, 3)) s = \(Int(Double(f.pythonRows) / py)) rows/s (\(rounded(py / f.parseSeconds, 2))x slower than parse + validate)"
            )
        } else {
            print("python3 not found: no comparison")
        }
    }
}

struct IngestParse: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest-parse",
        abstract: "The child of bench ingest: parse and validate firms.csv, print rows and seconds.",
        shouldDisplay: false)

    @Argument var dir: String

    @Flag(help: "Only split records (no validation, no digest).")
    var readOnly = false

    func run() throws {
        if readOnly {
            let t = monotonicSeconds()
            let r = try CSVReader(path: dir + "/firms.csv")
            var n = 0
            while try r.next() != nil { n += 1 }
            print("\(n) \(monotonicSeconds() - t)")
            return
        }
        let (rows, secs, report) = IngestBenchmark.parseOnly(directory: dir)
        if let p = report.problem { throw ValidationError(p) }
        print("\(rows) \(secs)")
    }
}

struct EvaluateBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Evaluate a generated nation on one core: potentials, readiness, summaries, the pool.")

    @Option(help: "Firms (a nation is generated into --dir when it has none).")
    var firms = 1_000_000

    @Option(help: "Dataset directory (shared with bench ingest).")
    var dir = "/tmp/exportgrid-bench-ingest"

    func validate() throws {
        try checkCount(firms, "--firms", 1...100_000_000)
    }

    func run() throws {
        let f = try EvaluateBenchmark(firms: firms, directory: dir).run()
        let pairs = Double(f.firms * f.markets)
        print("\(f.firms) firms x \(f.markets) markets")
        print(
            "potentials: \(rounded(f.potentialSeconds, 3)) s = \(Int(pairs / f.potentialSeconds)) firm-market pairs/s, \(Int(Double(f.firms) / f.potentialSeconds)) firms/s"
        )
        print(
            "evaluation in \(f.chunks) chunks (summaries, readiness of \(f.eligible) eligible firms, chunk pools): \(rounded(f.evaluateSeconds, 3)) s = \(Int(Double(f.firms) / f.evaluateSeconds)) firms/s"
        )
        print("national merge (summaries and pool of \(f.poolSize)): \(rounded(f.mergeSeconds * 1000, 1)) ms")
        print("evaluation + summaries + pool: \(rounded(f.evaluateSeconds + f.mergeSeconds, 3)) s (one core)")
    }
}

struct MatchBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "match",
        abstract: "Private selection for every ecosystem of a 10,000-firm pool, on one core, with the program's goals.",
        discussion: """
            Generates a nation into --dir when it has none (with its firms' and desks' own lists),
            evaluates it and builds the pool, then times (best of --repeats) the contracts and both
            sides' orders, the cumulative offer process under the configured rule, the two
            comparison solves (no quota; the other reserve rule) and the whole per-ecosystem
            computation (with consortia, channels and the new-export-source track). It prints the
            goals on that nation (emerging share of matches at least the quota, matched firms at
            least 85% of min(seats, pool), every unfilled reserve explained) and the quota's
            trade-off. The quota-off lists, one contract per firm and desk, are then solved by the
            Python package `matching` 1.4.3 (resident-optimal) in the same run and the two
            matchings compared pair for pair; --python names an interpreter that has it (ops/test
            makes .venv with it).
            """)

    @Option(help: "Firms in the generated nation.")
    var firms = 200_000

    @Option(help: "Dataset directory (generated there when it has no firms.csv).")
    var dir = "/tmp/exportgrid-bench-match"

    @Option(help: "Timed repetitions (the best is shown).")
    var repeats = 3

    @Option(help: "Python interpreter with the matching package (default: .venv/bin/python, else python3).")
    var python: String?

    @Flag(
        help: "Leave out applications.csv and desk_rankings.csv: every list computed and uncapped (the heaviest case).")
    var computedOnly = false

    func validate() throws {
        try checkCount(firms, "--firms", 1...100_000_000)
        try checkCount(repeats, "--repeats", 1...1_000)
    }

    func run() throws {
        let py = python ?? (FileManager.default.isExecutableFile(atPath: ".venv/bin/python") ? ".venv/bin/python" : nil)
        let f = try MatchBenchmark(
            firms: firms, directory: dir, repeats: repeats, python: py, computedOnly: computedOnly
        ).run()
        let q = Permille.decimal(f.quotaPermille)
        print(
            "pool \(f.pool) firms in \(f.ecosystems) ecosystems; \(f.desks) desks, \(f.seats) seats; reserve \(f.reserved) seats (q = \(q), \(f.rule.rawValue))"
        )
        print(
            "own lists: \(f.firmsWithOwnLists) of \(f.pool) pool firms, \(f.desksWithOwnRankings) of \(f.desks) desks; \(f.contracts) contracts, \(f.offers) offered"
        )
        print("one core, best of \(repeats):")
        print("  contracts and both sides' orders       \(pad(rounded(f.preferencesSeconds * 1000, 1), 8)) ms")
        print("  cumulative offers, configured rule     \(pad(rounded(f.configuredSeconds * 1000, 1), 8)) ms")
        print("  the two comparison solves              \(pad(rounded(f.comparisonSeconds * 1000, 1), 8)) ms")
        print(
            "  whole per-ecosystem computation        \(pad(rounded(f.wholeSeconds * 1000, 1), 8)) ms   goal < 1000 ms: \(f.wholeSeconds < 1 ? "met" : "NOT MET")"
        )
        print("    (with \(f.consortia) consortia, \(f.channels) channel recommendations)")
        let share = Double(f.emergingMatched) / Double(max(1, f.matched))
        let fill = Double(f.matched) / Double(max(1, f.fillBase))
        let unexplained = f.unfilled[.unexplained] ?? 0
        let unfilled = f.unfilled.values.reduce(0, +)
        print("goals:")
        print(
            "  emerging share of matches  \(rounded(share * 100, 1))% (\(f.emergingMatched) of \(f.matched))   goal >= \(rounded(Double(f.quotaPermille) / 10, 1))%: \(share * 1000 >= Double(f.quotaPermille) ? "met" : "NOT MET")"
        )
        print(
            "  matched firms              \(f.matched) = \(rounded(fill * 100, 1))% of min(seats \(f.seats), pool \(f.pool))   goal >= 85%: \(fill >= 0.85 ? "met" : "NOT MET")"
        )
        print(
            "  unfilled reserves          \(unfilled) desks: \(f.unfilled[.no_applicants] ?? 0) without applicants, \(f.unfilled[.too_few_emerging_offers] ?? 0) with too few emerging offers, \(unexplained) unexplained: \(unexplained == 0 ? "met" : "NOT MET")"
        )
        print("the quota's trade-off (same lists):")
        print(
            "  \(pad("rule", 16))\(pad("matched", 9))\(pad("emerging", 10))\(pad("share", 8))\(pad("empty seats", 13))median choice"
        )
        for v in f.variants {
            let name = v.rule == .no_quota ? "no quota" : "\(v.rule.rawValue), q = \(q)"
            let median = v.doubledMedianChoice.map { rounded(Double($0) / 2, 1) } ?? "-"
            let configured = v.rule.rawValue == f.rule.rawValue && f.quotaPermille > 0
            print(
                "  \(pad(name, 16))\(pad("\(v.matched)", 9))\(pad("\(v.emergingMatched)", 10))\(pad(rounded(Double(v.emergingMatched) * 100 / Double(max(1, v.matched)), 1) + "%", 8))\(pad("\(v.emptySeats)", 13))\(median)\(configured ? "   (configured)" : "")"
            )
        }
        if let solve = f.pythonSolveSeconds, let create = f.pythonCreateSeconds {
            print(
                "quota off, one contract per firm and desk: ExportGrid \(rounded(f.oursQuotaOffSeconds * 1000, 2)) ms; python matching 1.4.3 create \(rounded(create * 1000, 1)) ms + solve \(rounded(solve * 1000, 1)) ms; same matching: \(f.pythonAgrees == true ? "yes" : "NO") (\(f.pythonPairs) pairs)"
            )
        } else {
            print("python comparison skipped: \(f.pythonProblem ?? "no output")")
        }
    }
}

struct PipelineBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pipeline",
        abstract: "A generated nation run to its report by one scheduler and --workers workers, per stage.",
        discussion: """
            Generates a nation into --dir when it has none, starts a private redis-server (unless
            REDIS_URL is set), one export-scheduler and --workers export-worker processes, submits the
            dataset and waits for the report. Prints the time of every stage, the time spent inside
            the domain functions (the rest is the pipeline's overhead: loading, transport through
            Redis, scheduling, merging), the Redis memory of the run and each process's peak RSS.
            With --compare W, runs again with W workers and prints the ratio of the totals.
            """)

    @Option(help: "Firms in the generated nation.")
    var firms = 1_000_000

    @Option(help: "Dataset directory (generated when it has no firms.csv).")
    var dir = "/tmp/exportgrid-bench-pipeline"

    @Option(help: "Worker processes.")
    var workers = 2

    @Option(help: "Also run with this many workers and compare.")
    var compare: Int?

    @Option(help: "Jobs each worker runs at once (default: the number of cores).")
    var workerConcurrency: Int?

    func validate() throws {
        try checkCount(firms, "--firms", 1...100_000_000)
        try checkCount(workers, "--workers", 1...256)
        try checkCount(compare, "--compare", 1...256)
        try checkCount(workerConcurrency, "--worker-concurrency", 1...10_000)
    }

    func run() async throws {
        let url = ProcessInfo.processInfo.environment["REDIS_URL"]
        var totals: [(workers: Int, total: Double, workerStages: Double)] = []
        let cores = WorkerConfiguration.cores
        let each = workerConcurrency ?? cores
        for w in [workers] + (compare.map { [$0] } ?? []) {
            let f = try await PipelineBenchmark(
                firms: firms, directory: dir, workers: w, binaries: executableDirectory(),
                workerConcurrency: workerConcurrency
            ).run(redisURL: url, runID: "bench-\(w)")
            let workerStages = f.stages.filter { $0.name == "evaluate" || $0.name == "ecosystems" }
                .reduce(0) { $0 + $1.seconds }
            totals.append((w, f.totalSeconds, workerStages))
            print("\n\(f.firms) firms in \(f.chunks) chunks, \(w) workers x \(each) jobs at once, \(cores) cores")
            for (name, s) in f.stages { print("  " + pad(name, 40) + lpad(String(format: "%.3f s", s), 10)) }
            print("  " + pad("total (submit to report)", 40) + lpad(String(format: "%.3f s", f.totalSeconds), 10))
            let compute = f.computeSeconds.reduce(0) { $0 + $1.seconds }
            print(
                "  domain functions (CPU): "
                    + f.computeSeconds.map { "\($0.stage) \(String(format: "%.3f", $0.seconds)) s" }
                    .joined(separator: ", ") + String(format: ", sum %.3f s", compute))
            // The parallel stages' domain work spreads over min(workers x concurrency, cores) cores.
            let par = Double(min(cores, w * each))
            let evalCompute = f.computeSeconds.first { $0.stage == "evaluate" }?.seconds ?? 0
            let ecoCompute = f.computeSeconds.first { $0.stage == "ecosystem" }?.seconds ?? 0
            let domainWall = (evalCompute + ecoCompute) / par + (compute - evalCompute - ecoCompute)
            let load = f.stages.first?.seconds ?? 0
            print(
                String(
                    format:
                        "  pipeline overhead (total minus the domain work spread over %.0f cores): %.3f s = %.0f%% of the total; without the load stage %.3f s = %.0f%% of %.3f s",
                    par, f.totalSeconds - domainWall, 100 * (f.totalSeconds - domainWall) / f.totalSeconds,
                    f.totalSeconds - load - domainWall,
                    100 * (f.totalSeconds - load - domainWall) / (f.totalSeconds - load),
                    f.totalSeconds - load))
            print(
                "  Redis: the run's \(f.runKeys) keys use \(f.runMemoryBytes / 1024 / 1024) MiB; server used_memory \(f.redisUsedMemory / 1024 / 1024) MiB"
            )
            print(
                "  peak RSS: submit (exportctl) \(f.submitRSSkB / 1024) MiB, "
                    + f.processRSSkB.map { "\($0.name) \($0.kB / 1024) MiB" }.joined(separator: ", "))
        }
        if totals.count == 2 {
            let (a, b) = (totals[1], totals[0])
            print(
                String(
                    format:
                        "\n%d vs %d workers: total %.3f s vs %.3f s, ratio %.2f; the workers' stages (evaluate + ecosystems) %.3f s vs %.3f s, ratio %.2f",
                    a.workers, b.workers, a.total, b.total, a.total / b.total, a.workerStages, b.workerStages,
                    a.workerStages / b.workerStages))
        }
    }
}
