import Foundation
import RedisClient
import TestSupport
import Testing

@testable import JobQueue

@Suite("Queue semantics on a real redis-server")
struct QueueBasicsTests {
    /// The scripts' key expressions build, on the server, the very keys `QueueKeys` builds in Swift.
    @Test func luaKeyExpressionsEqualTheSwiftKeys() async throws {
        let f = try QueueFixture()
        let k = QueueKeys(namespace: "ns-\(UInt32.random(in: 0...UInt32.max))")
        // (Lua expression over `id`, the Swift key, the id): batch keys take a numeric token.
        let cases: [(lua: String, swift: String, id: String)] = [
            (L.job("id"), k.job("j:1"), "j:1"), (L.marker("id"), k.marker("j:1"), "j:1"),
            (L.result("id"), k.result("j:1"), "j:1"), (L.pending("id"), k.pending("q1"), "q1"),
            (L.signal("id"), k.signal("q1"), "q1"), (L.worker("id"), k.worker("w1"), "w1"),
            (L.active("id"), k.active("w1"), "w1"), (L.batch("id"), k.batch(17), "17"),
            (L.batchDone("id"), k.batchDone(17), "17"), (L.batchOwner("id"), k.batchOwner(17), "17"),
            (L.group("id"), k.group("g:1"), "g:1"), (L.groupResults("id"), k.groupResults("g:1"), "g:1"),
            (L.cancelRequests, k.cancelRequests, ""), (L.progress, k.progress, ""), (L.tokens, k.tokens, ""),
            (L.queues, k.queues, ""), (L.paused, k.paused, ""), (L.scheduled, k.scheduled, ""), (L.done, k.done, ""),
            (L.dead, k.dead, ""), (L.canceled, k.canceled, ""), (L.stats, k.stats, ""), (L.workers, k.workers, ""),
        ]
        for c in cases {
            let script = "local P = ARGV[1]\nlocal id = ARGV[2]\nreturn \(c.lua)"
            let reply = try await f.redis.send(
                RedisCommand("EVAL", [.string(script), "0", .string(k.prefix), .string(c.id)]))
            #expect(reply.string == c.swift, "\(c.lua)")
        }
    }

    @Test func enqueueIsIdempotentById() async throws {
        let f = try QueueFixture()
        #expect(try await f.queue.enqueue(f.spec("a")) == .created)
        #expect(try await f.queue.enqueue(f.spec("a", payload: "different")) == .existed)
        let bulk = try await f.queue.enqueue([f.spec("a"), f.spec("b"), f.spec("c"), f.spec("b")])
        #expect(bulk == [.existed, .created, .created, .existed])
        #expect(try await f.queue.depths()["default"] == 3)
        #expect(try await f.stat("enqueued") == 3)
        // A completed id stays refused within the retention window.
        let w = "w1"
        _ = try await f.queue.heartbeat(worker: w, ttl: .seconds(5), lease: .seconds(5), info: [], holding: [])
        let jobs = try await f.queue.reserve(worker: w, queues: ["default"], lease: .seconds(5), max: 10)
        #expect(jobs.map(\.id) == ["a", "b", "c"])
        _ = try await f.queue.ack(worker: w, jobs.map { Completion($0, result: nil) })
        #expect(try await f.queue.enqueue(f.spec("a")) == .existed)
        try await f.clean()
    }

    @Test func invalidSpecsAreRejectedBeforeRedis() async throws {
        let f = try QueueFixture()
        await #expect(throws: QueueError.self) { _ = try await f.queue.enqueue(f.spec("has space")) }
        await #expect(throws: QueueError.self) { _ = try await f.queue.enqueue(f.spec("")) }
        await #expect(throws: QueueError.self) { _ = try await f.queue.enqueue(f.spec("x", maxAttempts: 0)) }
        await #expect(throws: QueueError.self) { _ = try await f.queue.enqueue(f.spec("x", group: "no-such-group")) }
        #expect(try await f.keys().filter { $0.contains(":job:") }.isEmpty)
    }

