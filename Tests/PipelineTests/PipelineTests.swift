import ExportData
import ExportDomain
import ExportServices
import Foundation
import JobQueue
import ProcessSupport
import RedisClient
import TestSupport
import Testing

/// End to end with the real programs on a real redis-server: the report is the same bytes
/// whatever the worker count, the chunking, and the processes killed along the way; every
/// figure reconciles; rejections are exactly the generator's manifest; monitoring fires once
/// per period however many schedulers run.
@Suite("Pipeline, end to end", .serialized)
struct PipelineTests {
    static let firms = 6_000
    static let seed: UInt64 = 77

    @Test func reportIsIdenticalForAnyWorkerCountAndChunking() async throws {
        let f = try PipelineFixture()
        let data = try f.dataset(firms: Self.firms, seed: Self.seed)
        var reports: [(String, [String: [UInt8]])] = []
        for (workers, chunk) in [(1, 1_000), (2, 1_000), (4, 250), (2, 4_000)] {
            // Each configuration in a namespace of its own, under the same run id.
            let g = try PipelineFixture()
            let files = try await g.cleanRun(data, run: "same-run", workers: workers, chunkSize: chunk)
            reports.append(("\(workers) workers, chunk \(chunk)", files))
        }
        let first = reports[0].1
        #expect(first["report.json"] != nil)
        #expect(Set(first.keys) == Set(["report.json", "report.html"] + ReportFiles.tables))
        for (label, files) in reports.dropFirst() {
            for name in first.keys.sorted() {
                let same = files[name] == first[name]
                #expect(same, "\(name) differs with \(label)")
            }
        }
        try reconcile(first["report.json"]!, data: data)
        try midsizeTracksReachTheirOutcomes(first["report.json"]!)
    }

    @Test func killedWorkersAndSchedulerChangeNothing() async throws {
        let f = try PipelineFixture()
        let data = try f.dataset(firms: Self.firms, seed: Self.seed)
        let clean = try await PipelineFixture().cleanRun(data, run: "r1", workers: 2, chunkSize: 500)

        // Workers serve only the work queues, so the control jobs (pool, collector) need the
        // schedulers: killing the leading one mid-run must not stall or change anything.
        try f.scheduler("s1")
        try f.worker("a", concurrency: 1, queues: "ecosystem,evaluate")
        try f.worker("b", concurrency: 1, queues: "ecosystem,evaluate")
        try await f.submit(data, run: "r1", chunkSize: 100)
        let evaluate = RunJobs.evaluateGroup("r1")
        try await eventually("evaluation under way", timeout: .seconds(60), every: .milliseconds(5)) {
            (try await f.group(evaluate)?.done ?? 0) >= 3
        }
        f.kill("a")
        try f.worker("c", concurrency: 1, queues: "ecosystem,evaluate")
        try await eventually("evaluation half done", timeout: .seconds(60), every: .milliseconds(5)) {
            (try await f.group(evaluate)?.done ?? 0) >= 25
        }
        f.kill("s1")
        try f.scheduler("s2")
        let ecosystem = RunJobs.ecosystemGroup("r1")
        try await eventually("ecosystem stage under way", timeout: .seconds(120), every: .milliseconds(5)) {
            (try await f.group(ecosystem)?.done ?? 0) >= 1
        }
        f.kill("b")
        try f.worker("d", concurrency: 2, queues: "ecosystem,evaluate")
        try await f.waitDone("r1")
        f.stopAll()
        let files = try await f.report("r1")
        for name in clean.keys.sorted() {
            let same = files[name] == clean[name]
            #expect(same, "\(name) differs after the kills")
        }
        let stats = try await f.control.queue.stats()
        #expect((stats["dead"] ?? 0) == 0)
    }

    @Test func redisRestartsInTheMiddleOfStagesChangeNothing() async throws {
        let clean = try PipelineFixture()
        let data = try clean.dataset(firms: Self.firms, seed: Self.seed)
        let expected = try await clean.cleanRun(data, run: "restarts", workers: 2, chunkSize: 500)

        let server = try RedisServerProcess(arguments: ["--appendonly", "yes", "--appendfsync", "everysec"])
        let f = try PipelineFixture(redisURL: server.url)
        try f.scheduler("s")
        try f.worker("a", concurrency: 1)
        try f.worker("b", concurrency: 1)
        defer { f.stopAll() }
        try await f.submit(data, run: "restarts", chunkSize: 100)
        func restart(when stage: String, _ reached: @escaping () async throws -> Bool) async throws {
            try await eventually(stage, timeout: .seconds(120), every: .milliseconds(5)) { try await reached() }
            server.stop()  // SIGTERM: Redis flushes its append-only file and exits
            try await Task.sleep(for: .milliseconds(700))
            try server.start()
        }
        try await restart(when: "evaluation under way") {
            ((try? await f.group(RunJobs.evaluateGroup("restarts")))??.done ?? 0) >= 5
        }
        try await restart(when: "ecosystem stage under way") {
            ((try? await f.group(RunJobs.ecosystemGroup("restarts")))??.done ?? 0) >= 1
        }
        try await f.waitDone("restarts")
        f.stopAll()
        let files = try await f.report("restarts")
        for name in expected.keys.sorted() {
            let same = files[name] == expected[name]
            #expect(same, "\(name) differs after Redis restarts")
        }
        // Each program logs an outage when it starts and when it ends, once per connection, not
        // once per failed command.
        for name in ["s", "a", "b"] {
            let log = (try? String(contentsOfFile: f.dir + "/\(name).log", encoding: .utf8)) ?? ""
            let lines = log.split(separator: "\n")
            // The outage's first line, per connection (a program holds two or three).
            let lost = lines.filter { $0.contains("redis connection lost; reconnecting") }.count
            #expect(lost >= 1 && lost <= 2 * 4, "\(name) logged \(lost) outage lines")
            // And no flood of anything else while Redis was away.
            #expect(lines.count <= 40, "\(name) wrote \(lines.count) log lines for two outages")
        }
        server.kill()
    }

