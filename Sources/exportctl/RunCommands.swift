import ArgumentParser
import ExportData
import ExportDomain
import ExportServices
import Foundation
import JobQueue
import ProcessSupport
import RedisClient

struct Submit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load and validate a dataset, store it in Redis for the workers, enqueue the run, print its id.",
        discussion: """
            Firms are stored in per-region chunks of chunk_size (config.toml, or --chunk-size), each with
            its firm count and SHA-256 (workers refuse a chunk changed since), with their export records,
            the small tables, the configuration and every rejected row; workers on other machines need
            only REDIS_URL. With --wait, shows progress per stage and exits when the report is ready
            (status 2 if the run failed, 3 if it was purged meanwhile). While it waits it rides out a
            Redis outage (one warning, then retries until Redis answers again), and when the run
            makes no progress for a few seconds it says once which daemon is missing.

            A submit stores the whole run or leaves nothing behind: a directory that does not exist,
            an error in config.toml, a dataset that cannot be used, or more rejected rows than
            --max-rejected-share (unless --force) stop it with the reason. When Redis fails while it
            stores, the run is marked failed with the reason; submitting the same --run-id again
            replaces a failed run.
            """
    )

    @Argument(help: "The dataset directory.")
    var directory: String

    @Option(help: "The run id (letters, digits, '-', '_', '.'); default: run-<UTC time>.")
    var runID: String?

    @Flag(help: "Show progress and wait for the report.")
    var wait = false

    @Option(help: "Force the input encoding (utf-8 or cp949) instead of detecting it per file.")
    var encoding: String?

    @Option(help: "Firms per evaluation job (overrides chunk_size of config.toml).")
    var chunkSize: Int?

    @Option(help: "Largest share of rejected rows (0 to 1) the dataset may have.")
    var maxRejectedShare = DatasetVerdict.defaultMaxRejectedShare

    @Flag(help: "Run a dataset with more rejected rows than allowed, or a file cut off inside quotes.")
    var force = false

    func validate() throws {
        if let chunkSize, !(1...1_000_000).contains(chunkSize) {
            throw ValidationError("--chunk-size must be 1 to 1000000, not \(chunkSize)")
        }
        try checkShare(maxRejectedShare)
        if let runID {
            do { try RunJobs.checkRunID(runID) } catch { throw ValidationError("--run-id: \(error)") }
        }
    }

    func run() async throws {
        try await reporting {
            var forced: TextEncoding?
            if let encoding {
                guard let e = TextEncoding(name: encoding) else {
                    throw CLIError("unknown encoding \(encoding)", hint: "use utf-8 or cp949")
                }
                forced = e
            }
            let c = try Cluster()
            let id = runID ?? Self.defaultRunID()
            var options = SubmitOptions(encoding: forced, chunkSize: chunkSize)
            options.maxRejectedShare = maxRejectedShare
            options.force = force
            let s = try await Submission.store(
                directory: directory, runID: id, options: options, redis: c.redisConfig, namespace: c.namespace,
                logger: c.logger)
            try await c.control.plan(id)
            FileHandle.standardError.write(
                Data(
                    ("stored \(s.firms) firms in \(s.chunks) chunks, \(s.exportRecords) export records; "
                        + "rows read \(s.input.rowsRead), accepted \(s.input.accepted), rejected \(s.input.rejected) "
                        + "(\(s.storedBytes / 1024) KiB in \(String(format: "%.2f", s.seconds)) s)\n").utf8))
            print(id)
            if wait {
                let ok = try await followRun(c, run: id, untilDone: true, hintIdle: true)
                if !ok { throw Exit.runFailed.code }
            }
        }
    }

    static func defaultRunID() -> String {
        var t = time(nil)
        var tmv = tm()
        gmtime_r(&t, &tmv)
        return String(
            format: "run-%04d%02d%02d-%02d%02d%02d", Int(tmv.tm_year) + 1900, Int(tmv.tm_mon) + 1, Int(tmv.tm_mday),
            Int(tmv.tm_hour), Int(tmv.tm_min), Int(tmv.tm_sec))
    }
}

/// One stage of a run as `status` shows it.
struct StageProgress {
    var name: String
    var done: Int
    var total: Int
    var state: String
    var startedMs: Int64?
    var finishedMs: Int64?
    /// When a failed run stopped: its unfinished stages' clocks stop there.
    var stoppedMs: Int64?

