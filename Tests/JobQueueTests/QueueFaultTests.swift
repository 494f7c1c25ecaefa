import Foundation
import JobQueue
import ProcessSupport
import RedisClient
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Faults with real processes: the worker that dies, freezes or is asked to stop is a
/// `queue-probe` process (heartbeat every 200 ms, liveness TTL 1 s).
@Suite("Queue under worker faults", .serialized)
struct QueueFaultTests {
    static let ttl = Duration.seconds(1)

    /// The worker holding `id` right now, if any.
    func holder(_ f: QueueFixture, _ id: String) async throws -> String? {
        let info = try await f.queue.job(id)
        return info?.state == "active" ? info?.worker : nil
    }

    @Test func sigkilledWorkersJobIsRedoneWithinTheHeartbeatTTL() async throws {
        let f = try QueueFixture()
        try await f.queue.createGroup(GroupSpec(id: "g", total: 1, onComplete: f.spec("g-done", queue: "final")))
        let a = try f.startProbe(id: "A", concurrency: 1)
        _ = try await f.queue.enqueue(f.spec("k1", kind: "sleep", payload: "60000", group: "g"))
        try await eventually("A holds k1") { try await holder(f, "k1") == "A" }
        // B is already running; its "sleep" handler returns at once.
        let rec = Recorder()
        f.startWorker(try f.config(id: "B"), handlers: ["sleep": rec.handler(result: "B")])
        let killedAt = ContinuousClock.now
        a.signal(SIGKILL)
        a.wait()
        try await eventually("group complete", timeout: .seconds(10)) {
            try await f.queue.group("g")?.state == "completed"
        }
        let took = ContinuousClock.now - killedAt
        // Liveness TTL, plus one maintenance pass (100 ms) and B's idle wait (200 ms), plus slack
        // for a loaded machine: far below the 30 s lease the job would otherwise wait out.
        #expect(took < Self.ttl + .seconds(4), "reclaimed after \(took)")
        // The effect is recorded once: one result, from B; the completion job exists once.
        #expect(try await f.queue.groupResults("g") == ["k1": Array("B".utf8)])
        #expect(try await f.stat("processed") == 1)
        #expect(try await f.stat("reclaimed") == 1)
        #expect(try await f.queue.depths()["final"] == 1)
        try await f.stopWorkers()
        try await f.clean()
    }

    @Test func frozenWorkerComesBackToALostLease() async throws {
        let f = try QueueFixture()
        try await f.queue.createGroup(GroupSpec(id: "g", total: 1, onComplete: nil))
        let a = try f.startProbe(id: "A", concurrency: 1)
        _ = try await f.queue.enqueue(f.spec("s1", kind: "sleep", payload: "1500", group: "g"))
        try await eventually("A holds s1") { try await holder(f, "s1") == "A" }
        a.signal(SIGSTOP)
        let rec = Recorder()
        f.startWorker(try f.config(id: "B"), handlers: ["sleep": rec.handler(result: "B")])
        // B runs in this test process, beside other suites' CPU-bound tests: a generous deadline.
        try await eventually("B completed s1", timeout: .seconds(30)) {
            try await f.queue.group("g")?.state == "completed"
        }
        a.signal(SIGCONT)
        // A's sleep ends; its result is refused, by the ack or first by its heartbeat.
        try await eventually("A learns its lease is lost", timeout: .seconds(30)) {
            f.probeLog("A").contains("lease lost")
        }
        #expect(try await f.queue.groupResults("g") == ["s1": Array("B".utf8)])
        #expect(try await f.stat("processed") == 1)
        #expect(rec.startCount("s1") == 1)
        a.stop()
        try await f.stopWorkers()
        try await f.clean()
    }