    @Test func aFailedRunResumesWhenItsDeadJobIsRequeued() async throws {
        let f = try PipelineFixture()
        let data = try f.dataset(firms: 2_000, seed: 15)
        let clean = try await PipelineFixture().cleanRun(data, run: "resumed", workers: 1)
        // The run is stored and planned with no worker yet; then one chunk is damaged.
        try await f.submit(data, run: "resumed", chunkSize: 500)
        let chunk = f.control.keys("resumed").chunk(0)
        let good = try #require(try await f.control.bytes(chunk))
        _ = try await f.redis.send(RedisCommand("SET", [.string(chunk), "damaged"]))
        try f.scheduler("s")
        try f.worker("w")
        defer { f.stopAll() }
        try await eventually("the run failed", timeout: .seconds(60), every: .milliseconds(100)) {
            (try? await f.control.meta("resumed"))?["state"] == "failed"
        }
        let dead = try await f.exportctl(["dead", "list", "--json"])
        #expect(dead.output.contains("resumed:evaluate:0") && dead.output.contains("chunk 0"), "\(dead.output)")
        // The operator repairs the cause and requeues: the run goes on to the same report.
        var put = RedisCommand("SET", [.string(chunk)])
        put.append(bytes: good)
        _ = try await f.redis.send(put)
        let requeue = try await f.exportctl(["dead", "requeue", "--all"])
        #expect(requeue.status == 0 && requeue.output.contains("requeued 1"), "\(requeue.output)")
        // (The run reads "failed" until the collector finishes.)
        try await eventually("the resumed run done", timeout: .seconds(60), every: .milliseconds(100)) {
            (try? await f.control.meta("resumed"))?["state"] == "done"
        }
        let meta = try await f.control.meta("resumed")
        #expect(meta["error"] == nil, "a resumed run keeps its old error")
        let files = try await f.report("resumed")
        let same = files["report.json"] == clean["report.json"]
        #expect(same, "the resumed run's report differs from a clean run's")
    }

    @Test func dirtyDatasetRejectionsAreExactlyTheManifest() async throws {
        let f = try PipelineFixture()
        let data = try f.dataset(firms: 3_000, seed: 5, dirty: 0.03)
        // A tenth of its rows are rejected (cascades included): more than submit takes unless forced.
        let files = try await f.cleanRun(data, run: "dirty", workers: 2, submitArguments: ["--force"])
        let report = try JSONSerialization.jsonObject(with: Data(files["report.json"]!)) as! [String: Any]
        let rejections = report["rejections"] as! [[String: Any]]
        let got = Set(rejections.map { "\($0["file"]!):\($0["line"]!)" })
        let manifest = String(
            decoding: try Data(contentsOf: URL(fileURLWithPath: data + "/dirty_manifest.csv")), as: UTF8.self)
        let expected = Set(
            manifest.split(separator: "\n").dropFirst().map { line -> String in
                let parts = line.split(separator: ",", omittingEmptySubsequences: false)
                return "\(parts[0]):\(parts[1])"
            })
        #expect(!expected.isEmpty)
        #expect(got == expected)
        #expect(rejections.count == got.count, "a row rejected twice")
        let totals = report["totals"] as! [String: Any]
        #expect(totals["rejected_rows"] as? Int == rejections.count)
        for file in report["files"] as! [[String: Any]] {
            #expect((file["accepted"] as! Int) + (file["rejected"] as! Int) == file["rows_read"] as! Int)
        }
        let csv = String(decoding: files["rejections.csv"]!, as: UTF8.self)
        #expect(csv.split(separator: "\n").count == rejections.count + 1)
        try reconcile(files["report.json"]!, data: data)
    }