    var seconds: Double? {
        guard let s = startedMs else { return nil }
        return Double((finishedMs ?? stoppedMs ?? nowMillis()) - s) / 1000
    }
}

func stages(_ c: Cluster, run: String, meta: [String: String]) async throws -> [StageProgress] {
    func ms(_ k: String) -> Int64? { meta[k].flatMap(Int64.init) }
    let failed = meta["state"] == "failed"
    let totals = [
        "evaluate": meta["chunks"].flatMap(Int.init) ?? 0, "ecosystems": Industry.allCases.count,
    ]
    let groups = ["evaluate": RunJobs.evaluateGroup(run), "ecosystems": RunJobs.ecosystemGroup(run)]
    var out: [StageProgress] = []
    for (stage, start, end) in RunControl.stageMarks {
        var s = StageProgress(
            name: stage, done: 0, total: totals[stage] ?? 1, state: "waiting", startedMs: ms(start),
            finishedMs: ms(end), stoppedMs: failed ? ms("finished_ms") : nil)
        // A failed run has a finishing time too; only a report ends the collect stage.
        if stage == "collect" && meta["state"] != "done" { s.finishedMs = nil }
        if s.finishedMs != nil {
            s.done = s.total
            s.state = "done"
        } else if let id = groups[stage], let g = try await c.queue.group(id) {
            s.done = g.done
            s.total = g.total
            s.state = g.failed > 0 ? "failed" : "running"
        } else if s.startedMs != nil {
            s.state = "running"
        }
        if failed && s.state == "running" { s.state = "failed" }
        out.append(s)
    }
    return out
}

func stageLine(_ s: StageProgress) -> String {
    var line = pad(s.name, 11) + pad(s.state, 8) + lpad("\(s.done)/\(s.total)", 11)
    if let secs = s.seconds, s.state != "waiting" {
        line += lpad(String(format: "%.1f s", secs), 10)
        if s.state == "running", s.done > 0, s.total > s.done, secs > 0 {
            let rate = Double(s.done) / secs
            line += String(format: "  %.1f jobs/s, ETA %.0f s", rate, Double(s.total - s.done) / rate)
        }
    }
    return line
}

/// Shows a run's stages until it is done or failed (or once, with `untilDone` false). A live
/// display on a terminal, plain lines otherwise. Returns false when the run failed.
///
/// Following a run (`untilDone`), a Redis outage is ridden out: one warning, then polling with
/// backoff until Redis answers again, and on to the run's real end. With `hintIdle`, a run that
/// makes no progress for `idleHintAfter` gets one hint per missing daemon (no worker serving a
/// queue with pending jobs, no scheduler leader).
func followRun(_ c: Cluster, run: String, untilDone: Bool, hintIdle: Bool = false) async throws -> Bool {
    let tty = isatty(1) == 1
    var lastPrinted = ""
    var drawn = 0
    var seen = false
    var outage = false
    var attempt = 0
    var hinted: Set<String> = []
    var lastProgress = ""
    var progressAt = ContinuousClock.now
    while true {
        let meta: [String: String]
        let st: [StageProgress]
        do {
            meta = try await c.control.meta(run)
            if meta.isEmpty && seen {
                throw CLIError(
                    "run \(run) was purged while it ran (its jobs were canceled)", hint: "submit it again to run it",
                    exit: .runUnknown)
            }
            if meta.isEmpty { _ = try await c.requireRun(run) }
            st = try await stages(c, run: run, meta: meta)
            let progress = (meta["state"] ?? "") + st.map { "\($0.done)" }.joined(separator: ",")
            if progress != lastProgress {
                lastProgress = progress
                progressAt = .now
            } else if hintIdle, ContinuousClock.now - progressAt >= idleHintAfter {
                for h in try await idleHints(c) where !hinted.contains(h) {
                    hinted.insert(h)
                    FileHandle.standardError.write(Data("hint: \(h)\n".utf8))
                }
            }
        } catch  where untilDone && isOutage(error) {
            if !outage {
                FileHandle.standardError.write(Data("warning: redis unavailable, retrying... (\(error))\n".utf8))
                outage = true
            }
            attempt += 1
            try await Task.sleep(for: Backoff(base: .milliseconds(250), max: .seconds(5)).delay(attempt: attempt))
            continue
        }
        if outage {
            FileHandle.standardError.write(Data("redis is reachable again; following run \(run)\n".utf8))
            outage = false
            attempt = 0
        }
        seen = true
        let state = meta["state"] ?? "unknown"
        var lines = ["run \(run): \(state)"] + st.map { "  " + stageLine($0) }
        if state == "failed" { lines.append("  error: \(meta["error"] ?? "unknown")") }
        let text = lines.joined(separator: "\n")
        if tty && untilDone {
            if drawn > 0 { print("\u{1B}[\(drawn)A", terminator: "") }
            for l in lines { print("\u{1B}[2K" + l) }
            drawn = lines.count
        } else if text != lastPrinted {
            let compact = lines.filter { !$0.contains("waiting") }
            print(untilDone ? compact.joined(separator: "\n") : text)
        }
        lastPrinted = text
        fflush(nil)
        if !untilDone || state == "done" || state == "failed" { return state != "failed" }
        try await Task.sleep(for: .milliseconds(tty ? 250 : 2000))
    }
}