    @Test func reservationsWhoseReplyWasLostAreHandedBack() async throws {
        let f = try QueueFixture()
        _ = try await f.queue.enqueue([f.spec("x"), f.spec("y"), f.spec("z")])
        _ = try await f.queue.heartbeat(worker: "w", ttl: .seconds(5), lease: .seconds(30), info: [], holding: [])
        // The worker saw this batch...
        let seen = try await f.queue.reserve(worker: "w", queues: ["default"], lease: .seconds(30), max: 1)
        // ...but not this one (its reply "was lost").
        let lost = try await f.queue.reserve(worker: "w", queues: ["default"], lease: .seconds(30), max: 2)
        #expect(lost.map(\.id) == ["y", "z"])
        #expect(
            try await f.queue.releaseUnknownBatches(worker: "w", known: Set(seen.map(\.token))) == 2)
        // Back at the front of the queue at once, the attempt not counted; the known one kept.
        #expect(try await f.queue.depths()["default"] == 2)
        #expect(Set(try await f.queue.held(by: "w").map(\.id)) == ["x"])
        _ = try await f.queue.heartbeat(worker: "w2", ttl: .seconds(5), lease: .seconds(30), info: [], holding: [])
        let again = try await f.queue.reserve(worker: "w2", queues: ["default"], lease: .seconds(30), max: 5)
        #expect(Set(again.map(\.id)) == ["y", "z"])
        #expect(again.allSatisfy { $0.attempt == 1 })
        // Nothing unknown left: a second call hands back nothing.
        #expect(try await f.queue.releaseUnknownBatches(worker: "w", known: Set(seen.map(\.token))) == 0)
        try await f.clean()
    }

    @Test func ackIsFencedByToken() async throws {
        let f = try QueueFixture()
        _ = try await f.queue.enqueue(f.spec("j"))
        _ = try await f.queue.heartbeat(worker: "w", ttl: .seconds(5), lease: .seconds(5), info: [], holding: [])
        let job = try #require(
            try await f.queue.reserve(worker: "w", queues: ["default"], lease: .seconds(5), max: 1).first)
        #expect(job.token > 0 && job.attempt == 1)
        // A stale token (a previous holder) is refused and changes nothing.
        #expect(
            try await f.queue.ack(worker: "w", [Completion(id: "j", token: 0, slot: 0, result: Array("stale".utf8))])
                == [
                    .leaseLost
                ])
        #expect(
            try await f.queue.fail(
                worker: "w", [Failure(id: "j", token: 0, slot: 0, mode: .dead, delay: .zero, error: "x")])
                == [.fenced])
        #expect(try await f.queue.job("j")?.state == "active")
        // The holder's ack is recorded once; a repeat is refused.
        #expect(
            try await f.queue.ack(worker: "w", [Completion(job, result: Array("r".utf8))]) == [.recorded])
        #expect(
            try await f.queue.ack(worker: "w", [Completion(job, result: Array("r2".utf8))]) == [
                .leaseLost
            ])
        #expect(try await f.queue.result(of: "j") == Array("r".utf8))
        #expect(try await f.stat("processed") == 1)
        #expect(try await f.stat("fenced") == 3)
        try await f.clean()
    }

    @Test func reserveRequiresALiveRegistration() async throws {
        let f = try QueueFixture()
        _ = try await f.queue.enqueue(f.spec("j"))
        await #expect(throws: QueueError.workerGone("WORKERGONE worker ghost is not registered")) {
            _ = try await f.queue.reserve(worker: "ghost", queues: ["default"], lease: .seconds(5), max: 1)
        }
        #expect(try await f.queue.depths()["default"] == 1)
        try await f.clean()
    }

    @Test func delayedJobsDoNotRunEarly() async throws {
        let clock = ManualClock()
        let f = try QueueFixture(clock: clock)
        _ = try await f.queue.enqueue(f.spec("later", schedule: .after(.seconds(10))))
        _ = try await f.queue.enqueue(f.spec("at", schedule: .at(epochMillis: clock.nowMillis() + 20_000)))
        _ = try await f.queue.heartbeat(worker: "w", ttl: .seconds(60), lease: .seconds(60), info: [], holding: [])
        func due() async throws -> [String] {
            _ = try await f.queue.maintain(owner: "m", lockFor: .milliseconds(1))
            try await Task.sleep(for: .milliseconds(3))  // the 1 ms lock lapses
            return try await f.queue.reserve(worker: "w", queues: ["default"], lease: .seconds(60), max: 10).map(\.id)
        }
        clock.advance(by: .milliseconds(9_999))
        #expect(try await due() == [])
        clock.advance(by: .milliseconds(1))
        #expect(try await due() == ["later"])
        clock.advance(by: .milliseconds(9_999))
        #expect(try await due() == [])
        clock.advance(by: .milliseconds(1))
        #expect(try await due() == ["at"])
        try await f.clean()
    }

    @Test func poisonJobDiesAfterMaxAttemptsOnTheBackoffSchedule() async throws {
        let clock = ManualClock()
        let f = try QueueFixture(clock: clock)
        let policy = RetryPolicy(base: .seconds(2), factor: 3, max: .seconds(30), jitter: 0)
        _ = try await f.queue.enqueue(f.spec("poison", maxAttempts: 5))
        _ = try await f.queue.heartbeat(worker: "w", ttl: .seconds(600), lease: .seconds(600), info: [], holding: [])
        var rng = SystemRandomNumberGenerator()
        var waits: [Int64] = []
        for attempt in 1...5 {
            // Not due one millisecond early, due exactly on time.
            if attempt > 1 {
                let info = try #require(try await f.queue.job("poison"))
                #expect(info.state == "scheduled")
                let runAt = try #require(info.runAt)
                waits.append(runAt - clock.nowMillis())
                clock.set(runAt - 1)
                _ = try await f.queue.maintain(owner: "m\(attempt)a", lockFor: .milliseconds(1))
                #expect(try await f.queue.depths()["default"] == 0)
                try await Task.sleep(for: .milliseconds(3))
                clock.set(runAt)
                _ = try await f.queue.maintain(owner: "m\(attempt)b", lockFor: .milliseconds(1))
                try await Task.sleep(for: .milliseconds(3))
            }
            let job = try #require(
                try await f.queue.reserve(worker: "w", queues: ["default"], lease: .seconds(600), max: 1).first)
            #expect(job.attempt == attempt)
            let delay = policy.delay(afterAttempt: attempt, using: &rng)
            let outcome = try await f.queue.fail(
                worker: "w",
                [Failure(job, mode: .retry, delay: delay, error: "boom \(attempt)")])
            #expect(outcome == [attempt < 5 ? .retry : .dead])
        }
        #expect(waits == [2_000, 6_000, 18_000, 30_000])
        let dead = try #require(try await f.queue.job("poison"))
        #expect(dead.state == "dead" && dead.lastError == "boom 5" && dead.attempts == 5)
        #expect(try await f.queue.list(.dead) == ["poison"])
        let stats = try await f.queue.stats()
        #expect(stats["dead"] == 1 && stats["retried"] == 4 && stats["failed"] == 5)
        // Requeue gives fresh attempts; purge deletes the hash and the index entry.
        #expect(try await f.queue.requeueDead(["poison"]) == 1)
        #expect(try await f.queue.job("poison")?.state == "pending")
        let again = try #require(
            try await f.queue.reserve(worker: "w", queues: ["default"], lease: .seconds(60), max: 1).first)
        #expect(again.attempt == 1)
        _ = try await f.queue.fail(
            worker: "w", [Failure(again, mode: .dead, error: "final")])
        #expect(try await f.queue.purgeDead(ids: ["poison"]) == 1)
        #expect(try await f.queue.job("poison") == nil)
        #expect(try await f.queue.list(.dead).isEmpty)
        try await f.clean()
    }

    @Test func backoffJitterStaysWithinBounds() {
        let p = RetryPolicy(base: .seconds(1), factor: 2, max: .seconds(60), jitter: 0.25)
        var rng = SystemRandomNumberGenerator()
        for attempt in 1...10 {
            let ceil = min(1000 * (1 << (attempt - 1)), 60_000)
            for _ in 0..<200 {
                let d = p.delay(afterAttempt: attempt, using: &rng).milliseconds
                #expect(d <= Int64(ceil) && d >= Int64(Double(ceil) * 0.75) - 1, "attempt \(attempt): \(d)")
            }
        }
    }

    @Test func cancelPendingScheduledAndRunning() async throws {
        let f = try QueueFixture()
        let rec = Recorder()
        _ = try await f.queue.enqueue([f.spec("p1", queue: "held"), f.spec("s1", schedule: .after(.seconds(60)))])
        #expect(try await f.queue.cancel("p1") == .canceled)
        #expect(try await f.queue.cancel("s1") == .canceled)
        #expect(try await f.queue.cancel("p1") == .alreadyCanceled)
        #expect(try await f.queue.cancel("nope") == .missing)
        // A running job sees the cancellation at its next checkpoint.
        let handler = ClosureJobHandler { ctx in
            rec.started(ctx.id)
            while true {
                try ctx.checkpoint()
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        f.startWorker(try f.config(queues: "default,held"), handlers: ["loop": handler])
        _ = try await f.queue.enqueue(f.spec("r1", kind: "loop"))
        try await eventually("r1 running") { rec.startCount("r1") == 1 }
        #expect(try await f.queue.cancel("r1") == .requested)
        try await eventually("r1 canceled") { try await f.queue.job("r1")?.state == "canceled" }
        #expect(try await f.queue.list(.canceled).sorted() == ["p1", "r1", "s1"])
        #expect(try await f.stat("canceled") == 3)
        // The canceled pending id was skipped, never run.
        try await Task.sleep(for: .milliseconds(300))
        #expect(rec.startCount("p1") == 0)
        #expect(try await f.queue.depths()["held"] == 0)
        try await f.stopWorkers()
        try await f.clean()
    }

    @Test func pauseAndResume() async throws {
        let f = try QueueFixture()
        let rec = Recorder()
        try await f.queue.pause(queue: "default")
        f.startWorker(try f.config(), handlers: ["record": rec.handler()])
        _ = try await f.queue.enqueue((0..<5).map { f.spec("j\($0)") })
        try await Task.sleep(for: .milliseconds(600))
        #expect(rec.totalFinished == 0)
        #expect(try await f.queue.pausedQueues() == ["default"])
        try await f.queue.resume(queue: "default")
        try await eventually("all done after resume") { rec.totalFinished == 5 }
        try await f.stopWorkers()
        try await f.clean()
    }

    @Test func progressIsFencedAndReadable() async throws {
        let f = try QueueFixture()
        let gate = AsyncGate()
        f.startWorker(
            try f.config(),
            handlers: [
                "p": ClosureJobHandler { ctx in
                    try await ctx.progress("{\"done\":50}")
                    await gate.wait()
                    return nil
                }
            ])
        _ = try await f.queue.enqueue(f.spec("pj", kind: "p"))
        try await eventually("progress visible") { try await f.queue.progress(of: "pj") == "{\"done\":50}" }
        let info = try #require(try await f.queue.job("pj"))
        let holder = try #require(info.worker)
        func forged(token: Int64, slot: Int) -> ReservedJob {
            ReservedJob(
                id: "pj", token: token, slot: slot, attempt: 1, maxAttempts: 3, timeout: .seconds(1), queue: "default",
                kind: "p", payload: [], group: nil)
        }
        #expect(
            try await f.queue.setProgress(worker: holder, job: forged(token: info.token + 1, slot: 0), "forged")
                == .leaseLost)
        #expect(
            try await f.queue.setProgress(worker: holder, job: forged(token: info.token, slot: 1), "forged")
                == .leaseLost)
        #expect(
            try await f.queue.setProgress(worker: "nobody", job: forged(token: info.token, slot: 0), "forged")
                == .leaseLost)
        #expect(try await f.queue.progress(of: "pj") == "{\"done\":50}")
        await gate.open()
        try await eventually("pj done") { try await f.queue.job("pj")?.state == "done" }
        try await f.stopWorkers()
        try await f.clean()
    }

    @Test func weightedOrderFollowsWeights() throws {
        var c = WorkerConfiguration(queues: try WeightedQueue.parseList("a:3,b:1"), concurrency: 1)
        var rng = SystemRandomNumberGenerator()
        var firstA = 0
        for _ in 0..<4000 where c.reservationOrderForTesting(using: &rng).first == "a" { firstA += 1 }
        #expect(firstA > 2700 && firstA < 3300, "a first \(firstA) of 4000, expected about 3000")
        c.strictPriority = true
        #expect(c.reservationOrderForTesting(using: &rng) == ["a", "b"])
        #expect(throws: QueueError.self) { try WeightedQueue.parseList("a:0") }
        #expect(throws: QueueError.self) { try WeightedQueue.parseList("") }
    }
}

