import Foundation
import JobQueue
import RedisClient

/// A run's life outside its stages: claiming an id for a submit, the submitter's lease, a load
/// that failed or was abandoned, and purging.
///
/// States: `loading` (the submitter stores it, holding a lease it renews) -> `submitted` (stored,
/// not planned yet) -> `running` -> `done`, or `failed` from any of them (a job that died, a
/// load that broke off or was abandoned). A purge deletes a run in any state.
extension RunControl {
    /// How long a submitter's lease lasts unless renewed (it renews it every few seconds).
    public static let submitterLease: Duration = .seconds(30)

    /// Claims `run` for a new submit: creates it in state `loading` with a new generation and
    /// the submitter's lease. A failed run of that id, or one still loading whose submitter's
    /// lease lapsed, is purged and replaced; any other existing run is an error.
    public func claim(_ run: String, dataset: String, lease: Duration = submitterLease) async throws -> RunRef {
        let k = keys(run)
        for _ in 0..<3 {
            let gen = RunRef.newGeneration()
            let r = try await redis.run(
                RunScripts.claim, keys: [k.meta, k.submitter, RunKeys.index(queue.keys)],
                args: [
                    .string(run), .string(gen), .int(Int(Self.nowMillis())), .int(Int(lease.milliseconds)),
                    .string(dataset),
                ]
            ).expectArray("claim").map { $0.string ?? "" }
            if r.first == "created" { return RunRef(id: run, gen: gen) }
            guard r.count == 3, r[2] == "1" else {
                throw RunError(
                    "run \(run) already exists (state \(r.count > 1 ? r[1] : "unknown"))",
                    hint: "choose another --run-id, or free it with: exportctl runs purge \(run)")
            }
            try await purge(run)
        }
        throw RunError("run \(run) is being submitted by another submitter", hint: "choose another --run-id")
    }

    /// Renews the submitter's lease; throws `QueueError.refused` when the run was purged or
    /// replaced (the submitter must stop).
    public func renewLease(_ ref: RunRef, _ lease: Duration = submitterLease) async throws {
        try await write(ref, [GuardedWrite("SET", keys(ref.id).submitter, ["1", "PX", .int(Int(lease.milliseconds))])])
    }

    /// Marks a run that is still loading failed with `reason` and stops its clock; with
    /// `onlyIfAbandoned`, only when its submitter's lease has lapsed. True when it was marked.
    @discardableResult
    public func failLoad(_ ref: RunRef, reason: String, onlyIfAbandoned: Bool = false) async throws -> Bool {
        let k = keys(ref.id)
        return try await redis.run(
            RunScripts.failLoad, keys: [k.meta, k.submitter],
            args: [.string(ref.gen), .int(Int(Self.nowMillis())), .string(reason), onlyIfAbandoned ? "1" : "0"]
        ).int == 1
    }

    /// Deletes every key of a run but its meta hash (what is left of a load that broke off: the
    /// record of it stays until retention). Returns how many.
    @discardableResult
    public func freeData(_ run: String) async throws -> Int {
        let meta = keys(run).meta
        let data = try await runKeys(run).filter { $0 != meta }
        var n = 0
        for s in stride(from: 0, to: data.count, by: 500) {
            let batch = data[s..<min(data.count, s + 500)].map { RedisArgument.string($0) }
            n += Int(try await redis.send(RedisCommand("UNLINK", Array(batch))).int ?? 0)
        }
        return n
    }

    /// Deletes a run in any state and everything it made: its keys, jobs (pending ones dropped,
    /// running ones fenced so their results and writes are refused), finished job records,
    /// groups and index entry. A submitter still storing it stops at its next chunk. Afterwards
    /// its id is free for a new submit. Returns the number of keys deleted.
    @discardableResult
    public func purge(_ run: String) async throws -> Int {
        let k = keys(run)
        // The meta hash goes first: every write of a run is guarded by it, so from here on no
        // submitter, planner or handler adds anything to what is deleted below.
        var deleted = Int(
            try await redis.send(RedisCommand("UNLINK", [.string(k.meta), .string(k.submitter)])).int ?? 0)
        _ = try await redis.send(RedisCommand("ZREM", [.string(RunKeys.index(queue.keys)), .string(run)]))
        let jobs = try await queue.forget(prefix: run + ":")
        deleted += try await queue.deleteKeys(matching: k.pattern)
        return deleted + jobs.groupKeys
    }
}
