import Foundation
import JobQueue
import ProcessSupport
import RedisClient
import TestSupport
import Testing

/// What an owner needs to delete what it made and make it again: forgetting every job and group
/// of an id prefix, guarded writes that stop once their condition goes, and fencing tokens that
/// never repeat, even across a Redis restart from an older snapshot.
@Suite("Queue: forgetting, guards, fencing across a rollback", .serialized)
struct QueueLifecycleTests {
    @Test func forgettingAPrefixLeavesNothingOfItAndFreesItsIds() async throws {
        let f = try QueueFixture()
        try await f.queue.createGroup(GroupSpec(id: "r:g", total: 3, onComplete: f.spec("r:done", queue: "final")))
        _ = try await f.queue.enqueue((1...3).map { f.spec("r:\($0)", group: "r:g") })
        _ = try await f.queue.enqueue(f.spec("r:dead", queue: "poison", maxAttempts: 1))
        _ = try await f.queue.enqueue(f.spec("r:later", schedule: .after(.seconds(600))))
        _ = try await f.queue.enqueue(f.spec("other:1"))
        _ = try await f.queue.heartbeat(worker: "w", ttl: .seconds(60), lease: .seconds(60), info: [], holding: [])
        let two = try await f.queue.reserve(worker: "w", queues: ["default"], lease: .seconds(60), max: 2)
        #expect(two.map(\.id) == ["r:1", "r:2"])
        #expect(try await f.queue.ack(worker: "w", [Completion(two[0], result: Array("one".utf8))]) == [.recorded])
        let poison = try #require(
            try await f.queue.reserve(worker: "w", queues: ["poison"], lease: .seconds(60), max: 1).first)
        #expect(try await f.queue.fail(worker: "w", [Failure(poison, mode: .dead, error: "boom")]) == [.dead])
        #expect(try await f.queue.setProgress(worker: "w", job: two[1], "half") == .recorded)

        let report = try await f.queue.forget(prefix: "r:")
        #expect(report.pending == 1 && report.scheduled == 1 && report.running == 1)
        #expect(report.finished == 2 && report.groupKeys == 2)