/// A one-shot gate tasks can wait on.
actor AsyncGate {
    private var isOpen = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func wait() async {
        if isOpen { return }
        await withCheckedContinuation { waiters.append($0) }
    }

    func open() {
        isOpen = true
        for w in waiters { w.resume() }
        waiters = []
    }
}

@Suite("Queue scripts and fencing edges")
struct QueueEdgeTests {
    @Test func everyScriptCompilesOnTheServer() async throws {
        let f = try QueueFixture()
        try await f.queue.loadScripts()
    }

    @Test func forgedOrRepeatedCompletionsAreRefused() async throws {
        let f = try QueueFixture()
        _ = try await f.queue.enqueue([f.spec("a"), f.spec("b")])
        _ = try await f.queue.heartbeat(worker: "w", ttl: .seconds(5), lease: .seconds(5), info: [], holding: [])
        let jobs = try await f.queue.reserve(worker: "w", queues: ["default"], lease: .seconds(5), max: 10)
        #expect(jobs.map(\.slot) == [0, 1])
        #expect(Set(jobs.map(\.token)).count == 1)
        let forged = Completion(id: "a", token: jobs[0].token, slot: 7, result: nil)
        let twice = Completion(jobs[0], result: Array("x".utf8))
        let outcomes = try await f.queue.ack(worker: "w", [forged, twice, twice])
        #expect(outcomes == [.leaseLost, .recorded, .leaseLost])
        // Another worker cannot complete what w holds.
        _ = try await f.queue.heartbeat(worker: "w2", ttl: .seconds(5), lease: .seconds(5), info: [], holding: [])
        #expect(try await f.queue.ack(worker: "w2", [Completion(jobs[1], result: nil)]) == [.leaseLost])
        #expect(try await f.queue.ack(worker: "w", [Completion(jobs[1], result: nil)]) == [.recorded])
        #expect(try await f.stat("processed") == 2)
        // The batch is gone once every slot is finished.
        #expect(try await f.keys().filter { $0.contains(":batch:") || $0.contains(":bdone:") }.isEmpty)
        try await f.clean()
    }

