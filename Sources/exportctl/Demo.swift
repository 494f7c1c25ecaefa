import ArgumentParser
import ExportData
import ExportDomain
import ExportServices
import Foundation
import JobQueue
import ProcessSupport
import RedisClient

/// Processes the demo started, stopped on the way out whatever happens (also on Ctrl-C).
final class DemoProcesses: @unchecked Sendable {
    private let lock = NSLock()
    private var children: [ChildProcess] = []
    private var redis: LocalRedisServer?

    func add(_ c: ChildProcess) { lock.withLock { children.append(c) } }
    func setRedis(_ r: LocalRedisServer) { lock.withLock { redis = r } }

    func stopAll() {
        let (cs, r) = lock.withLock { () -> ([ChildProcess], LocalRedisServer?) in
            defer {
                children = []
                redis = nil
            }
            return (children, redis)
        }
        for c in cs { c.signal(SIGTERM) }
        for c in cs { c.stop(grace: 10) }
        r?.stop()
    }
}

/// The directory of the running executable (the other programs are built beside it).
func executableDirectory() -> String {
    var buf = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buf, buf.count - 1)
    guard n > 0 else { return "." }
    let path = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)])
}

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The whole pipeline on a generated nation: what ops/demo runs after installing and building.",
        discussion: """
            Starts a private redis-server on a free loopback port unless REDIS_URL is set, generates a
            nation, starts one export-scheduler and --workers export-worker processes, submits the
            dataset, shows progress, writes the report into --out and prints a summary. Everything it
            started is stopped on the way out, also on Ctrl-C. Logs are in <out>/logs.
            """)

    @Option(help: "Firms in the generated nation.") var firms = 100_000
    @Option(help: "Seed of the generated nation.") var seed: UInt64 = 2016
    @Option(help: "Worker processes.") var workers = 2
    @Option(help: "Output directory: dataset, logs and the report.") var out = "out"
    @Option(help: "Use this dataset directory instead of generating one.") var dataset: String?
    @Option(help: "Two-week periods of the generated nation with export records (1 to 26).")
    var recordedPeriods = 20

    func validate() throws {
        try checkCount(firms, "--firms", 1...100_000_000)
        try checkCount(recordedPeriods, "--recorded-periods", 1...26)
        try checkCount(workers, "--workers", 1...256)
    }

    func run() async throws {
        let procs = DemoProcesses()
        let signals = ShutdownSignals(onShutdown: { _ in
            FileHandle.standardError.write(Data("\ninterrupted: stopping everything the demo started\n".utf8))
            procs.stopAll()
            Glibc.exit(130)
        })
        defer {
            signals.cancel()
            procs.stopAll()
        }
        try await reporting {
            try FileManager.default.createDirectory(atPath: out + "/logs", withIntermediateDirectories: true)
            var env = ProcessInfo.processInfo.environment
            if env["REDIS_URL"] == nil {
                let r = try LocalRedisServer()
                procs.setRedis(r)
                env["REDIS_URL"] = r.url
                setenv("REDIS_URL", r.url, 1)
                print("started redis-server on 127.0.0.1:\(r.port) (private to this demo)")
            } else {
                print("using REDIS_URL from the environment")
            }
            let data = dataset ?? out + "/dataset"
            if dataset == nil {
                let t0 = monotonicSeconds()
                var g = NationGenerator(firms: firms, seed: seed, dirtyShare: 0.002)
                g.recordedPeriods = recordedPeriods
                let s = try g.write(to: data)
                print(
                    "generated \(s.firms) firms (\(s.exporters) exporting), \(s.companies) trading companies, "
                        + "\(s.institutions) institutions in \(data) (\(rounded(monotonicSeconds() - t0, 1)) s)")
            }
            let sched = try ChildProcess(
                executable: siblingExecutable("export-scheduler"), arguments: ["--log-level", "notice"],
                environment: env,
                stdoutPath: out + "/logs/scheduler.log", stderrPath: out + "/logs/scheduler.log")
            procs.add(sched)
            for i in 0..<workers {
                procs.add(
                    try ChildProcess(
                        executable: siblingExecutable("export-worker"), arguments: ["--log-level", "notice"],
                        environment: env,
                        stdoutPath: out + "/logs/worker-\(i + 1).log", stderrPath: out + "/logs/worker-\(i + 1).log"))
            }
            print("started 1 scheduler and \(workers) workers (logs in \(out)/logs)")

            let c = try Cluster()
            let run = "demo-\(seed)-\(firms)"
            if try await c.control.exists(run) { try await c.control.purge(run) }
            let t0 = monotonicSeconds()
            let s = try await Submission.store(
                directory: data, runID: run, encoding: nil, chunkSizeOverride: nil, redis: c.redisConfig,
                namespace: c.namespace, logger: c.logger)
            try await c.control.plan(run)
            print(
                "submitted run \(run): \(s.firms) firms in \(s.chunks) chunks; \(s.input.rejected) of "
                    + "\(s.input.rowsRead) rows rejected")
            guard try await followRun(c, run: run, untilDone: true) else {
                throw CLIError("the run failed", hint: "see exportctl dead list and \(out)/logs", exit: .runFailed)
            }
            let files = try await c.control.reportFiles(run)
            for (name, bytes) in files {
                guard FileManager.default.createFile(atPath: out + "/" + name, contents: Data(bytes)) else {
                    throw CLIError("cannot write \(out)/\(name)", hint: "check the directory's permissions")
                }
            }
            print("\nrun finished in \(rounded(monotonicSeconds() - t0, 1)) s")
            try summarize(files["report.json"] ?? [], out: out)
        }
    }

    func summarize(_ json: [UInt8], out: String) throws {
        guard let obj = try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any],
            let totals = obj["totals"] as? [String: Any], let markets = obj["markets"] as? [String: Any],
            let regions = obj["regions"] as? [[String: Any]]
        else { throw CLIError("the report could not be read back") }
        func n(_ v: Any?) -> String { v.map { "\($0)" } ?? "-" }
        print("National totals:")
        print(
            "  firms \(n(totals["firms"])); last year: exporting \(n(totals["exporting_firms"])), exports USD \(n(totals["export_usd_k"])) k (\(n(totals["last_year_goal_share"])) of the goal)"
        )
        print(
            "  this year through period \(n((obj["period_reached"] as? Int).map { $0 + 1 })) of 26: exporting \(n(totals["exporting_firms_to_date"])), exports USD \(n(totals["export_usd_k_to_date"])) k"
        )
        print(
            "  progress toward the national goal: \(n(totals["goal_progress"])) to date, \(n(totals["projected_goal_progress"])) projected to the year's end (USD \(n(totals["projected_export_usd_k"])) k)"
        )
        print(
            "  pool \(n(totals["pool_size"])), matched \(n(totals["matched"])), consortia \(n(totals["consortia"])), rejected rows \(n(totals["rejected_rows"]))"
        )
        print("  emerging share of matches \(n(markets["emerging_share_of_matches"])) (quota \(n(markets["quota"])))")
        print(
            "  pool served (matched or in a consortium) \(n(totals["pool_served"])) = \(n(totals["pool_served_share"])); "
                + "unplaced \(n(totals["unplaced"])) (reasons in unplaced.csv)")
        print(
            "  consortia \(n(totals["consortia"])): \(n(totals["consortium_pool_members"])) pool members, "
                + "\(n(totals["consortia_led_from_outside_the_pool"])) led from outside the pool, "
                + "\(n(totals["consortia_targeting_emerging"])) targeting emerging markets (\(n(totals["consortia_emerging_share"])))"
        )
        if let byIndustry = obj["consortia_by_industry"] as? [[String: Any]] {
            let without = byIndustry.filter {
                ($0["leaders_available"] as? Int ?? 0) > 0 && ($0["consortia"] as? Int) == 0
            }
            print(
                "  industries with a leader and no consortium: "
                    + (without.isEmpty ? "none" : without.map { n($0["industry"]) }.joined(separator: ", ")))
        }
        if let m = obj["matching"] as? [String: Any] {
            let seats = m["seats"] as? Int ?? 0
            let matched = m["matched"] as? Int ?? 0
            let pool = totals["pool_size"] as? Int ?? 0
            let base = max(1, min(seats, pool))
            print(
                "  matched \(matched) of min(seats \(seats), pool \(pool)) = \(rounded(Double(matched) * 100 / Double(base), 1))%; \(n(m["empty_seats"])) seats empty"
            )
            print(
                "  own lists: \(n(m["firms_with_own_lists"])) firms (applications.csv), \(n(m["desks_with_own_rankings"])) desks (desk_rankings.csv); the rest computed"
            )
            if let u = m["unfilled_reserves"] as? [String: Any] {
                print(
                    "  desks with a reserve not all emerging: \(n(u["no_applicants"])) without any applicant, \(n(u["too_few_emerging_offers"])) with too few emerging offers, \(n(u["unexplained"])) unexplained"
                )
            }
            if let t = m["quota_trade_off"] as? [[String: Any]] {
                print("  the quota's trade-off (same lists): rule, matched, emerging share, empty seats, median choice")
                for v in t {
                    print(
                        "    " + pad(n(v["rule"]), 10) + pad(n(v["matched"]), 8) + pad(n(v["emerging_share"]), 8)
                            + pad(n(v["empty_seats"]), 7) + n(v["median_choice"])
                            + ((v["configured"] as? Bool) == true ? "   (configured)" : ""))
                }
            }
        }
        if let routes = obj["channel_routes"] as? [String: Any], let store = obj["excellent_store"] as? [String: Any] {
            print(
                "Channels: routes "
                    + ChannelRecommendation.Route.allCases.map { "\($0.rawValue) \(n(routes[$0.rawValue]))" }
                    .joined(separator: ", ")
                    + "; pool firms without a channel \(n(obj["pool_firms_without_channel"]))")
            print(
                "  excellent-SME stores (\(n(store["places_per_mall"])) places each): "
                    + ExcellentStore.malls.map { "\($0.rawValue) \(n(store[$0.rawValue]))" }.joined(separator: ", ")
                    + " of \(n(store["consumer_pool_firms"])) consumer pool firms")
        }
        if let f = obj["supported_followup"] as? [String: Any], let nat = f["national"] as? [String: Any],
            let sup = nat["supported"] as? [String: Any], let cmp = nat["compared"] as? [String: Any],
            let exp = nat["expected_as_unsupported"] as? [String: Any],
            let none = nat["without_comparison"] as? [String: Any]
        {
            /// Projected exports over last year's, in percent.
            func pace(_ g: [String: Any]) -> String {
                guard let p = g["projected_export_usd_k"] as? Int, let l = g["export_usd_k_last_year"] as? Int, l > 0
                else { return "-" }
                return rounded(Double(p) * 100 / Double(l), 1) + "%"
            }
            print(
                "Supported firms followed: \(n(sup["firms"])) (matched \(n(totals["matched"])), consortium members \(n(totals["consortium_members"]))); exports to date USD \(n(sup["export_usd_k_to_date"])) k against USD \(n(sup["export_usd_k_last_year"])) k last year, on pace for \(pace(sup)) of last year"
            )
            print(
                "  against unsupported firms of their office, industry and tier: \(n(cmp["firms"])) compared firms on pace for \(pace(cmp)), \(pace(exp)) had they fared like those firms (to date USD \(n(cmp["export_usd_k_to_date"])) k, expected USD \(n(exp["export_usd_k_to_date"])) k); \(n(none["supported_firms"])) firms in \(n(none["cells"])) cells without comparison"
            )
        }
        summarizeMidsize(obj)
        let behind = regions.filter { ($0["behind_pace"] as? Bool) == true }
        print("Attainment: \(regions.count - behind.count) of \(regions.count) offices on pace")
        for r in regions {
            let on = (r["behind_on"] as? [String]) ?? []
            print(
                "  " + pad(n(r["region"]), 18)
                    + "exporting firms to date \(n(r["exporting_firms_to_date"])) / target \(n(r["target_exporting_firms"])), "
                    + "average USD \(n(r["avg_export_usd_k"])) k / target \(n(r["target_avg_export_usd_k"]))"
                    + (on.isEmpty ? "" : "   BEHIND on " + on.joined(separator: " and ")))
        }
        let abs = URL(fileURLWithPath: out).standardizedFileURL.path
        print("Report: \(abs)/report.html")
        print("        \(abs)/report.json (and CSV tables beside it)")
    }
}