    @Test func sigtermFinishesRunningJobsAndStopsReserving() async throws {
        let f = try QueueFixture()
        // Jobs of 3 s: on a loaded machine the signal must still land before the first one ends
        // (or A would rightly start a third), and the drain (10 s) outlasts them.
        let a = try f.startProbe(id: "A", concurrency: 2, extra: ["QP_DRAIN_MS": "10000"])
        _ = try await f.queue.enqueue((0..<8).map { f.spec("t\($0)", kind: "sleep", payload: "3000") })
        try await eventually("A runs two") { try await f.queue.list(.active).count == 2 }
        let running = try await f.queue.list(.active)
        a.signal(SIGTERM)
        #expect(await exitStatus(of: a) == 0)
        for id in running { #expect(try await f.queue.job(id)?.state == "done", "\(id) finished during the drain") }
        var states: [String] = []
        for i in 0..<8 { states.append("t\(i):\(try await f.queue.job("t\(i)")?.state ?? "-")") }
        #expect(try await f.queue.depths()["default"] == 6, "\(states) running \(running)")
        #expect(try await f.queue.workers().isEmpty, "A deregistered")
        let rec = Recorder()
        f.startWorker(try f.config(id: "B"), handlers: ["sleep": rec.handler()])
        try await eventually("all eight done") { try await f.stat("processed") == 8 }
        #expect(Set(rec.finishes.keys).isDisjoint(with: running))
        try await f.stopWorkers()
        try await f.clean()
    }

    @Test func sigtermHandsBackUnfinishedJobsAtOnce() async throws {
        let f = try QueueFixture()
        let a = try f.startProbe(id: "A", concurrency: 3, extra: ["QP_DRAIN_MS": "300", "QP_TTL_MS": "30000"])
        _ = try await f.queue.enqueue((0..<3).map { f.spec("h\($0)", kind: "sleep", payload: "60000") })
        try await eventually("A runs three") { try await f.queue.list(.active).count == 3 }
        let stoppedAt = ContinuousClock.now
        a.signal(SIGTERM)
        #expect(await exitStatus(of: a) == 0)
        // Handed back immediately (A's liveness TTL is 30 s: nothing waited for it).
        #expect(ContinuousClock.now - stoppedAt < .seconds(3))
        for i in 0..<3 {
            let info = try #require(try await f.queue.job("h\(i)"))
            #expect(info.state == "pending")
            #expect(info.attempts == 0, "a handed-back attempt is not counted")
        }
        #expect(try await f.queue.depths()["default"] == 3)
        try await f.clean()
    }

    @Test func groupOfAThousandCompletesOnceAcrossWorkers() async throws {
        let f = try QueueFixture()
        try await f.queue.createGroup(GroupSpec(id: "big", total: 1000, onComplete: f.spec("big-done", queue: "final")))
        let rec = Recorder()
        for i in 0..<4 {
            f.startWorker(try f.config(concurrency: 16, id: "W\(i)"), handlers: ["record": rec.handler()])
        }
        _ = try await f.queue.enqueue((0..<1000).map { f.spec("m\($0)", group: "big") })
        try await eventually("group complete", timeout: .seconds(30)) {
            try await f.queue.group("big")?.state == "completed"
        }
        try await Task.sleep(for: .milliseconds(200))
        #expect(try await f.queue.group("big") == GroupStatus(total: 1000, done: 1000, failed: 0, state: "completed"))
        #expect(try await f.queue.depths()["final"] == 1)
        let finalQueue = try await f.queue.list(.pending, queue: "final")
        let raw = try await f.redis.send(RedisCommand("LRANGE", [.string(f.queue.keys.pending("final")), 0, -1]))
        #expect(finalQueue == ["big-done"], "\(raw)")
        #expect(try await f.queue.groupResults("big").count == 1000)
        #expect(rec.totalFinished == 1000)
        try await f.stopWorkers()
        try await f.clean()
    }

    @Test func groupCompletesOnceWhenAWorkerIsKilledDuringIt() async throws {
        let f = try QueueFixture()
        try await f.queue.createGroup(GroupSpec(id: "big", total: 1000, onComplete: f.spec("big-done", queue: "final")))
        var probes: [ChildProcess] = []
        for i in 0..<3 { probes.append(try f.startProbe(id: "P\(i)", concurrency: 8)) }
        _ = try await f.queue.enqueue((0..<1000).map { f.spec("m\($0)", kind: "sleep", payload: "5", group: "big") })
        try await eventually("a third done", timeout: .seconds(30)) {
            (try await f.queue.group("big")?.done ?? 0) >= 300
        }
        probes[0].signal(SIGKILL)
        probes[0].wait()
        try await eventually("group complete", timeout: .seconds(30)) {
            try await f.queue.group("big")?.state == "completed"
        }
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await f.queue.group("big") == GroupStatus(total: 1000, done: 1000, failed: 0, state: "completed"))
        #expect(try await f.queue.list(.pending, queue: "final") == ["big-done"])
        #expect(try await f.queue.groupResults("big").count == 1000)
        #expect(try await f.stat("processed") == 1000)
        for p in probes.dropFirst() { p.stop() }
        try await f.clean()
    }