        // The running job's holder is told at its heartbeat, and its late ack changes nothing
        // (the deleted group is not made again).
        let hb = try await f.queue.heartbeat(
            worker: "w", ttl: .seconds(60), lease: .seconds(60), info: [],
            holding: [HeldJob(id: "r:2", token: two[1].token, slot: two[1].slot)])
        #expect(hb.lost == ["r:2"])
        #expect(try await f.queue.ack(worker: "w", [Completion(two[1], result: Array("late".utf8))]) == [.leaseLost])
        let left = try await f.keys().filter { $0.contains(":r:") }
        #expect(left.isEmpty, "left: \(left)")
        for set in [JobListing.done, .dead, .scheduled, .pending] {
            #expect(try await f.queue.list(set).filter { $0.hasPrefix("r:") }.isEmpty, "\(set) still lists r: jobs")
        }
        #expect(try await f.queue.progress(of: "r:2") == nil)
        #expect(try await f.queue.list(.pending) == ["other:1"])
        // Every id is free again: the same ids make new jobs.
        try await f.queue.createGroup(GroupSpec(id: "r:g", total: 1, onComplete: nil))
        #expect(try await f.queue.enqueue(f.spec("r:1", group: "r:g")) == .created)
        #expect(try await f.queue.enqueue(f.spec("r:dead")) == .created)
        try await f.clean()
    }

    @Test func guardedWritesAndEnqueuesStopWhenTheirConditionGoes() async throws {
        let f = try QueueFixture()
        let owner = f.queue.keys.prefix + "owner"
        let target = f.queue.keys.prefix + "target"
        _ = try await f.redis.send(RedisCommand("HSET", [.string(owner), "gen", "g1"]))
        let g1 = QueueGuard.field(owner, "gen", equals: "g1")
        try await f.queue.write([.set(target, Array("one".utf8))], guard: g1)
        #expect(try await f.queue.enqueue(f.spec("a"), guard: g1) == .created)
        _ = try await f.redis.send(RedisCommand("HSET", [.string(owner), "gen", "g2"]))
        await #expect(throws: QueueError.self) { try await f.queue.write([.set(target, Array("two".utf8))], guard: g1) }
        await #expect(throws: QueueError.self) { try await f.queue.enqueue(f.spec("b"), guard: g1) }
        await #expect(throws: QueueError.self) {
            try await f.queue.createGroup(GroupSpec(id: "g", total: 1, onComplete: nil), guard: g1)
        }
        _ = try await f.redis.send(RedisCommand("DEL", [.string(owner)]))
        await #expect(throws: QueueError.self) {
            try await f.queue.write([.set(target, Array("three".utf8))], guard: .field(owner, "gen", equals: ""))
        }
        #expect(try await f.redis.send(RedisCommand("GET", [.string(target)])).string == "one")
        #expect(try await f.queue.job("b") == nil)
        #expect(try await f.queue.group("g") == nil)

        // A job's own reservation: its writes stop once its slot is closed.
        _ = try await f.queue.heartbeat(worker: "w", ttl: .seconds(60), lease: .seconds(60), info: [], holding: [])
        let job = try #require(
            try await f.queue.reserve(worker: "w", queues: ["default"], lease: .seconds(60), max: 1).first)
        let held = QueueGuard.none.held(by: "w", job)
        try await f.queue.write([.hincrby(target + ":n", "x", 1)], guard: held)
        try await f.queue.forget(prefix: "a")
        await #expect(throws: QueueError.self) {
            try await f.queue.write([.hincrby(target + ":n", "x", 1)], guard: held)
        }
        #expect(try await f.redis.send(RedisCommand("HGET", [.string(target + ":n"), "x"])).int == 1)
        // Only whitelisted commands on the namespace's own keys.
        await #expect(throws: (any Error).self) {
            try await f.queue.write([GuardedWrite("SET", "elsewhere", ["x"])], guard: .none)
        }
        try await f.clean()
    }

    /// A Redis restarted from an older snapshot has an older token counter; tokens must still
    /// never be handed out twice, or a late ack from before the restart would be taken for the
    /// current holder's.
    @Test func fencingSurvivesARestartFromAnOlderSnapshot() async throws {
        let server = try RedisServerProcess()
        let f = try QueueFixture(url: try RedisURL(parsing: server.url))
        _ = try await f.queue.enqueue([f.spec("a"), f.spec("b")])
        _ = try await f.queue.heartbeat(worker: "w", ttl: .seconds(600), lease: .seconds(600), info: [], holding: [])
        // Warm the counter as a long-lived server would have.
        _ = try await f.redis.send(RedisCommand("INCRBY", [.string(f.queue.keys.tokens), 41]))
        _ = try await f.redis.send(RedisCommand("SAVE"))
        let before = try #require(
            try await f.queue.reserve(worker: "w", queues: ["default"], lease: .seconds(600), max: 1).first)
        #expect(before.id == "a")

        server.kill()  // the reservation above was never saved
        try server.start()
        try await eventually("Redis back from its snapshot") {
            (try? await f.redis.send(RedisCommand("LLEN", [.string(f.queue.keys.pending("default"))])))?.int == 2
        }
        // Someone cancels a meanwhile; w takes the next job, b, in the same slot.
        #expect(try await f.queue.cancel("a") == .canceled)
        let after = try #require(
            try await f.queue.reserve(worker: "w", queues: ["default"], lease: .seconds(600), max: 1).first)
        #expect(after.id == "b" && after.slot == before.slot)
        #expect(after.token > before.token, "token \(after.token) after the restart, \(before.token) before it")
        // The ack from before the restart is refused; the current holder's is recorded.
        #expect(try await f.queue.ack(worker: "w", [Completion(before, result: Array("stale".utf8))]) == [.leaseLost])
        #expect(try await f.queue.ack(worker: "w", [Completion(after, result: nil)]) == [.recorded])
        #expect(try await f.queue.job("b")?.state == "done")
        #expect(try await f.queue.result(of: "a") == nil)
    }
}
