import ExportDomain
import Foundation
import JobQueue
import RedisClient

/// A run's state in Redis and the operations on it that every program shares: planning its
/// first stage, reading what it stored, listing and purging runs.
public struct RunControl: Sendable {
    public let queue: JobQueue
    public var redis: RedisConnection { queue.redis }

    public init(queue: JobQueue) { self.queue = queue }

    public func keys(_ run: String) -> RunKeys { RunKeys(queue: queue.keys, runID: run) }

    static func nowMillis() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    // MARK: - Incarnations and guarded writes

    /// The run's current incarnation, or nil when there is no such run.
    public func ref(_ run: String) async throws -> RunRef? {
        let k = keys(run)
        let r = try await redis.pipeline([
            RedisCommand("EXISTS", [.string(k.meta)]), RedisCommand("HGET", [.string(k.meta), "gen"]),
        ])
        guard try r[0].get().int == 1 else { return nil }
        return RunRef(id: run, gen: try r[1].get().string ?? "")
    }

    /// The condition of every write of `ref`: its meta hash exists with its generation.
    public func guardOf(_ ref: RunRef) -> QueueGuard { .field(keys(ref.id).meta, "gen", equals: ref.gen) }

    /// Applies `writes` atomically, only while `ref` is the run's incarnation and, from a job,
    /// while that job still holds its reservation; throws `QueueError.refused` otherwise.
    @discardableResult
    public func write(_ ref: RunRef, _ writes: [GuardedWrite], job: JobContext? = nil) async throws -> [RedisReply] {
        try await queue.write(writes, guard: writeGuard(ref, job))
    }

    func writeGuard(_ ref: RunRef, _ job: JobContext?) -> QueueGuard {
        job.map { $0.guarded(guardOf(ref)) } ?? guardOf(ref)
    }

    // MARK: - Planning

    /// Creates the evaluation group (whose completion enqueues the pool job and whose failure
    /// marks the run failed) and enqueues one evaluation job per chunk. Idempotent: group and
    /// job ids are fixed by the run, so a second planner (a scheduler resuming a run whose
    /// submitter died) changes nothing.
    public func plan(_ run: String) async throws {
        let meta = try await self.meta(run)
        guard let chunksText = meta["chunks"], let chunks = Int(chunksText) else {
            throw RunError("run \(run) is not fully stored (state \(meta["state"] ?? "unknown"))")
        }
        guard meta["state"] == "submitted" || meta["state"] == "running" else { return }
        let ref = RunRef(id: run, gen: meta["gen"] ?? "")
        let group = GroupSpec(
            id: RunJobs.evaluateGroup(run), total: chunks,
            onComplete: JobSpec(
                id: RunJobs.poolJob(run), queue: RunJobs.controlQueue, kind: RunJobs.poolKind,
                payload: JobRef(run: run, index: 0).encoded(), maxAttempts: 5, timeout: .seconds(600)),
            onFailure: failSpec(run))
        let jobs = (0..<chunks).map { c in
            JobSpec(
                id: RunJobs.evaluateJob(run, chunk: c), queue: RunJobs.evaluateQueue, kind: RunJobs.evaluateKind,
                payload: JobRef(run: run, index: c).encoded(), maxAttempts: 5, timeout: .seconds(300),
                group: RunJobs.evaluateGroup(run))
        }
        try await startStage(ref, group: group, jobs: jobs, job: nil)
        let k = keys(run).meta
        try await write(
            ref, [.hset(k, [("planned", "1"), ("state", "running")]), .hsetnx(k, "started_ms", "\(Self.nowMillis())")])
    }

    /// Creates a stage's group and enqueues its members, under `ref`'s guard (and `job`'s
    /// reservation). When the group is new, none of its jobs may be a finished record already:
    /// such a record is left from an earlier run of this id, the queue would skip the job, and the
    /// stage would wait for ever; the run is marked failed instead, saying so.
    func startStage(_ ref: RunRef, group: GroupSpec, jobs: [JobSpec], job: JobContext?) async throws {
        let g = writeGuard(ref, job)
        let created = try await queue.createGroup(group, guard: g)
        let outcomes = try await queue.enqueue(jobs, guard: g)
        guard created else { return }
        let skipped = zip(jobs, outcomes).filter { $0.1 == .existed }.map(\.0.id)
        let stale = try await queue.finished(skipped + [group.onComplete?.id, group.onFailure?.id].compactMap { $0 })
        guard let first = stale.first else { return }
        let error = RunError(
            "run \(ref.id): job \(first) (and \(stale.count - 1) more) exists already as a finished job of an earlier "
                + "run with this id, so this run would wait on it for ever",
            hint: "purge the run and submit it again: exportctl runs purge \(ref.id)")
        try await markFailed(ref, "\(error.message)", job: job)
        throw error
    }

