import ExportData
import ExportDomain
import ExportServices
import Foundation
import JobQueue
import Logging
import ProcessSupport
import RedisClient
import TestSupport
import Testing

/// `exportctl` as scripts and operators meet it: its exit statuses, signals and closed pipes,
/// Redis outages while it follows a run, what its operator commands print and do, and its flags.
@Suite("exportctl contract: exit codes, SIGPIPE, outages, operator commands, flags", .serialized)
struct CLIContractTests {
    func log(_ f: PipelineFixture, _ name: String) -> String {
        (try? String(contentsOfFile: f.dir + "/\(name).log", encoding: .utf8)) ?? ""
    }

    /// Waits (up to `timeout`) for `p` to exit, and returns its status; kills it after the deadline.
    func exited(_ p: ChildProcess, within timeout: Duration) async throws -> Int32 {
        do {
            try await eventually("the process exits", timeout: timeout, every: .milliseconds(50)) { !p.isRunning }
        } catch {
            p.signal(SIGKILL)
            p.wait()
            throw error
        }
        return p.wait()
    }

    /// Runs `script` with bash (`$0` is the exportctl binary), in the fixture's environment.
    func bash(_ f: PipelineFixture, _ script: String, _ args: [String] = []) async throws -> (Int32, String) {
        let out = f.dir + "/bash-\(UUID().uuidString.prefix(6)).out"
        let p = try ChildProcess(
            executable: findExecutable("bash") ?? "/bin/bash",
            arguments: ["-c", script, try PipelineFixture.binary("exportctl")] + args, environment: f.environment,
            stdoutPath: out, stderrPath: out)
        let status = await exitStatus(of: p)
        return (status, (try? String(contentsOfFile: out, encoding: .utf8)) ?? "")
    }

    // MARK: - Exit codes

    @Test func statusExitsWithTheRunsState() async throws {
        let f = try PipelineFixture()
        let c = f.control
        let done = try await c.claim("finished", dataset: "/data")
        try await c.write(done, [.hset(c.keys("finished").meta, [("state", "done")])])
        let failed = try await c.claim("broken", dataset: "/data")
        try await c.markFailed(failed, "a job died")
        let running = try await c.claim("going", dataset: "/data")
        try await c.write(running, [.hset(c.keys("going").meta, [("state", "running")])])

        let d = try await f.exportctl(["status", "finished"])
        #expect(d.status == 0, "\(d.output)")
        let r = try await f.exportctl(["status", "going"])
        #expect(r.status == 0, "\(r.output)")
        let x = try await f.exportctl(["status", "broken"])
        #expect(x.status == 2, "\(x.output)")
        #expect(x.output.contains("a job died"), "\(x.output)")
        let xj = try await f.exportctl(["status", "broken", "--json"])
        #expect(xj.status == 2, "\(xj.output)")
        let u = try await f.exportctl(["status", "nothing-here"])
        #expect(u.status == 3, "\(u.output)")
        #expect(u.output.contains("no run nothing-here"), "\(u.output)")
    }

    @Test func anUnreachableRedisExits69AndABadURL64() async throws {
        let port = try freeLoopbackPort()  // nothing listens there
        let f = try PipelineFixture(redisURL: "redis://127.0.0.1:\(port)")
        let r = try await f.exportctl(["status"])
        #expect(r.status == 69, "\(r.output)")
        #expect(r.output.contains("error: redis unavailable"), "\(r.output)")
        #expect(r.output.contains("hint: check REDIS_URL"), "\(r.output)")
        let bad = try await f.exportctl(["status"], env: ["REDIS_URL": "http://127.0.0.1:\(port)"])
        #expect(bad.status == 64, "\(bad.output)")
    }

