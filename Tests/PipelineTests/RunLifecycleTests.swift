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

/// A run is never stuck or lost: a purged id can be submitted again, a purge of a live run
/// stops its submitter and its jobs and leaves nothing, failed and abandoned runs are freed, a
/// submit that fails leaves nothing or a failed run that a new submit replaces, a dataset the
/// operator would not want run is refused, and a chunk changed in Redis is refused.
@Suite("Run lifecycle: purge, resubmit, retention, refusals", .serialized)
struct RunLifecycleTests {
    /// Everything of `run` left in the fixture's namespace: keys that name it, its index entry,
    /// and its jobs in the queue's lists, sets and hashes.
    func traces(_ f: PipelineFixture, _ run: String) async throws -> [String] {
        let q = f.control.queue
        var out: [String] = []
        var cursor = "0"
        repeat {
            let r = try await f.redis.send(
                RedisCommand("SCAN", [.string(cursor), "MATCH", .string("{\(f.namespace)}:*"), "COUNT", 1000]))
            cursor = r.array![0].string!
            out += r.array![1].array!.compactMap(\.string).filter { $0.contains(":\(run):") }
        } while cursor != "0"
        if try await f.redis.send(RedisCommand("ZSCORE", [.string(RunKeys.index(q.keys)), .string(run)])).string != nil
        {
            out.append("runs index entry")
        }
        for set in [JobListing.done, .dead, .canceled, .scheduled, .pending] {
            out += try await q.list(set, limit: 1_000_000).filter { $0.hasPrefix(run + ":") }.map { "\(set) \($0)" }
        }
        let progress = try await f.redis.send(RedisCommand("HKEYS", [.string(q.keys.progress)])).array ?? []
        out += progress.compactMap(\.string).filter { $0.hasPrefix(run + ":") }.map { "progress \($0)" }
        return out
    }

    /// Waits until no worker of the namespace runs a job (its registry entry says so).
    func workersIdle(_ f: PipelineFixture) async throws {
        try await eventually("workers idle", timeout: .seconds(60), every: .milliseconds(100)) {
            try await f.control.queue.workers().allSatisfy { !$0.alive || $0.fields["inflight"] == "0" }
        }
    }

    func log(_ f: PipelineFixture, _ name: String) -> String {
        (try? String(contentsOfFile: f.dir + "/\(name).log", encoding: .utf8)) ?? ""
    }

    @Test func aPurgedRunIDCanBeSubmittedAgain() async throws {
        let f = try PipelineFixture()
        let data = try f.dataset(firms: 3_000, seed: 7)
        try f.scheduler("s")
        try f.worker("w")
        defer { f.stopAll() }
        let first = try await f.exportctl(["submit", data, "--run-id", "again", "--chunk-size", "500", "--wait"])
        #expect(first.status == 0, "\(first.output)")
        let report = try await f.report("again")
        let purge = try await f.exportctl(["runs", "purge", "again"])
        #expect(purge.status == 0, "\(purge.output)")
        #expect(try await traces(f, "again").isEmpty)
        // The same id again: every job is enqueued afresh, none is skipped as seen before.
        let second = try await f.exportctl(["submit", data, "--run-id", "again", "--chunk-size", "500"])
        #expect(second.status == 0, "\(second.output)")
        try await f.waitDone("again", timeout: .seconds(120))
        #expect(try await f.report("again") == report)
    }

    @Test func aPurgeDuringTheLoadStopsTheSubmitterAndLeavesNothing() async throws {
        let f = try PipelineFixture()
        let data = try f.dataset(firms: 40_000, seed: 3)
        let submit = try f.start("submit", "exportctl", ["submit", data, "--run-id", "mid-load", "--chunk-size", "50"])
        try await eventually("chunks being stored", timeout: .seconds(60), every: .milliseconds(5)) {
            try await f.redis.send(RedisCommand("EXISTS", [.string(f.control.keys("mid-load").chunk(5))])).int == 1
        }
        let purge = try await f.exportctl(["runs", "purge", "mid-load"])
        #expect(purge.status == 0, "\(purge.output)")
        let status = await exitStatus(of: submit)
        #expect(status != 0, "the submit went on after the purge: \(log(f, "submit"))")
        #expect(log(f, "submit").contains("was purged"), "\(log(f, "submit"))")
        #expect(try await traces(f, "mid-load").isEmpty)
    }