/// How long a followed run may make no progress before `followRun` looks for missing daemons.
let idleHintAfter: Duration = .seconds(4)

/// What keeps a run from progressing, as hint lines: every queue with pending jobs that no live
/// worker serves, and a missing scheduler leader.
func idleHints(_ c: Cluster) async throws -> [String] {
    var out: [String] = []
    let alive = try await c.queue.workers().filter(\.alive)
    let served = Set(
        alive.flatMap { w in
            (w.fields["queues"] ?? "").split(separator: ",").map { String($0.prefix { $0 != ":" }) }
        })
    for (q, n) in try await c.queue.depths().sorted(by: { $0.key < $1.key }) where n > 0 && !served.contains(q) {
        let who = alive.isEmpty ? "none alive" : "\(alive.count) alive, none serving it"
        out.append("no worker is serving queue \(q) (exportctl workers shows \(who))")
    }
    if try await c.control.schedulerLeader() == nil {
        out.append("no scheduler leader (start export-scheduler: it serves the control queue and plans left runs)")
    }
    return out
}

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A run's stages (jobs done/total, time, rate, ETA), or the cluster's queues and runs.")

    @Argument(help: "The run id; without it, queue depths, counters and the latest runs.")
    var run: String?

    @Flag(help: "Keep showing progress until the run is done.")
    var watch = false

    @Flag(help: "JSON output.")
    var json = false

    func run() async throws {
        try await reporting {
            let c = try Cluster()
            if let run {
                let meta = try await c.requireRun(run)
                if json {
                    let st = try await stages(c, run: run, meta: meta)
                    let stagesJSON = st.map {
                        jsonObject([
                            ("stage", $0.name), ("state", $0.state), ("done", $0.done), ("total", $0.total),
                            ("seconds", $0.seconds.map { RawJSON(text: String(format: "%.3f", $0)) }),
                        ])
                    }
                    print(
                        jsonObject(
                            [("run_id", run), ("state", meta["state"]), ("error", meta["error"])]
                                + ["firms", "chunks", "rejected_rows", "dataset_digest"].map { ($0, meta[$0]) }
                                + [("stages", RawJSON(text: "[" + stagesJSON.joined(separator: ",") + "]"))]))
                    if meta["state"] == "failed" { throw Exit.runFailed.code }
                    return
                }
                if try await !followRun(c, run: run, untilDone: watch) { throw Exit.runFailed.code }
                return
            }
            let depths = try await c.queue.depths()
            var sizes = try await c.queue.setSizes()
            // The sets count only scheduled, dead, canceled and done jobs: pending ones are the
            // queues' lists, active ones what the workers hold.
            sizes[.pending] = depths.values.reduce(0, +)
            sizes[.active] = try await c.queue.workers().reduce(0) { $0 + $1.holding }
            let paused = try await c.queue.pausedQueues()
            let stats = try await c.queue.stats()
            let runs = try await c.control.runs()
            var latency: [String: Int64] = [:]
            for q in depths.keys { latency[q] = try await c.queue.oldestPendingAge(queue: q) }
            if json {
                let d = depths.keys.sorted().map { JSONText.quote($0) + ":" + "\(depths[$0]!)" }.joined(separator: ",")
                let l = depths.keys.sorted().map { JSONText.quote($0) + ":" + (latency[$0].map { "\($0)" } ?? "null") }
                    .joined(separator: ",")
                let s = JobListing.allCases.map { JSONText.quote($0.rawValue) + ":" + "\(sizes[$0] ?? 0)" }.joined(
                    separator: ",")
                let k = stats.keys.sorted().map { JSONText.quote($0) + ":" + "\(stats[$0]!)" }.joined(separator: ",")
                print(
                    "{\"namespace\":\(JSONText.quote(c.namespace)),\"pending\":{\(d)},\"oldest_pending_ms\":{\(l)},\"sets\":{\(s)},\"counters\":{\(k)},\"paused\":["
                        + paused.map(JSONText.quote).joined(separator: ",") + "],\"runs\":\(runs.count)}")
                return
            }
            print("namespace \(c.namespace)")
            print("queues: pending jobs, and the age of the oldest (queue latency)")
            for q in depths.keys.sorted() {
                let age = latency[q].map { String(format: "%.1f s", Double($0) / 1000) } ?? "-"
                print(
                    "  " + pad(q, 16) + lpad("\(depths[q]!)", 10) + lpad(age, 12)
                        + (paused.contains(q) ? "  PAUSED" : ""))
            }
            print("jobs: " + JobListing.allCases.map { "\($0.rawValue) \(sizes[$0] ?? 0)" }.joined(separator: ", "))
            print("counters: " + stats.keys.sorted().map { "\($0) \(stats[$0]!)" }.joined(separator: ", "))
            print("runs: \(runs.count)" + (runs.isEmpty ? "" : " (latest \(runs.suffix(3).joined(separator: ", ")))"))
        }
    }
}

struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a finished run's report.json, report.html and CSV tables into a directory.")

    @Argument(help: "The run id.")
    var run: String

    @Option(help: "Output directory (created if missing).")
    var out: String

    func run() async throws {
        try await reporting {
            let c = try Cluster()
            let meta = try await c.requireRun(run)
            let files = try await c.control.reportFiles(run)
            guard !files.isEmpty else {
                throw CLIError(
                    "run \(run) has no report yet (state \(meta["state"] ?? "unknown"))",
                    hint: "follow it with: exportctl status \(run) --watch")
            }
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            for name in files.keys.sorted() {
                let path = out + "/" + name
                guard FileManager.default.createFile(atPath: path, contents: Data(files[name]!)) else {
                    throw CLIError("cannot write \(path)", hint: "check the directory's permissions")
                }
            }
            print("wrote \(files.count) files to \(out): " + files.keys.sorted().joined(separator: ", "))
        }
    }
}

struct Runs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List runs, or purge a run's keys from Redis.", subcommands: [List.self, Purge.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every run with its state and size.")
        @Flag(help: "JSON output.") var json = false

        func run() async throws {
            try await reporting {
                let c = try Cluster()
                var rows: [String] = []
                if !json {
                    print(pad("run", 28) + pad("state", 11) + lpad("firms", 10) + lpad("rejected", 10) + "  digest")
                }
                for r in try await c.control.runs() {
                    let m = try await c.control.meta(r)
                    if json {
                        rows.append(
                            jsonObject(
                                [("run_id", r)]
                                    + [
                                        "state", "firms", "chunks", "rejected_rows", "dataset_digest", "created_ms",
                                        "finished_ms",
                                    ].map { ($0, m[$0]) }))
                    } else {
                        print(
                            pad(r, 28) + pad(m["state"] ?? "?", 11) + lpad(m["firms"] ?? "-", 10)
                                + lpad(m["rejected_rows"] ?? "-", 10) + "  "
                                + String((m["dataset_digest"] ?? "").prefix(16)))
                    }
                }
                if json { print("[" + rows.joined(separator: ",") + "]") }
            }
        }
    }

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete runs in any state: their jobs, results, report, monitoring and every key.",
            discussion: """
                A live run can be purged: a submit still storing it stops at its next chunk, its pending
                jobs are dropped, its running jobs are fenced (their results and writes are refused),
                and a submit --wait following it exits 3 saying it was purged. Afterwards nothing of
                the run is left and its id can be submitted again.
                """)
        @Argument(help: "Run ids; every known one is purged, and each unknown one reported (exit 3).")
        var runs: [String]

        func run() async throws {
            try await reporting {
                let c = try Cluster()
                var unknown: [String] = []
                for r in runs {
                    guard try await c.control.exists(r) else {
                        FileHandle.standardError.write(Data("error: no run \(r) in namespace \(c.namespace)\n".utf8))
                        unknown.append(r)
                        continue
                    }
                    let n = try await c.control.purge(r)
                    print("purged \(r): \(n) keys")
                }
                if !unknown.isEmpty {
                    throw CLIError(
                        "\(unknown.count) of \(runs.count) runs unknown: " + unknown.joined(separator: ", "),
                        hint: "list runs with: exportctl runs list; every known one was purged", exit: .runUnknown)
                }
            }
        }
    }
}