    /// Firms named like spreadsheet formulas go through a whole run; in every CSV the report
    /// writes, read back by Python's csv module, each such name is neutralised with a leading
    /// quote and otherwise unchanged, and the numbers beside it stay numbers.
    @Test func formulaLikeFirmNamesComeOutNeutralisedInEveryTable() async throws {
        let f = try PipelineFixture()
        let data = try f.dataset(firms: 2_000, seed: 13)
        let hostile = ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1)", "=한글, \"따옴표\""]
        // Every firm gets one of the names, numbered, so the pool and the matches hold many.
        _ = try TestPython.run(
            """
            import csv, sys, json
            path, names = sys.argv[1], json.loads(sys.argv[2])
            with open(path, newline='', encoding='utf-8') as fh:
                rows = list(csv.reader(fh))
            for i, row in enumerate(rows[1:]):
                row[1] = names[i % len(names)] + ' ' + str(i)
            with open(path, 'w', newline='', encoding='utf-8') as fh:
                csv.writer(fh, lineterminator='\\n').writerows(rows)
            """, arguments: [data + "/firms.csv", String(decoding: try JSONEncoder().encode(hostile), as: UTF8.self)])
        let files = try await f.cleanRun(data, run: "formulas", workers: 1)
        let csvs = files.keys.filter { $0.hasSuffix(".csv") }.sorted()
        #expect(csvs.contains("pool.csv"))
        let dir = f.dir + "/formulas-out"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for name in csvs { try Data(files[name]!).write(to: URL(fileURLWithPath: dir + "/" + name)) }
        // For each file: cells that start like a formula (none may), and names seen neutralised.
        let verdict = try TestPython.run(
            """
            import csv, sys, json, os
            d, names = sys.argv[1], json.loads(sys.argv[2])
            out = {}
            for name in sorted(os.listdir(d)):
                with open(os.path.join(d, name), newline='', encoding='utf-8-sig') as fh:
                    rows = list(csv.reader(fh))
                bad = [c for r in rows for c in r if c[:1] in ('=', '+', '@', '\\t', '\\r')
                       or (c[:1] == '-' and not c.lstrip('-').replace('.', '', 1).isdigit())]
                quoted = sum(1 for r in rows for c in r
                             if c.startswith("'") and any(c[1:].startswith(n + ' ') for n in names))
                out[name] = [len(bad), quoted]
            print(json.dumps(out))
            """, arguments: [dir, String(decoding: try JSONEncoder().encode(hostile), as: UTF8.self)])
        let counts = try JSONSerialization.jsonObject(with: Data(verdict.utf8)) as! [String: [Int]]
        for (name, c) in counts { #expect(c[0] == 0, "\(name): \(c[0]) cells a spreadsheet would run") }
        // The pool lists names: every one of them is one of the hostile names, neutralised.
        let poolRows = String(decoding: files["pool.csv"]!, as: UTF8.self).split(separator: "\n").count - 1
        #expect(counts["pool.csv"]?[1] == poolRows)
        #expect(poolRows > 0)
    }

    @Test func periodicMonitoringFiresOncePerPeriodWithTwoSchedulers() async throws {
        let f = try PipelineFixture()
        let data = try f.dataset(firms: 2_000, seed: 9)
        // A simulated clock from the program's start, one two-week period every 2.5 s.
        let speed = "\(14 * 86_400 / 2.5)"
        for s in ["m1", "m2"] { try f.scheduler(s, ["--clock-start", "2016-01-04", "--clock-speed", speed]) }
        try f.worker("w", concurrency: 2)
        try await f.submit(data, run: "mon")
        try await f.waitDone("mon")
        let keys = f.control.keys("mon")
        try await eventually("three monitored periods", timeout: .seconds(60), every: .milliseconds(100)) {
            try await f.control.monitorSnapshots("mon").count >= 3
        }
        f.stopAll()
        let meta = try await f.control.meta("mon")
        let snapshots = try await f.control.monitorSnapshots("mon")
        let runs = try await f.redis.send(RedisCommand("HGETALL", [.string(keys.monitorRuns)])).array!
        var perPeriod: [Int: Int] = [:]
        var i = 0
        while i + 1 < runs.count {
            perPeriod[Int(runs[i].string!)!] = Int(runs[i + 1].string!)!
            i += 2
        }
        #expect(Int(meta["monitor_rounds_started"] ?? "0") == snapshots.count)
        #expect(Set(perPeriod.keys) == Set(snapshots.keys))
        for (p, n) in perPeriod { #expect(n == 1, "period \(p + 1) monitored \(n) times") }
        // Consecutive periods: none skipped between the first and the last.
        let ps = snapshots.keys.sorted()
        #expect(ps.last! - ps.first! + 1 == ps.count)

        // Each snapshot agrees with the report's per-period figures.
        let report =
            try JSONSerialization.jsonObject(with: Data(try await f.report("mon")["report.json"]!)) as! [String: Any]
        let regions = report["regions"] as! [[String: Any]]
        for (p, bytes) in snapshots {
            let snap = try JSONSerialization.jsonObject(with: Data(bytes)) as! [String: Any]
            for (r, s) in zip(regions, snap["regions"] as! [[String: Any]]) {
                #expect(r["region"] as! String == s["region"] as! String)
                let periods = r["periods"] as! [[String: Any]]
                guard p < periods.count else { continue }
                #expect(periods[p]["exporting_firms_to_date"] as! Int == s["exporting_firms_to_date"] as! Int)
                #expect(periods[p]["export_usd_k_to_date"] as! Int == s["export_usd_k_to_date"] as! Int)
            }
        }
    }

    @Test func loadedExportsReachOnDemandMonitoring() async throws {
        let f = try PipelineFixture()
        let data = try f.dataset(firms: 2_000, seed: 10)
        _ = try await f.cleanRun(data, run: "load", workers: 1)
        try f.worker("w", concurrency: 2)
        try f.scheduler("s")
        defer { f.stopAll() }
        let before = try await f.exportctl(["monitor", "load", "--period", "5"])
        #expect(before.status == 0, "\(before.output)")
        // One firm of the run exports USD 777k in period 5; one row names an unknown firm.
        let firmsCSV = try String(contentsOfFile: data + "/firms.csv", encoding: .utf8)
        let firstFirm = firmsCSV.split(separator: "\n")[1].split(separator: ",")[0]
        let period5 = ProgramConfiguration().start(ofPeriod: 4)
        let file = f.dir + "/period5.csv"
        try "firm_id,period_start,market,export_usd_k\n\(firstFirm),\(period5),US,777\n000-00-00000,\(period5),US,5\n"
            .write(toFile: file, atomically: true, encoding: .utf8)
        let load = try await f.exportctl(["load-exports", "load", file])
        #expect(load.status == 0, "\(load.output)")
        #expect(load.output.contains("rows read 2, accepted 1, rejected 1"), "\(load.output)")
        #expect(load.output.contains("period5.csv:3"), "\(load.output)")
        let after = try await f.exportctl(["monitor", "load", "--period", "5"])
        #expect(after.status == 0, "\(after.output)")
        func total(_ text: String) throws -> Int {
            let json = text[text.firstIndex(of: "{")!...]
            let snap = try JSONSerialization.jsonObject(with: Data(json.utf8)) as! [String: Any]
            return (snap["regions"] as! [[String: Any]]).reduce(0) { $0 + ($1["export_usd_k_to_date"] as! Int) }
        }
        #expect(try total(after.output) == total(before.output) + 777)
    }

    /// A monitoring round before the report says the supported firms are not known yet; once the
    /// report exists, a round at the report's period follows them to the same figures the
    /// collector computed (two paths: the candidates' own figures, and each chunk's cells split
    /// by the stored ids), and an earlier round follows the same firms with less to date.
    @Test func supportedFirmsAreFollowedInTheReportAndInLaterRounds() async throws {
        let f = try PipelineFixture()
        let data = try f.dataset(firms: 2_500, seed: 16)
        // One seat per desk, and one firm in five MIDSIZE (a consortium's leader), so that unmatched
        // pool firms form consortia: both kinds of support are followed.
        _ = try TestPython.run(
            """
            import csv, sys
            def edit(path, change):
                with open(path, newline='', encoding='utf-8') as fh:
                    rows = list(csv.reader(fh))
                for i, row in enumerate(rows[1:]):
                    change(rows[0], i, row)
                with open(path, 'w', newline='', encoding='utf-8') as fh:
                    csv.writer(fh, lineterminator='\\n').writerows(rows)
            def one_seat(header, i, row):
                c = header.index('desks')
                row[c] = ';'.join(d.split(':')[0] + ':1' for d in row[c].split(';'))
            def midsize(header, i, row):
                if i % 5 == 0: row[header.index('size_class')] = 'MIDSIZE'
            edit(sys.argv[1] + '/trading_companies.csv', one_seat)
            edit(sys.argv[1] + '/firms.csv', midsize)
            """, arguments: [data])
        let pause = try await f.exportctl(["pause", "ecosystem"])
        #expect(pause.status == 0, "\(pause.output)")
        try f.scheduler("s")
        try f.worker("w", concurrency: 2)
        defer { f.stopAll() }
        try await f.submit(data, run: "follow")
        try await eventually("the national pool built", timeout: .seconds(120), every: .milliseconds(100)) {
            (try? await f.control.meta("follow"))?["pool_done_ms"] != nil
        }
        func snapshot(_ text: String) throws -> [String: Any] {
            let start = try #require(text.firstIndex(of: "{"), "no snapshot in: \(text)")
            return try JSONSerialization.jsonObject(with: Data(text[start...].utf8)) as! [String: Any]
        }
        let early = try await f.exportctl(["monitor", "follow", "--period", "5"])
        #expect(early.status == 0, "\(early.output)")
        let pending = try snapshot(early.output)["supported_followup"] as! [String: Any]
        #expect(pending["supported_firms_known"] as? Bool == false)
        #expect(pending["national"] == nil && pending["regions"] == nil)
        #expect(try await f.control.bytes(f.control.keys("follow").supportedFirms) == nil)

        let resume = try await f.exportctl(["resume"])
        #expect(resume.status == 0, "\(resume.output)")
        try await f.waitDone("follow")
        let files = try await f.report("follow")
        try reconcile(files["report.json"]!, data: data)
        let report = try JSONSerialization.jsonObject(with: Data(files["report.json"]!)) as! [String: Any]
        let followUp = report["supported_followup"] as! [String: Any]
        // The stored ids are the report's supported firms.
        let stored = try #require(try await f.control.bytes(f.control.keys("follow").supportedFirms))
        var named = Set((report["matches"] as! [[String: Any]]).map { $0["firm_id"] as! String })
        for k in report["consortia"] as! [[String: Any]] { named.formUnion(k["members"] as! [String]) }
        #expect((report["totals"] as! [String: Any])["consortia"] as! Int > 0, "no consortium to follow")
        #expect(!(report["matches"] as! [[String: Any]]).isEmpty, "no match to follow")
        let ids = try SupportedFirms.decode(stored)
        #expect(Set(ids.map(\.description)) == named && ids.count == named.count)
        #expect(
            ((followUp["national"] as! [String: Any])["supported"] as! [String: Any])["firms"] as? Int == named.count)

        // A round at the report's period: the same follow-up, field for field.
        let reached = report["period_reached"] as! Int
        let atReport = try await f.exportctl(["monitor", "follow", "--period", "\(reached + 1)"])
        #expect(atReport.status == 0, "\(atReport.output)")
        let monitored = try snapshot(atReport.output)["supported_followup"] as! [String: Any]
        #expect(monitored["supported_firms_known"] as? Bool == true)
        #expect(NSDictionary(dictionary: monitored) == NSDictionary(dictionary: followUp))
        // An earlier period: the same firms, last year's figures unchanged, no more to date.
        let earlier = try await f.exportctl(["monitor", "follow", "--period", "3"])
        #expect(earlier.status == 0, "\(earlier.output)")
        let then = try snapshot(earlier.output)["supported_followup"] as! [String: Any]
        func national(_ x: [String: Any], _ group: String, _ key: String) -> Int? {
            ((x["national"] as? [String: Any])?[group] as? [String: Any])?[key] as? Int
        }
        #expect(national(then, "supported", "firms") == named.count)
        #expect(
            national(then, "supported", "export_usd_k_last_year")
                == national(followUp, "supported", "export_usd_k_last_year"))
        #expect(national(then, "unsupported", "firms") == national(followUp, "unsupported", "firms"))
        let thenToDate = try #require(national(then, "supported", "export_usd_k_to_date"))
        let endToDate = try #require(national(followUp, "supported", "export_usd_k_to_date"))
        #expect(thenToDate <= endToDate)
        #expect(reached <= 2 || thenToDate < endToDate, "records after period 3 added nothing")
        // The CSV's national line is the JSON's.
        let csv = String(decoding: files["supported_followup.csv"]!, as: UTF8.self).split(separator: "\n")
        #expect(csv.count == 1 + 12 + 1)
        let last = csv.last!.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        #expect(last.first == "NATIONAL")
        #expect(Int(last[1]) == named.count)
        #expect(Int(last[4]) == endToDate)
        #expect(Int(last[13]) == national(followUp, "expected_as_unsupported", "export_usd_k_to_date"))
        let html = String(decoding: files["report.html"]!, as: UTF8.self)
        #expect(html.contains("<h2>Supported firms followed</h2>"))
    }

    @Test func pausedQueuesHoldTheRunUntilResumed() async throws {
        let f = try PipelineFixture()
        let data = try f.dataset(firms: 1_500, seed: 12)
        let pause = try await f.exportctl(["pause", "evaluate"])
        #expect(pause.status == 0 && pause.output.contains("paused: evaluate"), "\(pause.output)")
        try f.scheduler("s")
        try f.worker("w")
        defer { f.stopAll() }
        try await f.submit(data, run: "held")
        try await Task.sleep(for: .seconds(1.5))
        #expect(try await f.group(RunJobs.evaluateGroup("held"))?.done == 0, "a paused queue's job ran")
        let workers = try await f.exportctl(["workers", "--json"])
        let list = try JSONSerialization.jsonObject(with: Data(workers.output.utf8)) as! [[String: Any]]
        #expect(list.contains { $0["alive"] as? Bool == true })
        let resume = try await f.exportctl(["resume"])
        #expect(resume.status == 0, "\(resume.output)")
        try await f.waitDone("held")
        let status = try await f.exportctl(["status", "held", "--json"])
        let s = try JSONSerialization.jsonObject(with: Data(status.output.utf8)) as! [String: Any]
        #expect(s["state"] as? String == "done")
        let stages = s["stages"] as! [[String: Any]]
        #expect(stages.map { $0["stage"] as! String } == ["load", "evaluate", "pool", "ecosystems", "collect"])
        #expect(stages.allSatisfy { $0["state"] as? String == "done" && $0["done"] as? Int == $0["total"] as? Int })
        let dead = try await f.exportctl(["dead", "list", "--json"])
        #expect(dead.status == 0 && dead.output.hasPrefix("[]"), "\(dead.output)")
    }

    @Test func hostilePayloadsGoToTheDeadSetWithAReason() async throws {
        let f = try PipelineFixture()
        let queue = f.control.queue
        var huge = BinaryWriter()
        huge.envelope(kind: 22, version: 1)
        huge.string("r")
        huge.varint(UInt64.max >> 2)
        var badVersion = JobRef(run: "r", index: 0).encoded()
        badVersion[3] = 99
        let jobs: [(String, String, [UInt8], String)] = [
            (
                "garbage", RunJobs.evaluateKind, (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 7919) },
                "malformed payload"
            ),
            ("oversized", RunJobs.evaluateKind, [UInt8](repeating: 1, count: 8 << 20), "larger than"),
            ("version", RunJobs.evaluateKind, badVersion, "version 99"),
            ("huge-count", RunJobs.ecosystemKind, huge.bytes, "malformed payload"),
            ("no-run", RunJobs.evaluateKind, JobRef(run: "never-stored", index: 0).encoded(), "no stored tables"),
            ("pool-no-run", RunJobs.poolKind, JobRef(run: "never-stored", index: 0).encoded(), "no stored tables"),
        ]
        for (id, kind, payload, _) in jobs {
            let q = kind == RunJobs.poolKind ? RunJobs.controlQueue : RunJobs.evaluateQueue
            _ = try await queue.enqueue(JobSpec(id: id, queue: q, kind: kind, payload: payload, maxAttempts: 3))
        }
        try f.worker("w", concurrency: 2, queues: "control,evaluate")
        defer { f.stopAll() }
        try await eventually("every hostile job dead", timeout: .seconds(30), every: .milliseconds(100)) {
            try await queue.list(.dead, limit: 100).count == jobs.count
        }
        for (id, _, _, reason) in jobs {
            let info = try await queue.job(id)
            #expect(info?.state == "dead", "\(id)")
            #expect(info?.attempts == 1, "\(id) was retried: a malformed payload never gets better")
            #expect(info?.lastError?.contains(reason) == true, "\(id): \(info?.lastError ?? "no error")")
        }
        // The worker lived through all of it.
        try await eventually("the worker still alive", timeout: .seconds(5)) {
            try await queue.workers().contains { $0.alive }
        }
    }

    @Test func metricsEndpointAndJSONLogs() async throws {
        let f = try PipelineFixture()
        let data = try f.dataset(firms: 1_500, seed: 14)
        let port = try freePort()
        try f.start(
            "mw", "export-worker",
            ["--concurrency", "2", "--log-format", "json", "--log-level", "info", "--metrics-port", "\(port)"])
        try f.scheduler("s")
        defer { f.stopAll() }
        try await f.submit(data, run: "metered")
        try await f.waitDone("metered")
        var scrape: (status: String, body: String) = ("", "")
        try await eventually("the metrics endpoint answers", timeout: .seconds(10)) {
            scrape = (try? httpGet(port: port, path: "/metrics")) ?? ("", "")
            return scrape.status.contains("200")
        }
        // Every sample line is `name{labels} value` with a number; every family has HELP and TYPE.
        var samples: [String: Double] = [:]
        var typed = Set<String>()
        for line in scrape.body.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") { typed.insert(String(line.split(separator: " ")[2])) }
            if line.hasPrefix("#") { continue }
            let parts = line.split(separator: " ")
            #expect(parts.count == 2, "malformed sample: \(line)")
            let value = Double(parts.last!)
            #expect(value != nil, "not a number: \(line)")
            samples[String(parts[0])] = value ?? .nan
            let family = String(parts[0].prefix { $0 != "{" })
            #expect(typed.contains(family), "\(family) has no TYPE line")
        }
        #expect(samples["exportgrid_redis_up"] == 1)
        #expect((samples["exportgrid_process_resident_memory_bytes"] ?? 0) > 1_000_000)
        #expect(samples["exportgrid_queue_pending{scope=\"cluster\",queue=\"evaluate\"}"] == 0)
        #expect((samples["exportgrid_cluster_jobs_total{scope=\"cluster\",outcome=\"processed\"}"] ?? 0) >= 1)
        #expect(
            samples.keys.contains {
                $0.hasPrefix("exportgrid_run_stage_seconds{scope=\"cluster\",run=\"metered\",stage=\"evaluate\"}")
            })
        #expect(samples.keys.contains { $0.hasPrefix("exportgrid_worker_jobs_total{") })
        #expect(try httpGet(port: port, path: "/nothing").status.contains("404"))

        // Each log line of the worker is one JSON object with the run and job ids.
        let log = String(decoding: try Data(contentsOf: URL(fileURLWithPath: f.dir + "/mw.log")), as: UTF8.self)
        var evaluated = 0
        for line in log.split(separator: "\n") {
            let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(obj?["ts"] != nil && obj?["level"] != nil && obj?["msg"] != nil, "\(line)")
            if obj?["msg"] as? String == "evaluated chunk" {
                evaluated += 1
                #expect(obj?["run"] as? String == "metered")
                #expect((obj?["job"] as? String)?.hasPrefix("metered:evaluate:") == true)
            }
        }
        #expect(evaluated >= 1)
    }

    @Test func cliErrorsAreOneLineWithAHint() async throws {
        let f = try PipelineFixture()
        let r = try await f.exportctl(["report", "no-such-run", "--out", f.dir + "/x"])
        #expect(r.status == 3)  // no such run (see Exit in exportctl)
        #expect(r.output.contains("error: no run no-such-run"))
        #expect(r.output.contains("hint: "))
        let s = try await f.exportctl(["submit", f.dir + "/missing-dataset", "--run-id", "m"])
        #expect(s.status == 1)
        #expect(s.output.contains("no such directory"), "\(s.output)")
        #expect(s.output.contains("hint: "))
        #expect(try await f.keyCount() == 0, "a submit that stored nothing left keys behind")
    }

    /// The supported firms' follow-up: the offices add up to the national line (its projections
    /// are the national figures projected), the supported firms are the matched firms and the
    /// consortium members, and supported plus unsupported firms are every firm.
    func reconcileFollowUp(_ r: [String: Any], supported: Set<String>) throws {
        let totals = r["totals"] as! [String: Any]
        let f = r["supported_followup"] as! [String: Any]
        #expect(f["supported_firms_known"] as? Bool == true)
        let national = f["national"] as! [String: [String: Any]]
        let rows = f["regions"] as! [[String: Any]]
        #expect(
            rows.map { $0["region"] as! String } == (r["regions"] as! [[String: Any]]).map { $0["region"] as! String })
        let reached = r["period_reached"] as! Int
        for (group, figures) in national {
            for (key, value) in figures {
                if key == "projected_export_usd_k" {
                    let toDate = figures["export_usd_k_to_date"] as! Int
                    #expect(
                        value as? Int == (reached < 0 ? nil : (2 * toDate * 26 + reached + 1) / (2 * (reached + 1))),
                        "national \(group) projection")
                    continue
                }
                let sum = rows.reduce(0) { $0 + (($1[group] as! [String: Any])[key] as! Int) }
                #expect(sum == value as? Int, "offices' \(group).\(key)")
            }
        }
        func n(_ group: String, _ key: String) -> Int { national[group]![key] as! Int }
        #expect(n("supported", "firms") == supported.count)
        #expect(n("supported", "firms") == (totals["matched"] as! Int) + (totals["consortium_members"] as! Int))
        #expect(n("supported", "firms") + n("unsupported", "firms") == totals["firms"] as! Int)
        #expect(
            n("supported", "export_usd_k_last_year") + n("unsupported", "export_usd_k_last_year")
                == totals["export_usd_k"] as! Int)
        #expect(
            n("supported", "export_usd_k_to_date") + n("unsupported", "export_usd_k_to_date")
                == totals["export_usd_k_to_date"] as! Int)
        #expect(
            n("supported", "exporting_firms_to_date") + n("unsupported", "exporting_firms_to_date")
                == totals["exporting_firms_to_date"] as! Int)
        #expect(n("compared", "firms") + n("without_comparison", "supported_firms") == n("supported", "firms"))
        #expect(n("supported", "firms") > 0, "nobody supported: the follow-up shows nothing")
    }

    /// Every figure of a report reconciles with the others and with the dataset.
    func reconcile(_ json: [UInt8], data: String) throws {
        let r = try JSONSerialization.jsonObject(with: Data(json)) as! [String: Any]
        let totals = r["totals"] as! [String: Any]
        let regions = r["regions"] as! [[String: Any]]
        #expect(regions.count == 12)
        for key in ["firms", "exporting_firms", "export_usd_k", "exporting_firms_to_date", "export_usd_k_to_date"] {
            #expect(regions.reduce(0) { $0 + ($1[key] as! Int) } == totals[key] as! Int, "regions' \(key)")
        }
        // The projection to the year's end is the pace so far over the whole year.
        let reached = r["period_reached"] as! Int
        if reached >= 0 {
            let toDate = totals["export_usd_k_to_date"] as! Int
            #expect(totals["projected_export_usd_k"] as? Int == (2 * toDate * 26 + reached + 1) / (2 * (reached + 1)))
        } else {
            #expect(totals["projected_export_usd_k"] is NSNull)
        }
        // R&D priority: the pool splits into R&D-successful firms and the others, matched or not.
        let rnd = r["rnd_priority"] as! [String: Any]
        #expect((rnd["pool_firms_rnd"] as! Int) + (rnd["pool_firms_other"] as! Int) == totals["pool_size"] as! Int)
        #expect((rnd["matched_rnd"] as! Int) + (rnd["matched_other"] as! Int) == totals["matched"] as! Int)
        // Every pool firm has a channel; no excellent store holds more than its places.
        #expect(r["pool_firms_without_channel"] as? Int == 0)
        let store = r["excellent_store"] as! [String: Int]
        for mall in ExcellentStore.malls { #expect(store[mall.rawValue]! <= store["places_per_mall"]!) }
        for region in regions {
            let on = region["behind_on"] as! [String]
            #expect(region["behind_pace"] as! Bool == !on.isEmpty)
            #expect(Set(on).isSubset(of: PaceTarget.allCases.map(\.rawValue)))
        }
        let groups = r["midsize_groups"] as! [String: Int]
        for g in MidsizeGroup.allCases {
            #expect(
                regions.reduce(0) { $0 + (($1["midsize_groups"] as! [String: Int])[g.rawValue]!) } == groups[g.rawValue]
            )
        }
        let pool = r["pool"] as! [[String: Any]]
        #expect(pool.count == totals["pool_size"] as! Int)
        let poolIDs = Set(pool.map { $0["firm_id"] as! String })
        #expect(poolIDs.count == pool.count)
        let matches = r["matches"] as! [[String: Any]]
        #expect(matches.count == totals["matched"] as! Int)
        let matched = Set(matches.map { $0["firm_id"] as! String })
        #expect(matched.count == matches.count, "a firm matched twice")
        #expect(matched.isSubset(of: poolIDs), "matched firms are pool firms")
        var load: [String: (n: Int, emerging: Int)] = [:]
        for m in matches {
            let k = "\(m["company_id"]!)/\(m["industry"]!)"
            load[k, default: (0, 0)].n += 1
            if m["emerging"] as! Bool { load[k, default: (0, 0)].emerging += 1 }
        }
        for d in r["desks"] as! [[String: Any]] {
            let k = "\(d["company_id"]!)/\(d["industry"]!)"
            #expect(d["matched"] as! Int == load[k]?.n ?? 0)
            #expect(d["emerging_matched"] as! Int == load[k]?.emerging ?? 0)
            #expect((d["matched"] as! Int) <= (d["capacity"] as! Int), "desk \(k) over capacity")
            #expect((d["reserved"] as! Int) <= (d["capacity"] as! Int))
        }
        // Members are unmatched pool firms; a leader may come from outside the pool and leads one
        // consortium; no firm is in two.
        var members = Set<String>()
        var poolMembers = Set<String>()
        var emergingConsortia = 0
        for c in r["consortia"] as! [[String: Any]] {
            let ms = c["members"] as! [String]
            let leader = c["leader"] as! String
            let outside = c["leader_from_outside_the_pool"] as! Bool
            #expect(ms.contains(leader))
            #expect(poolIDs.contains(leader) == !outside, "leader \(leader)")
            for m in ms {
                #expect(members.insert(m).inserted, "\(m) in two consortia")
                guard !(outside && m == leader) else { continue }
                #expect(poolIDs.contains(m) && !matched.contains(m), "consortium member \(m)")
                poolMembers.insert(m)
            }
            if c["target_emerging"] as! Bool { emergingConsortia += 1 }
        }
        #expect(members.count == totals["consortium_members"] as! Int)
        #expect(poolMembers.count == totals["consortium_pool_members"] as! Int)
        #expect(emergingConsortia == totals["consortia_targeting_emerging"] as! Int)
        // Every pool firm is matched, in a consortium, or listed as unplaced with a reason.
        let unplaced = (r["unplaced"] as! [[String: Any]]).map { $0["firm_id"] as! String }
        #expect(Set(unplaced).isDisjoint(with: matched) && Set(unplaced).isDisjoint(with: poolMembers))
        #expect(matched.count + poolMembers.count + unplaced.count == poolIDs.count)
        #expect(totals["pool_served"] as! Int == matched.count + poolMembers.count)
        let byIndustry = r["consortia_by_industry"] as! [[String: Any]]
        #expect(byIndustry.reduce(0) { $0 + ($1["consortia"] as! Int) } == totals["consortia"] as! Int)
        #expect(byIndustry.reduce(0) { $0 + ($1["unplaced"] as! Int) } == unplaced.count)
        try reconcileFollowUp(r, supported: matched.union(members))
        let emerging = matches.filter { $0["emerging"] as! Bool }.count
        #expect((r["markets"] as! [String: Any])["emerging_matches"] as! Int == emerging)
        let firmsCSV = String(decoding: try Data(contentsOf: URL(fileURLWithPath: data + "/firms.csv")), as: UTF8.self)
        let files = r["files"] as! [[String: Any]]
        let firmsFile = files.first { $0["file"] as! String == "firms.csv" }!
        #expect((firmsFile["rows_read"] as! Int) >= firmsCSV.split(separator: "\n").count - 1 - 5)
        #expect(firmsFile["accepted"] as! Int == totals["firms"] as! Int)
        try reconcileMidsize(r, data: data)
    }
}