    @Test func deadMemberFailsTheGroupOnceAndRequeueReopensIt() async throws {
        let f = try QueueFixture()
        try await f.queue.createGroup(
            GroupSpec(
                id: "g", total: 3, onComplete: f.spec("ok", queue: "final"), onFailure: f.spec("bad", queue: "final")))
        let rec = Recorder()
        let flaky = ClosureJobHandler { ctx in
            rec.started(ctx.id)
            if ctx.id == "m2" && rec.startCount("m2") == 1 { throw PermanentFailure("bad input") }
            rec.finished(ctx.id)
            return nil
        }
        f.startWorker(try f.config(), handlers: ["record": flaky])
        _ = try await f.queue.enqueue((0..<3).map { f.spec("m\($0)", group: "g") })
        try await eventually("group failed") { try await f.queue.group("g")?.state == "failed" }
        try await eventually("two succeeded") { rec.totalFinished == 2 }
        #expect(try await f.queue.job("m2")?.state == "dead")
        #expect(try await f.queue.list(.pending, queue: "final") == ["bad"])
        #expect(try await f.queue.job("m2")?.lastError == "bad input")
        #expect(try await f.queue.requeueDead(["m2"]) == 1)
        try await eventually("group completed after requeue") { try await f.queue.group("g")?.state == "completed" }
        #expect(try await f.queue.list(.pending, queue: "final") == ["bad", "ok"])
        try await f.stopWorkers()
        try await f.clean()
    }

    /// Jobs that keep every core busy for three liveness TTLs: the worker's heartbeat still runs
    /// (handlers have threads of their own), so no job is reclaimed and each runs once.
    @Test func cpuBoundJobsLongerThanTheTTLAreNotReclaimed() async throws {
        let f = try QueueFixture()
        let slots = WorkerConfiguration.cores
        let a = try f.startProbe(id: "A", concurrency: slots)
        for i in 0..<slots { _ = try await f.queue.enqueue(f.spec("spin\(i)", kind: "spin", payload: "3000")) }
        // This process reclaims what the probe's heartbeat lets lapse, as any maintainer would.
        try await eventually("every spin job done", timeout: .seconds(30), every: .milliseconds(100)) {
            _ = try await f.queue.maintain(owner: "test", lockFor: .milliseconds(1))
            return try await f.stat("processed") == slots
        }
        #expect(try await f.stat("reclaimed") == 0)
        #expect(try await f.stat("processed") == slots)
        a.stop(grace: 2)
        try await f.clean()
    }

    /// A worker inside a process whose cooperative pool is busy for twice the liveness TTL (a
    /// test runner, an application embedding it) keeps its lease: its heartbeat has threads of
    /// its own. Another process maintains the queue meanwhile and would reclaim a lapsed job.
    @Test func aBusyHostProcessDoesNotLapseAnEmbeddedWorkersHeartbeat() async throws {
        let f = try QueueFixture()
        let rec = Recorder()
        f.startWorker(try f.config(concurrency: 1, id: "inside"), handlers: ["sleep": rec.handler(sleep: .seconds(4))])
        _ = try await f.queue.enqueue(f.spec("held", kind: "sleep"))
        try await eventually("the embedded worker holds it") { try await holder(f, "held") == "inside" }
        let maintainer = try f.startProbe(id: "M", concurrency: 1)
        // Every cooperative thread of this process spins for 2.5 s without suspending.
        await withTaskGroup(of: Void.self) { g in
            for _ in 0..<WorkerConfiguration.cores {
                g.addTask {
                    let end = ContinuousClock.now + .milliseconds(2_500)
                    var x: UInt64 = 1
                    while ContinuousClock.now < end { x = x &* 6_364_136_223_846_793_005 &+ 1 }
                    if x == 0 { print(x) }
                }
            }
        }
        try await eventually("the job done", timeout: .seconds(20)) { try await f.stat("processed") == 1 }
        #expect(try await f.stat("reclaimed") == 0)
        #expect(rec.startCount("held") == 1)
        maintainer.stop(grace: 2)
        try await f.stopWorkers()
        try await f.clean()
    }