    @Test func duplicateIdsInOneBulkCallCountOnce() async throws {
        let f = try QueueFixture()
        let outcomes = try await f.queue.enqueue([f.spec("x"), f.spec("y"), f.spec("x")])
        #expect(outcomes == [.created, .created, .existed])
        // A call where some ids exist takes the per-id path.
        let again = try await f.queue.enqueue([f.spec("y"), f.spec("z"), f.spec("z")])
        #expect(again == [.existed, .created, .existed])
        #expect(try await f.queue.depths()["default"] == 3)
        #expect(try await f.stat("enqueued") == 3)
        try await f.clean()
    }

    @Test func bulkEnqueueAcrossManyScriptCallsKeepsOrderAndOutcomes() async throws {
        let f = try QueueFixture()
        let specs = (0..<2_345).map { f.spec("j\($0)") }
        let first = try await f.queue.enqueue(specs, batchSize: 100)
        #expect(first.allSatisfy { $0 == .created })
        var mixed = specs.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
        mixed += (0..<50).map { f.spec("new\($0)") }
        let second = try await f.queue.enqueue(mixed, batchSize: 100)
        #expect(second.prefix(mixed.count - 50).allSatisfy { $0 == .existed })
        #expect(second.suffix(50).allSatisfy { $0 == .created })
        #expect(try await f.queue.list(.pending, limit: 3) == ["j0", "j1", "j2"])
        #expect(try await f.queue.depths()["default"] == 2_395)
        try await f.clean()
    }

    @Test func jobRecordRoundTripsBinaryPayloads() async throws {
        let f = try QueueFixture()
        let payload: [UInt8] = [0, 10, 10, 255, 13] + Array("a\nb\n".utf8)
        let spec = JobSpec(
            id: "bin", queue: "q", kind: "k", payload: payload, maxAttempts: 7, timeout: .milliseconds(1234), group: nil
        )
        _ = try await f.queue.enqueue(spec)
        _ = try await f.queue.heartbeat(worker: "w", ttl: .seconds(5), lease: .seconds(5), info: [], holding: [])
        let job = try #require(try await f.queue.reserve(worker: "w", queues: ["q"], lease: .seconds(5), max: 1).first)
        #expect(job.id == "bin" && job.queue == "q" && job.kind == "k")
        #expect(job.payload == payload && job.maxAttempts == 7 && job.timeout == .milliseconds(1234))
        #expect(job.attempt == 1 && job.group == nil)
        let info = try #require(try await f.queue.job("bin"))
        #expect(
            info.state == "active" && info.worker == "w" && info.token == job.token
                && info.payloadBytes == payload.count)
        try await f.clean()
    }
}