    /// Marks the run failed with `reason` and stops its clock (the first failure time stays).
    public func markFailed(_ ref: RunRef, _ reason: String, job: JobContext? = nil) async throws {
        let k = keys(ref.id).meta
        try await write(
            ref,
            [
                .hset(k, [("state", "failed"), ("error", .string(reason))]),
                .hsetnx(k, "finished_ms", "\(Self.nowMillis())"),
            ],
            job: job)
    }

    func failSpec(_ run: String) -> JobSpec {
        JobSpec(
            id: RunJobs.failJob(run), queue: RunJobs.controlQueue, kind: RunJobs.failKind,
            payload: JobRef(run: run, index: 0).encoded(), maxAttempts: 5, timeout: .seconds(60))
    }

    // MARK: - Reading

    /// A hash's fields and values (HGETALL), the values as bytes.
    func hash(_ key: String) async throws -> [(field: String, value: [UInt8])] {
        let r = try await redis.send(RedisCommand("HGETALL", [.string(key)])).expectArray(key)
        var out: [(field: String, value: [UInt8])] = []
        var i = 0
        while i + 1 < r.count {
            if let k = r[i].string { out.append((k, r[i + 1].bytes ?? [])) }
            i += 2
        }
        return out
    }

    public func meta(_ run: String) async throws -> [String: String] {
        var out: [String: String] = [:]
        for (k, v) in try await hash(keys(run).meta) { out[k] = String(decoding: v, as: UTF8.self) }
        return out
    }

    /// A run's stages as the meta hash times them: (stage, field of its start, field of its end).
    public static let stageMarks: [(stage: String, start: String, end: String)] = [
        ("load", "created_ms", "submitted_ms"), ("evaluate", "started_ms", "evaluate_done_ms"),
        ("pool", "evaluate_done_ms", "pool_done_ms"), ("ecosystems", "pool_done_ms", "ecosystem_done_ms"),
        ("collect", "ecosystem_done_ms", "finished_ms"),
    ]

    /// The id of the leading scheduler, nil when none holds the lease (`SchedulerService.leaderKey`).
    public func schedulerLeader() async throws -> String? {
        try await redis.send(RedisCommand("GET", [.string(queue.keys.prefix + "scheduler:leader")])).string
    }

    public func exists(_ run: String) async throws -> Bool {
        try await redis.send(RedisCommand("EXISTS", [.string(keys(run).meta)])).int == 1
    }

    public func bytes(_ key: String) async throws -> [UInt8]? {
        try await redis.send(RedisCommand("GET", [.string(key)])).bytes
    }

    public func list(_ key: String) async throws -> [[UInt8]] {
        try await redis.send(RedisCommand("LRANGE", [.string(key), 0, -1])).expectArray("list").map { $0.bytes ?? [] }
    }

    public func tables(_ run: String) async throws -> RunTables {
        guard let b = try await bytes(keys(run).tables) else {
            throw PermanentFailure("run \(run) has no stored tables (purged, or never submitted)")
        }
        do { return try RunTables.decode(b) } catch { throw PermanentFailure("run \(run) tables: \(error)") }
    }

    public func inputReport(_ run: String) async throws -> RunInputReport {
        guard let b = try await bytes(keys(run).inputReport) else {
            throw PermanentFailure("run \(run) has no stored input report")
        }
        do { return try RunInputReport.decode(b) } catch { throw PermanentFailure("run \(run) input report: \(error)") }
    }

    /// The report files of a finished run, by file name.
    public func reportFiles(_ run: String) async throws -> [String: [UInt8]] {
        Dictionary(try await hash(keys(run).report), uniquingKeysWith: { a, _ in a })
    }

    /// Every run id, oldest first.
    public func runs() async throws -> [String] {
        try await redis.send(RedisCommand("ZRANGE", [.string(RunKeys.index(queue.keys)), 0, -1]))
            .expectArray("runs").compactMap(\.string)
    }

    /// Redis memory used by a run's keys (MEMORY USAGE summed over them), and their count.
    public func memory(_ run: String) async throws -> (bytes: Int64, keys: Int) {
        var total: Int64 = 0
        var n = 0
        for k in try await runKeys(run) {
            n += 1
            total += try await redis.send(RedisCommand("MEMORY", ["USAGE", .string(k), "SAMPLES", 0])).int ?? 0
        }
        return (total, n)
    }

    func runKeys(_ run: String) async throws -> [String] {
        var out: [String] = []
        var cursor = "0"
        repeat {
            let r = try await redis.send(
                RedisCommand("SCAN", [.string(cursor), "MATCH", .string(keys(run).pattern), "COUNT", 1000])
            ).expectArray("scan")
            guard r.count == 2 else { throw RunError("unexpected SCAN reply") }
            cursor = r[0].string ?? "0"
            out += (r[1].array ?? []).compactMap(\.string)
        } while cursor != "0"
        return out
    }
}