    @Test func anUnusableDatasetExits65() async throws {
        let f = try PipelineFixture()
        let clean = try f.dataset(firms: 800, seed: 5)
        let bad = f.dir + "/bad-config"
        try FileManager.default.copyItem(atPath: clean, toPath: bad)
        try "emerging_quota = 2.5\n".write(toFile: bad + "/config.toml", atomically: true, encoding: .utf8)
        let s = try await f.exportctl(["submit", bad, "--run-id", "bad"])
        #expect(s.status == 65, "\(s.output)")
        #expect(s.output.contains("emerging_quota"), "\(s.output)")
        let v = try await f.exportctl(["validate", bad])
        #expect(v.status == 65, "\(v.output)")
        let dirty = try f.dataset(firms: 800, seed: 5, dirty: 0.05)
        let t = try await f.exportctl(["submit", dirty, "--run-id", "dirty", "--max-rejected-share", "0.001"])
        #expect(t.status == 65, "\(t.output)")
        #expect(try await f.keyCount() == 0, "a refused submit left keys behind")
    }

    // MARK: - SIGPIPE

    @Test func redisKilledWhileSubmitStoresIsAClearErrorNotASignal() async throws {
        let server = try RedisServerProcess(arguments: ["--appendonly", "yes", "--appendfsync", "always"])
        let f = try PipelineFixture(redisURL: server.url)
        let data = try f.dataset(firms: 40_000, seed: 3)
        let submit = try f.start("submit", "exportctl", ["submit", data, "--run-id", "killed", "--chunk-size", "50"])
        try await eventually("chunks being stored", timeout: .seconds(60), every: .milliseconds(5)) {
            (try? await f.redis.send(RedisCommand("EXISTS", [.string(f.control.keys("killed").chunk(5))])))?.int == 1
        }
        server.kill()  // SIGKILL: connections drop mid-write, no goodbye
        try server.start()
        let status = try await exited(submit, within: .seconds(90))
        let out = log(f, "submit")
        #expect(status != 0 && status != 141 && status < 128, "exit \(status): \(out)")
        #expect(out.contains("error: storing run killed failed"), "\(out)")
        var state: String?
        try await eventually("the run readable again", timeout: .seconds(20)) {
            state = (try? await f.control.meta("killed"))?["state"]
            return state != nil
        }
        #expect(state == "failed", "the run was left \(state ?? "?"), neither failed nor resumable")
    }