struct Monitor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Recompute a run's regional monitoring now (or print the latest snapshot).",
        discussion: """
            Starts an on-demand monitoring round for --period (default: the last period with export
            records, including those added with load-exports), waits for it, and prints each office's
            standing against its targets and, once the run's report exists, its supported firms
            followed beside comparable unsupported firms (supported_followup). The scheduler also does
            this every two weeks by itself.
            """)

    @Argument(help: "The run id.")
    var run: String

    @Option(help: "The two-week period, 1 to 26.")
    var period: Int?

    @Flag(help: "Print the latest stored snapshot without starting a round.")
    var show = false

    func validate() throws {
        if let period, !(1...ProgramConfiguration.periods).contains(period) {
            throw ValidationError("--period must be 1 to \(ProgramConfiguration.periods), not \(period)")
        }
    }

    func run() async throws {
        try await reporting {
            let c = try Cluster()
            let meta = try await c.requireRun(run)
            guard meta["chunks"] != nil, meta["state"] != "loading" else {
                throw CLIError("run \(run) is not stored yet (state \(meta["state"] ?? "unknown"))")
            }
            if show {
                let snaps = try await c.control.monitorSnapshots(run)
                guard let p = period.map({ $0 - 1 }) ?? snaps.keys.max(), let s = snaps[p] else {
                    throw CLIError(
                        "no monitoring snapshot for run \(run)", hint: "start one with: exportctl monitor \(run)")
                }
                print(String(decoding: s, as: UTF8.self), terminator: "")
                return
            }
            var p = 0
            if let period { p = period - 1 } else { p = try await c.control.lastPeriodWithRecords(run) }
            let round = try await c.control.startMonitoringRound(run, period: p)
            FileHandle.standardError.write(Data("monitoring round \(round) of period \(p + 1) started\n".utf8))
            let deadline = ContinuousClock.now + .seconds(120)
            while ContinuousClock.now < deadline {
                if let s = try await c.control.monitorSnapshot(run, period: p, round: round) {
                    print(String(decoding: s, as: UTF8.self), terminator: "")
                    return
                }
                try await Task.sleep(for: .milliseconds(200))
            }
            throw CLIError(
                "monitoring of period \(p + 1) did not finish within 120 s",
                hint: "are workers running? exportctl workers")
        }
    }
}

struct LoadExports: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load-exports",
        abstract: "Add a period's export records (exports.csv columns) to a run, for monitoring.",
        discussion: """
            Rows are validated like exports.csv (firm ids must be the run's firms, dates the start of a
            two-week period of the program year); rejected rows are printed with file, line and reason.
            The next monitoring round (periodic, or exportctl monitor) counts the accepted records.
            """)

    @Argument(help: "The run id.")
    var run: String

    @Argument(help: "The CSV file.")
    var file: String

    @Option(help: "Force the input encoding (utf-8 or cp949).")
    var encoding: String?

    func run() async throws {
        try await reporting {
            let c = try Cluster()
            _ = try await c.requireRun(run)
            guard FileManager.default.fileExists(atPath: file) else { throw CLIError("\(file): no such file") }
            var forced: TextEncoding?
            if let encoding {
                guard let e = TextEncoding(name: encoding) else {
                    throw CLIError("unknown encoding \(encoding)", hint: "use utf-8 or cp949")
                }
                forced = e
            }
            let t = try await c.control.tables(run)
            let chunks = Int(try await c.control.meta(run)["chunks"] ?? "0") ?? 0
            var ids: [BusinessNumber] = []
            for i in 0..<chunks {
                guard let b = try await c.control.bytes(c.control.keys(run).chunk(i)) else { continue }
                ids += try ChunkInput.decodeFirms(b, markets: t.markets.count).map(\.id)
            }
            var shown = 0
            let reader = DatasetReader(directory: ".", encoding: forced) { r in
                if shown < 20 { print(r.description) }
                shown += 1
            }
            var records: [ExportRecord] = []
            let report = reader.readExportsFile(
                file, firms: ids, configuration: t.configuration, markets: t.markets
            ) { records.append($0) }
            if let p = report.problem { throw CLIError("\(file): \(p)") }
            try await c.control.loadExports(run, records: records)
            print(
                "\(file): rows read \(report.rowsRead), accepted \(report.accepted), rejected \(report.rejected); "
                    + "\(records.count) records added to run \(run)")
        }
    }
}
