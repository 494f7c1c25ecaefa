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