    @Test func anEarlyClosedStdoutEndsQuietlyNotBySIGPIPE() async throws {
        let f = try PipelineFixture()
        // More lines than a pipe holds, so exportctl still writes after `head` has gone.
        let index = RunKeys.index(f.control.queue.keys)
        var commands: [RedisCommand] = []
        for i in 0..<1_000 {
            let run = "listed-run-" + String(repeating: "x", count: 40) + "-\(i)"
            commands.append(RedisCommand("HSET", [.string(f.control.keys(run).meta), "state", "done"]))
            commands.append(RedisCommand("ZADD", [.string(index), .int(i), .string(run)]))
        }
        for r in try await f.redis.pipeline(commands) { _ = try r.get() }
        let (status, out) = try await bash(f, #""$0" runs list | head -1; echo "exportctl-status=${PIPESTATUS[0]}""#)
        #expect(status == 0, "\(out)")
        let line = out.split(separator: "\n").first { $0.hasPrefix("exportctl-status=") } ?? ""
        let code = Int(line.dropFirst("exportctl-status=".count)) ?? -1
        #expect(code >= 0 && code < 128, "exportctl ended with \(line) (141 is SIGPIPE): \(out)")
    }

    // MARK: - Riding out an outage

    @Test func submitWaitAndStatusWatchRideOutARedisRestart() async throws {
        let server = try RedisServerProcess(arguments: ["--appendonly", "yes", "--appendfsync", "always"])
        let f = try PipelineFixture(redisURL: server.url)
        let data = try f.dataset(firms: 6_000, seed: 11)
        try f.scheduler("s")
        try f.worker("w", concurrency: 1)
        defer { f.stopAll() }
        let submit = try f.start(
            "submit", "exportctl", ["submit", data, "--run-id", "blip", "--chunk-size", "100", "--wait"])
        try await eventually("the run planned", timeout: .seconds(60), every: .milliseconds(20)) {
            (try? await f.control.meta("blip"))?["state"] == "running"
        }
        let watch = try f.start("watch", "exportctl", ["status", "blip", "--watch"])
        try await eventually("status --watch following", timeout: .seconds(30), every: .milliseconds(20)) {
            log(f, "watch").contains("run blip:")
        }
        server.stop()  // SIGTERM: Redis writes its append-only file and exits
        try await eventually("both saw the outage", timeout: .seconds(60), every: .milliseconds(50)) {
            (log(f, "submit").contains("redis unavailable, retrying") || !submit.isRunning)
                && (log(f, "watch").contains("redis unavailable, retrying") || !watch.isRunning)
        }
        #expect(submit.isRunning, "submit --wait gave up on the outage: \(log(f, "submit"))")
        #expect(watch.isRunning, "status --watch gave up on the outage: \(log(f, "watch"))")
        // A stop signal still ends a follower promptly while Redis is away.
        watch.signal(SIGTERM)
        _ = try await exited(watch, within: .seconds(10))
        try server.start()
        let status = try await exited(submit, within: .seconds(240))
        let out = log(f, "submit")
        #expect(status == 0, "exit \(status): \(out)")
        #expect(out.components(separatedBy: "redis unavailable, retrying").count == 2, "one warning: \(out)")
        // The fixture's own connection meets the restart once, then reconnects.
        var state: String?
        try await eventually("the run readable again", timeout: .seconds(20)) {
            state = (try? await f.control.meta("blip"))?["state"]
            return state != nil
        }
        #expect(state == "done")
    }

    // MARK: - validate writes nothing unless asked

    @Test func validateWritesNoFileUnlessAsked() async throws {
        let f = try PipelineFixture()
        let data = try f.dataset(firms: 600, seed: 8, dirty: 0.01)
        let cwd = f.dir + "/cwd"
        try FileManager.default.createDirectory(atPath: cwd, withIntermediateDirectories: true)
        let (plain, out1) = try await bash(f, #"cd "$1" && "$0" validate "$2""#, [cwd, data])
        #expect(plain == 0, "\(out1)")
        #expect(out1.contains("rejections:"), "\(out1)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: cwd).isEmpty, "validate wrote files unasked")
        let (asked, out2) = try await bash(f, #"cd "$1" && "$0" validate "$2" --rejections mine.csv"#, [cwd, data])
        #expect(asked == 0, "\(out2)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: cwd) == ["mine.csv"])
        let csv = try String(contentsOfFile: cwd + "/mine.csv", encoding: .utf8)
        #expect(csv.hasPrefix("file,line,column,reason") && csv.split(separator: "\n").count > 1, "\(csv.prefix(200))")
    }

    // MARK: - Operator commands

    @Test func statusJobsLineShowsPendingAndActiveTotals() async throws {
        let f = try PipelineFixture()
        let q = f.control.queue
        _ = try await q.enqueue((0..<4).map { JobSpec(id: "j\($0)", queue: "alpha", kind: "k") })
        _ = try await q.enqueue((0..<3).map { JobSpec(id: "b\($0)", queue: "beta", kind: "k") })
        _ = try await q.heartbeat(worker: "w", ttl: .seconds(60), lease: .seconds(60), info: [], holding: [])
        let held = try await q.reserve(worker: "w", queues: ["alpha"], lease: .seconds(60), max: 2)
        #expect(held.count == 2)
        let r = try await f.exportctl(["status"])
        #expect(r.status == 0, "\(r.output)")
        let jobs = r.output.split(separator: "\n").first { $0.hasPrefix("jobs:") } ?? ""
        #expect(jobs.contains("pending 5") && jobs.contains("active 2"), "\(r.output)")
    }

    @Test func deadPurgeWithoutArgumentsPurgesEveryDeadJob() async throws {
        let f = try PipelineFixture()
        let q = f.control.queue
        _ = try await q.enqueue((0..<5).map { JobSpec(id: "d\($0)", kind: "k") })
        _ = try await q.heartbeat(worker: "w", ttl: .seconds(60), lease: .seconds(60), info: [], holding: [])
        let held = try await q.reserve(worker: "w", queues: ["default"], lease: .seconds(60), max: 5)
        #expect(held.count == 5)
        _ = try await q.fail(worker: "w", held.map { Failure($0, mode: .dead, error: "poison") })
        #expect(try await q.list(.dead).count == 5)
        let r = try await f.exportctl(["dead", "purge"])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.contains("purged 5 dead jobs"), "\(r.output)")
        #expect(try await q.list(.dead).isEmpty)
        #expect(try await q.job("d0") == nil)
    }

    @Test func runsPurgePurgesEveryKnownIDAndReportsEachUnknownOne() async throws {
        let f = try PipelineFixture()
        let c = f.control
        for run in ["first", "third"] { try await c.markFailed(try await c.claim(run, dataset: "/data"), "x") }
        let r = try await f.exportctl(["runs", "purge", "first", "second", "third", "fourth"])
        #expect(r.status == 3, "\(r.output)")
        #expect(r.output.contains("purged first") && r.output.contains("purged third"), "\(r.output)")
        #expect(r.output.contains("no run second") && r.output.contains("no run fourth"), "\(r.output)")
        #expect(try await c.meta("first").isEmpty)
        #expect(try await c.meta("third").isEmpty)
        let ok = try await f.exportctl(["runs", "purge", "first"])
        #expect(ok.status == 3, "\(ok.output)")
    }

    @Test func submitWithNoDaemonsSaysWhatIsMissing() async throws {
        let f = try PipelineFixture()
        let data = try f.dataset(firms: 600, seed: 12)
        let submit = try f.start("submit", "exportctl", ["submit", data, "--run-id", "alone", "--wait"])
        defer { submit.stop(grace: 2) }
        try await eventually("both hints", timeout: .seconds(60), every: .milliseconds(100)) {
            let out = log(f, "submit")
            return out.contains("no worker is serving queue evaluate") && out.contains("no scheduler leader")
                || !submit.isRunning
        }
        #expect(submit.isRunning, "\(log(f, "submit"))")
        submit.signal(SIGINT)
        _ = try await exited(submit, within: .seconds(10))
        let out = log(f, "submit")
        #expect(out.components(separatedBy: "no worker is serving queue evaluate").count == 2, "once: \(out)")
        #expect(out.components(separatedBy: "no scheduler leader").count == 2, "once: \(out)")
    }

    // MARK: - Flags

    @Test func versionIsPrinted() async throws {
        let f = try PipelineFixture()
        let r = try await f.exportctl(["--version"])
        #expect(r.status == 0, "\(r.output)")
        #expect(r.output.trimmingCharacters(in: .whitespacesAndNewlines) == ExportGridVersion.current)
    }

    @Test func numericFlagsAreRangeCheckedWithAUsageError() async throws {
        let f = try PipelineFixture()
        let data = try f.dataset(firms: 300, seed: 1)
        let cases: [([String], String)] = [
            (["submit", data, "--chunk-size", "0"], "--chunk-size"),
            (["submit", data, "--max-rejected-share", "1.5"], "--max-rejected-share"),
            (["validate", data, "--max-rejected-share", "-0.1"], "--max-rejected-share"),
            (["dead", "purge", "--older-than-hours", "inf"], "--older-than-hours"),
            (["dead", "purge", "--older-than-hours", "-3"], "--older-than-hours"),
            (["jobs", "list", "--limit", "-5"], "--limit"),
            (["dead", "list", "--limit", "0"], "--limit"),
            (["monitor", "r", "--period", "27"], "--period"),
            (["generate", "--firms", "0", "--out", f.dir + "/never"], "--firms"),
            (["bench", "enqueue", "--count", "0"], "--count"),
        ]
        for (args, flag) in cases {
            let r = try await f.exportctl(args)
            #expect(r.status == 64, "\(args): exit \(r.status): \(r.output)")
            let first = r.output.split(separator: "\n").first ?? ""
            #expect(first.hasPrefix("Error: ") && first.contains(flag), "\(args): \(r.output)")
            #expect(!r.output.contains("Fatal error"), "\(args): \(r.output)")
        }
        #expect(try await f.keyCount() == 0)
    }
}