    @Test func expiredLeaseOfALiveWorkerIsReclaimed() async throws {
        let clock = ManualClock()
        let f = try QueueFixture(clock: clock)
        _ = try await f.queue.enqueue(f.spec("l1"))
        _ = try await f.queue.heartbeat(worker: "w", ttl: .seconds(600), lease: .seconds(10), info: [], holding: [])
        let job = try #require(
            try await f.queue.reserve(worker: "w", queues: ["default"], lease: .seconds(10), max: 1).first)
        // The lease covers [t0, t0 + 10 s): held one millisecond before, reclaimed at the deadline.
        clock.advance(by: .milliseconds(9_999))
        #expect(try await f.queue.maintain(owner: "m", lockFor: .milliseconds(1))?.reclaimed == 0)
        try await Task.sleep(for: .milliseconds(3))
        clock.advance(by: .milliseconds(1))
        #expect(try await f.queue.maintain(owner: "m", lockFor: .milliseconds(1))?.reclaimed == 1)
        let info = try #require(try await f.queue.job("l1"))
        #expect(info.state == "pending" && info.lastError?.contains("lease expired") == true)
        #expect(
            try await f.queue.ack(worker: "w", [Completion(job, result: nil)]) == [.leaseLost])
        // The heartbeat tells the worker too.
        let hb = try await f.queue.heartbeat(
            worker: "w", ttl: .seconds(600), lease: .seconds(10), info: [],
            holding: [HeldJob(id: "l1", token: job.token)])
        #expect(hb.lost == ["l1"])
        try await f.clean()
    }

    @Test func maintenanceRunsInOneProcessAtATime() async throws {
        let f = try QueueFixture()
        let first = try await f.queue.maintain(owner: "a", lockFor: .seconds(5))
        let second = try await f.queue.maintain(owner: "b", lockFor: .seconds(5))
        #expect(first != nil)
        #expect(second == nil)
        try await f.clean()
    }

    @Test func jobTimeoutIsEnforcedByTheWorker() async throws {
        let f = try QueueFixture()
        let rec = Recorder()
        f.startWorker(try f.config(), handlers: ["sleep": rec.handler(sleep: .seconds(60))])
        _ = try await f.queue.enqueue(f.spec("slow", kind: "sleep", maxAttempts: 2, timeout: .milliseconds(300)))
        try await eventually("dead after two timeouts", timeout: .seconds(10)) {
            try await f.queue.job("slow")?.state == "dead"
        }
        #expect(try await f.queue.job("slow")?.lastError?.contains("timed out") == true)
        #expect(rec.startCount("slow") == 2)
        try await f.stopWorkers()
        try await f.clean()
    }
}

@Suite("Queue resource bounds and Redis restarts", .serialized)
struct QueueResourceTests {
    func usedMemory(_ r: RedisConnection) async throws -> Int {
        let info = try await r.send("INFO", "memory").string ?? ""
        let line = info.split(separator: "\r\n").first { $0.hasPrefix("used_memory:") }!
        return Int(line.dropFirst("used_memory:".count))!
    }

    @Test func keysAndMemoryReturnToBaselineAfterAHundredThousandJobs() async throws {
        let server = try RedisServerProcess()
        var retention = Retention()
        retention.doneCount = 100
        retention.deadCount = 50
        let f = try QueueFixture(url: try RedisURL(parsing: server.url), retention: retention)
        for i in 0..<2 {
            f.startWorker(
                try f.config(concurrency: 200, id: "W\(i)"), handlers: ["noop": ClosureJobHandler { _ in nil }])
        }
        /// Runs `n` no-op jobs and 300 poison jobs (kind without a handler, one attempt).
        func run(_ n: Int, tag: String) async throws {
            let before = try await f.queue.stats()
            var batch: [JobSpec] = []
            for i in 0..<n {
                batch.append(f.spec("\(tag)\(i)", kind: "noop"))
                if batch.count == 5000 || i == n - 1 {
                    _ = try await f.queue.enqueue(batch)
                    batch.removeAll()
                }
            }
            _ = try await f.queue.enqueue((0..<300).map { f.spec("\(tag)bad\($0)", kind: "missing", maxAttempts: 1) })
            try await eventually("\(tag) processed", timeout: .seconds(120)) {
                let s = try await f.queue.stats()
                return s["processed", default: 0] - before["processed", default: 0] == Int64(n)
                    && s["dead", default: 0] - before["dead", default: 0] == 300
            }
        }
        // Warm-up: connections, script cache, and the bounded indexes reach their steady size.
        try await run(1_000, tag: "warm")
        // Wake-up lists come and go with idleness (at most one per queue, one element each), and
        // the maintenance lock lives for 100 ms at a time.
        func steadyKeys() async throws -> [String] {
            try await f.keys().filter { !$0.contains(":sig:") && !$0.hasSuffix(":lock:maintenance") }
        }
        let baselineKeys = try await steadyKeys()
        let baseline = try await usedMemory(f.redis)
        try await run(100_000, tag: "main")
        // Batches settle and the retention trim runs a moment after the last ack: give them a
        // few seconds (a leak would never settle).
        try? await eventually("keys back to their baseline count", timeout: .seconds(10), every: .milliseconds(100)) {
            try await steadyKeys().count == baselineKeys.count
        }
        let keys = try await steadyKeys()
        let after = try await usedMemory(f.redis)
        // The same number of keys: 50 retained dead jobs, the counters, the queue set, the
        // bounded indexes, the registry; nothing per job run.
        let added = Set(keys).subtracting(baselineKeys).filter { !$0.contains(":job:") }.sorted()
        let removed = Set(baselineKeys).subtracting(keys).filter { !$0.contains(":job:") }.sorted()
        #expect(keys.count == baselineKeys.count, "keys only after: \(added), only before: \(removed)")
        #expect(keys.filter { $0.contains(":job:") }.count == 50)
        #expect(try await f.queue.setSizes()[.done] == 100)
        #expect(try await f.queue.setSizes()[.dead] == 50)
        var sizes: [(String, Int)] = []
        for k in keys where !k.contains(":job:") {
            sizes.append((k, Int(try await f.redis.send(RedisCommand("MEMORY", ["USAGE", .string(k)])).int ?? 0)))
        }
        // Allocator noise is a few hundred KiB; a leak of one key per job would be megabytes.
        #expect(after - baseline < 512 * 1024, "memory grew by \(after - baseline) bytes over 100,300 jobs; \(sizes)")
        try await f.stopWorkers()
        #expect(try await steadyKeys().count <= baselineKeys.count, "stopped workers leave no keys behind")
        server.kill()
    }