    @Test func aPurgeDuringTheEvaluationCancelsItsJobsAndLeavesNothing() async throws {
        let f = try PipelineFixture()
        let data = try f.dataset(firms: 12_000, seed: 4)
        try f.scheduler("s")
        try f.worker("a", concurrency: 1, queues: "evaluate")
        try f.worker("b", concurrency: 1, queues: "evaluate")
        defer { f.stopAll() }
        let waiter = try f.start(
            "submit", "exportctl", ["submit", data, "--run-id", "mid-eval", "--chunk-size", "20", "--wait"])
        try await eventually("evaluation under way", timeout: .seconds(60), every: .milliseconds(5)) {
            (try await f.group(RunJobs.evaluateGroup("mid-eval"))?.done ?? 0) >= 3
        }
        let purge = try await f.exportctl(["runs", "purge", "mid-eval"])
        #expect(purge.status == 0, "\(purge.output)")
        #expect(await exitStatus(of: waiter) != 0)
        #expect(log(f, "submit").contains("was purged"), "\(log(f, "submit"))")
        // The jobs that were running when it was purged finish and write nothing.
        try await workersIdle(f)
        let left = try await traces(f, "mid-eval")
        #expect(left.isEmpty, "left after the purge: \(left.prefix(10))")
        // The cluster goes on: the same id runs to its report.
        try f.worker("c", concurrency: 2)
        let again = try await f.exportctl(["submit", data, "--run-id", "mid-eval", "--chunk-size", "2000", "--wait"])
        #expect(again.status == 0, "\(again.output)")
    }

    @Test func retentionFreesFailedAndAbandonedRuns() async throws {
        let f = try PipelineFixture()
        let c = f.control
        // A load whose submitter vanished: its lease lapses without renewal.
        let abandoned = try await c.claim("abandoned", dataset: "/data", lease: .milliseconds(200))
        try await c.write(abandoned, [.set(c.keys("abandoned").chunk(0), [1, 2, 3])])
        // A load its submitter marked failed, and a run that failed in its stages.
        let failedLoad = try await c.claim("failed-load", dataset: "/data", lease: .seconds(60))
        try await c.write(failedLoad, [.set(c.keys("failed-load").chunk(0), [1, 2, 3])])
        #expect(try await c.failLoad(failedLoad, reason: "the submit broke off"))
        let failedRun = try await c.claim("failed-run", dataset: "/data", lease: .seconds(60))
        try await c.write(failedRun, [.hset(c.keys("failed-run").meta, [("state", "running")])])
        try await c.markFailed(failedRun, "a job died")
        // A load under way is left alone.
        _ = try await c.claim("live-load", dataset: "/data", lease: .seconds(60))
        var l = Logger(label: "scheduler")
        l.logLevel = .error
        let s = SchedulerService(control: c, id: "s", tick: .milliseconds(50), retention: .seconds(2), logger: l)
        let task = Task { await s.run() }
        try await eventually("the abandoned load marked failed and its data freed") {
            let m = try await c.meta("abandoned")
            let chunk = try await f.redis.send(RedisCommand("EXISTS", [.string(c.keys("abandoned").chunk(0))])).int
            return m["state"] == "failed" && m["error"]?.contains("abandoned") == true && m["finished_ms"] != nil
                && chunk == 0
        }
        try await eventually("failed and abandoned runs purged after their retention", timeout: .seconds(20)) {
            for run in ["abandoned", "failed-load", "failed-run"] where try await !traces(f, run).isEmpty {
                return false
            }
            return true
        }
        #expect(try await c.meta("live-load")["state"] == "loading")
        s.shutdown()
        await task.value
    }

    /// The scheduler purges and frees under its own ACL user (which has neither ZSCAN nor
    /// SETBIT nor INCRBY), jobs of every state included.
    @Test func theSchedulersACLUserCanFreeAndPurgeRuns() async throws {
        let ns = "acl" + UUID().uuidString.prefix(6).lowercased()
        let r = try AclTests.AclRedis(namespace: ns)
        let f = try PipelineFixture(redisURL: r.url("admin"), password: r.passwords["admin"], namespace: ns)
        let admin = f.control
        let abandoned = try await admin.claim("gone", dataset: "/data", lease: .milliseconds(200))
        try await admin.write(abandoned, [.set(admin.keys("gone").chunk(0), [1])])
        let failed = try await admin.claim("old", dataset: "/data")
        try await admin.markFailed(failed, "a job died")
        let q = admin.queue
        _ = try await q.enqueue([JobSpec(id: "old:pending", kind: "k"), JobSpec(id: "old:running", kind: "k")])
        _ = try await q.heartbeat(worker: "w", ttl: .seconds(60), lease: .seconds(60), info: [], holding: [])
        let held = try await q.reserve(worker: "w", queues: ["default"], lease: .seconds(60), max: 1)
        #expect(held.count == 1)
        var l = Logger(label: "scheduler")
        l.logLevel = .error
        let control = RunControl(queue: JobQueue(redis: try r.connection("scheduler"), namespace: ns, logger: l))
        let s = SchedulerService(control: control, id: "s", tick: .milliseconds(50), retention: .seconds(1), logger: l)
        let task = Task { await s.run() }
        try await eventually("both runs purged by the scheduler", timeout: .seconds(20)) {
            let gone = try await traces(f, "gone")
            let old = try await traces(f, "old")
            return gone.isEmpty && old.isEmpty
        }
        s.shutdown()
        await task.value
    }

    @Test func aFailedRunDoesNotBlockItsIDButAFinishedOneDoes() async throws {
        let f = try PipelineFixture()
        let c = f.control
        let first = try await c.claim("r", dataset: "/data")
        try await c.write(first, [.set(c.keys("r").chunk(0), [1])])
        #expect(try await c.failLoad(first, reason: "broke off"))
        let second = try await c.claim("r", dataset: "/data")
        #expect(second.gen != first.gen)
        #expect(try await c.meta("r")["state"] == "loading")
        #expect(try await f.redis.send(RedisCommand("EXISTS", [.string(c.keys("r").chunk(0))])).int == 0)
        try await c.write(second, [.hset(c.keys("r").meta, [("state", "done")])])
        await #expect(throws: RunError.self) { _ = try await c.claim("r", dataset: "/data") }
        // The first incarnation writes nothing into the second.
        await #expect(throws: QueueError.self) { try await c.write(first, [.set(c.keys("r").chunk(1), [2])]) }
    }

    @Test func aSubmitOfAMissingDirectoryLeavesNothing() async throws {
        let f = try PipelineFixture()
        let r = try await f.exportctl(["submit", f.dir + "/no-such-dataset", "--run-id", "missing"])
        #expect(r.status != 0)
        #expect(r.output.contains("no such directory"), "\(r.output)")
        #expect(try await f.keyCount() == 0)
    }

    @Test func anOutageWhileStoringMarksTheRunFailedAndItsIDCanBeSubmittedAgain() async throws {
        let server = try RedisServerProcess(arguments: ["--appendonly", "yes", "--appendfsync", "always"])
        let f = try PipelineFixture(redisURL: server.url)
        let data = try f.dataset(firms: 40_000, seed: 3)
        let submit = try f.start("submit", "exportctl", ["submit", data, "--run-id", "cut", "--chunk-size", "50"])
        try await eventually("chunks being stored", timeout: .seconds(60), every: .milliseconds(5)) {
            (try? await f.redis.send(RedisCommand("EXISTS", [.string(f.control.keys("cut").chunk(5))])))?.int == 1
        }
        server.stop()  // SIGTERM: Redis writes its append-only file, closes every connection, exits
        try server.start()
        let status = await exitStatus(of: submit)
        let out = log(f, "submit")
        #expect(status != 0 && status < 128, "exit \(status) (a signal above 128): \(out)")
        #expect(out.contains("error: storing run cut failed") && out.contains("marked failed"), "\(out)")
        // The fixture's own connection meets the restart once, then reconnects.
        var meta: [String: String] = [:]
        try await eventually("the run readable again") {
            guard let m = try? await f.control.meta("cut") else { return false }
            meta = m
            return true
        }
        #expect(meta["state"] == "failed")
        #expect(meta["error"]?.contains("broke off while storing") == true, "\(meta)")
        let created = try #require(meta["created_ms"].flatMap(Int64.init))
        let stopped = try #require(meta["finished_ms"].flatMap(Int64.init))
        #expect(try await f.redis.send(RedisCommand("EXISTS", [.string(f.control.keys("cut").chunk(0))])).int == 0)
        // Its clock stopped when it failed: status shows that time, not one still counting.
        let shown = try await f.exportctl(["status", "cut"])
        let load = shown.output.split(separator: "\n").first { $0.contains("load") } ?? ""
        #expect(load.contains("failed"), "\(shown.output)")
        #expect(load.contains(String(format: "%.1f s", Double(stopped - created) / 1000)), "\(shown.output)")
        // Submitting the same id replaces the failed run.
        try f.scheduler("s")
        try f.worker("w")
        defer { f.stopAll() }
        let again = try await f.exportctl(["submit", data, "--run-id", "cut", "--chunk-size", "5000", "--wait"])
        #expect(again.status == 0, "\(again.output)")
        #expect(try await f.control.meta("cut")["state"] == "done")
    }