    @Test func resultsOutsideGroupsExpireWithRetention() async throws {
        var retention = Retention()
        retention.resultAge = .milliseconds(300)
        let f = try QueueFixture(retention: retention)
        _ = try await f.queue.heartbeat(worker: "w", ttl: .seconds(5), lease: .seconds(5), info: [], holding: [])
        _ = try await f.queue.enqueue(f.spec("r"))
        let j = try await f.queue.reserve(worker: "w", queues: ["default"], lease: .seconds(5), max: 1)[0]
        _ = try await f.queue.ack(worker: "w", [Completion(j, result: [1, 2, 3])])
        #expect(try await f.queue.result(of: "r") == [1, 2, 3])
        try await eventually("result expired") { try await f.queue.result(of: "r") == nil }
        try await f.clean()
    }

    @Test func workersRideOutARedisRestartWithAppendOnly() async throws {
        let server = try RedisServerProcess(arguments: ["--appendonly", "yes", "--appendfsync", "everysec"])
        let f = try QueueFixture(url: try RedisURL(parsing: server.url))
        try await f.queue.createGroup(GroupSpec(id: "g", total: 2000, onComplete: f.spec("g-done", queue: "final")))
        let rec = Recorder()
        for i in 0..<2 {
            f.startWorker(
                try f.config(concurrency: 8, id: "W\(i)"), handlers: ["sleep": rec.handler(sleep: .milliseconds(2))])
        }
        _ = try await f.queue.enqueue((0..<2000).map { f.spec("j\($0)", kind: "sleep", group: "g") })
        try await eventually("a quarter done", timeout: .seconds(30)) {
            (try await f.queue.group("g")?.done ?? 0) >= 500
        }
        server.stop()  // SIGTERM: Redis writes its append-only file and exits
        try await Task.sleep(for: .milliseconds(500))
        try server.start()
        try await eventually("group complete after restart", timeout: .seconds(60)) {
            (try? await f.queue.group("g")?.state) == "completed"
        }
        #expect(try await f.queue.group("g")?.done == 2000)
        #expect(try await f.queue.groupResults("g").count == 2000)
        #expect(try await f.queue.list(.pending, queue: "final") == ["g-done"])
        // Every id finished at least once; none is missing.
        #expect(Set(rec.finishes.keys) == Set((0..<2000).map { "j\($0)" }))
        // Each connection logs its outage once when it starts and once when it ends (an idle
        // connection ends its outage when it is next used, so wait for that).
        try await eventually("every outage logged as ended") {
            let lost = f.logs.messages(containing: "connection lost").count
            return lost > 0 && lost == f.logs.messages(containing: "restored").count
        }
        #expect(f.logs.messages(containing: "connection lost").count <= 3, "at most once per connection (3 here)")
        try await f.stopWorkers()
        server.kill()
    }
}