    /// A copy of `data` in a new directory, with `edit` applied to its files.
    func copy(_ f: PipelineFixture, _ data: String, as name: String, _ edit: (String) throws -> Void) throws -> String {
        let out = f.dir + "/" + name
        try? FileManager.default.removeItem(atPath: out)
        try FileManager.default.copyItem(atPath: data, toPath: out)
        try edit(out)
        return out
    }

    @Test func configurationErrorsAndTooManyRejectionsStopTheSubmit() async throws {
        let f = try PipelineFixture()
        let clean = try f.dataset(firms: 1_500, seed: 9)
        let badConfig = try copy(f, clean, as: "bad-config") {
            try "emerging_quota = 2.5\n".write(toFile: $0 + "/config.toml", atomically: true, encoding: .utf8)
        }
        let s1 = try await f.exportctl(["submit", badConfig, "--run-id", "bad-config"])
        #expect(s1.status != 0 && s1.output.contains("emerging_quota"), "\(s1.output)")
        let v1 = try await f.exportctl(["validate", badConfig, "--rejections", f.dir + "/r1.csv"])
        #expect(v1.status == 65 && v1.output.contains("emerging_quota"), "\(v1.output)")

        let dirty = try f.dataset(firms: 1_500, seed: 9, dirty: 0.03)
        let s2 = try await f.exportctl(["submit", dirty, "--run-id", "dirty"])
        #expect(s2.status != 0 && s2.output.contains("rows were rejected"), "\(s2.output)")
        #expect(s2.output.contains("--force"))
        let v2 = try await f.exportctl(["validate", dirty, "--rejections", f.dir + "/r2.csv"])
        #expect(v2.status == 65 && v2.output.contains("rows were rejected"), "\(v2.output)")

        // One unterminated quote: the rest of firms.csv is one cut-off field.
        let cut = try copy(f, clean, as: "cut-off") { dir in
            var lines = try String(contentsOfFile: dir + "/firms.csv", encoding: .utf8).components(separatedBy: "\n")
            lines[400] = "\"" + lines[400]
            try lines.joined(separator: "\n").write(toFile: dir + "/firms.csv", atomically: true, encoding: .utf8)
        }
        let s3 = try await f.exportctl(["submit", cut, "--run-id", "cut-off"])
        #expect(s3.status != 0 && s3.output.contains("ends inside a quoted field"), "\(s3.output)")
        let v3 = try await f.exportctl(["validate", cut, "--rejections", f.dir + "/r3.csv"])
        #expect(v3.status == 65 && v3.output.contains("ends inside a quoted field"), "\(v3.output)")
        #expect(try await f.keyCount() == 0, "a refused submit left keys behind")

        // Forced (or with a larger limit), the same datasets are stored; a config error never is.
        let s4 = try await f.exportctl(["submit", dirty, "--run-id", "dirty", "--max-rejected-share", "0.5"])
        #expect(s4.status == 0, "\(s4.output)")
        let s5 = try await f.exportctl(["submit", cut, "--run-id", "cut-off", "--force"])
        #expect(s5.status == 0, "\(s5.output)")
        #expect(try await f.control.meta("cut-off")["firms"].flatMap(Int.init) ?? 0 < 1_500)
        let s6 = try await f.exportctl(["submit", badConfig, "--run-id", "bad-config", "--force"])
        #expect(s6.status != 0)
    }

    @Test func aChunkChangedInRedisIsADeadJobWithTheReason() async throws {
        let f = try PipelineFixture()
        let data = try f.dataset(firms: 3_000, seed: 7)
        try await f.submit(data, run: "changed", chunkSize: 500)
        // A well-formed chunk, but another one's.
        let k = f.control.keys("changed")
        _ = try await f.redis.send(RedisCommand("COPY", [.string(k.chunk(0)), .string(k.chunk(1)), "REPLACE"]))
        try f.scheduler("s")
        try f.worker("w")
        defer { f.stopAll() }
        try await eventually("the run failed", timeout: .seconds(60), every: .milliseconds(100)) {
            try await f.control.meta("changed")["state"] == "failed"
        }
        let job = try #require(try await f.control.queue.job(RunJobs.evaluateJob("changed", chunk: 1)))
        #expect(job.state == "dead")
        #expect(job.lastError?.contains("chunk 1 is not what submit stored") == true, "\(job.lastError ?? "")")
        #expect(job.attempts == 1, "retried although retrying cannot help")
    }
}
