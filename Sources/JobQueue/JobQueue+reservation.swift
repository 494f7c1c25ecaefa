import RedisClient

/// A job's completion as reported by the worker holding it.
public struct Completion: Sendable {
    public var id: String
    public var token: Int64
    public var slot: Int
    /// The job's group, as reserve handed it out.
    public var group: String?
    /// Whether the job has had an attempt before this one (then it has a job hash to delete).
    public var retried: Bool
    public var result: [UInt8]?

    public init(id: String, token: Int64, slot: Int, group: String? = nil, retried: Bool = false, result: [UInt8]?) {
        self.id = id
        self.token = token
        self.slot = slot
        self.group = group
        self.retried = retried
        self.result = result
    }

    public init(_ job: ReservedJob, result: [UInt8]?) {
        self.init(
            id: job.id, token: job.token, slot: job.slot, group: job.group, retried: job.attempt > 1, result: result)
    }
}

/// A failed attempt as reported by the worker holding it.
public struct Failure: Sendable {
    public enum Mode: String, Sendable {
        /// Retry after `delay` unless attempts are used up.
        case retry
        /// Straight to the dead set (the handler says retrying cannot help).
        case dead
        /// Canceled on request.
        case cancel
    }

    public var id: String
    public var token: Int64
    public var slot: Int
    public var mode: Mode
    public var delay: Duration
    public var error: String

    public init(id: String, token: Int64, slot: Int, mode: Mode, delay: Duration, error: String) {
        self.id = id
        self.token = token
        self.slot = slot
        self.mode = mode
        self.delay = delay
        self.error = error
    }

    public init(_ job: ReservedJob, mode: Mode, delay: Duration = .zero, error: String) {
        self.init(id: job.id, token: job.token, slot: job.slot, mode: mode, delay: delay, error: error)
    }
}

/// What one maintenance pass did (nil when another process held the lock).
public struct MaintenanceReport: Sendable, Equatable {
    public var forwarded: Int
    public var reclaimed: Int
    /// Reclaimed jobs that had used up their attempts and went to the dead set.
    public var killed: Int
    public var workersRemoved: Int
}

/// What a heartbeat learned.
public struct HeartbeatReply: Sendable, Equatable {
    /// Jobs this worker no longer holds (their batch was reclaimed, or their slot closed by a
    /// purge): stop them, drop their results.
    public var lost: [String]
    /// Jobs someone asked to cancel.
    public var cancelRequested: [String]
}

/// A reservation the worker holds, as the heartbeat reports it.
public struct HeldJob: Sendable, Equatable {
    public var id: String
    public var token: Int64
    /// The job's slot in its batch (-1: unknown, then only a lost batch is reported).
    public var slot: Int

    public init(id: String, token: Int64, slot: Int = -1) {
        self.id = id
        self.token = token
        self.slot = slot
    }
}

extension JobQueue {
    /// Most jobs one reservation takes.
    public static let maxReservation = 1000

    /// Atomically reserves up to `max` jobs from `queues` (tried in order) for `worker` as one
    /// batch with one new fencing token and one lease. Throws `QueueError.workerGone` when the
    /// worker's registry entry has expired.
    public func reserve(worker: String, queues: [String], lease: Duration, max: Int) async throws -> [ReservedJob] {
        var args: [RedisArgument] = [
            .string(worker), .int(Int(lease.milliseconds)), .int(Swift.min(max, Self.maxReservation)),
        ]
        for q in queues { args.append(.string(q)) }
        let reply = try await redis.runAll([
            (
                QueueScripts.reserve,
                QueueScripts.reserve.command(
                    keys: [keys.worker(worker), keys.active(worker), keys.paused, keys.tokens], args: head + args)
            )
        ])[0]
        if case .error(let e) = reply, e.code == "WORKERGONE" { throw QueueError.workerGone(e.message) }
        let flat = try reply.get().expectArray("reserve")
        guard let first = flat.first else { return [] }
        let token = try first.expectInt("token")
        var jobs: [ReservedJob] = []
        jobs.reserveCapacity(flat.count - 1)
        for (slot, item) in flat.dropFirst().enumerated() {
            guard let bytes = item.bytes else { throw QueueError.malformedReply("reserve returned \(item)") }
            jobs.append(try JobRecord.reserved(bytes, token: token, slot: slot))
        }
        return jobs
    }

    /// The ack script call for a batch of completions (so callers can pipeline it), and the
    /// order in which its reply lists them (completions grouped by batch token).
    func ackCall(worker: String, _ done: [Completion]) -> ((RedisScript, RedisCommand), [Int]) {
        var byToken: [Int64: [Int]] = [:]
        var tokens: [Int64] = []
        for (k, c) in done.enumerated() {
            if byToken[c.token] == nil { tokens.append(c.token) }
            byToken[c.token, default: []].append(k)
        }
        var args = head
        args.reserveCapacity(8 + done.count * 5 + tokens.count * 2)
        args += [
            .int(retention.doneCount), .int(Int(retention.doneAge.milliseconds)),
            .int(Int(retention.resultAge.milliseconds)),
            .int(tokens.count),
        ]
        var order: [Int] = []
        order.reserveCapacity(done.count)
        for t in tokens {
            let ks = byToken[t]!
            args += [.int(Int(t)), .int(ks.count)]
            for k in ks {
                let c = done[k]
                args += [.int(c.slot), .string(c.id), .string(c.group ?? ""), c.retried ? "1" : "0"]
                order.append(k)
            }
        }
        for (position, k) in order.enumerated() {
            if let r = done[k].result { args += [.int(position + 1), .bytes(r)] }
        }
        return ((QueueScripts.ack, QueueScripts.ack.command(keys: [keys.active(worker)], args: args)), order)
    }

    func failCall(worker: String, _ failed: [Failure]) -> (RedisScript, RedisCommand) {
        var args = head
        args += [.int(retention.deadCount), .int(Int(retention.deadAge.milliseconds))]
        for f in failed {
            args += [
                .int(Int(f.token)), .int(f.slot), .string(f.mode.rawValue), .int(Int(f.delay.milliseconds)),
                .string(String(f.error.prefix(4000))),
            ]
        }
        return (QueueScripts.fail, QueueScripts.fail.command(keys: [keys.active(worker)], args: args))
    }

    /// Records completions atomically per call; a result is written only by the current holder.
    public func ack(worker: String, _ done: [Completion]) async throws -> [AckOutcome] {
        guard !done.isEmpty else { return [] }
        let (call, order) = ackCall(worker: worker, done)
        return try Self.ackOutcomes(try await redis.runAll([call])[0], order: order)
    }

    /// Records failed attempts (retry with the given delay, dead, or canceled), fenced.
    public func fail(worker: String, _ failed: [Failure]) async throws -> [FailOutcome] {
        guard !failed.isEmpty else { return [] }
        return try Self.failOutcomes(try await redis.runAll([failCall(worker: worker, failed)])[0], count: failed.count)
    }

    /// Sends completions and failures in one round trip.
    public func report(worker: String, done: [Completion], failed: [Failure]) async throws -> (
        [AckOutcome], [FailOutcome]
    ) {
        var calls: [(RedisScript, RedisCommand)] = []
        var order: [Int] = []
        if !done.isEmpty {
            let (call, o) = ackCall(worker: worker, done)
            calls.append(call)
            order = o
        }
        if !failed.isEmpty { calls.append(failCall(worker: worker, failed)) }
        guard !calls.isEmpty else { return ([], []) }
        let replies = try await redis.runAll(calls)
        let acks = done.isEmpty ? [] : try Self.ackOutcomes(replies[0], order: order)
        let fails = failed.isEmpty ? [] : try Self.failOutcomes(replies[done.isEmpty ? 0 : 1], count: failed.count)
        return (acks, fails)
    }

    /// Outcomes in the caller's order; `order[i]` is the caller index of the reply's i-th entry.
    static func ackOutcomes(_ reply: RedisReply, order: [Int]) throws -> [AckOutcome] {
        let items = try reply.get().expectArray("ack")
        guard items.count == order.count else {
            throw QueueError.malformedReply("ack returned \(items.count) of \(order.count)")
        }
        var out = [AckOutcome](repeating: .leaseLost, count: order.count)
        for (i, item) in items.enumerated() where try item.expectInt("ack") == 1 { out[order[i]] = .recorded }
        return out
    }

    static func failOutcomes(_ reply: RedisReply, count: Int) throws -> [FailOutcome] {
        let items = try reply.get().expectArray("fail")
        guard items.count == count else { throw QueueError.malformedReply("fail returned \(items.count) of \(count)") }
        return try items.map {
            let s = try $0.expectString("fail")
            guard let o = FailOutcome(rawValue: s) else { throw QueueError.malformedReply("fail outcome \(s)") }
            return o
        }
    }

    /// Gives held jobs back to the front of their queues at once, without counting the attempt.
    @discardableResult
    public func release(worker: String, _ jobs: [ReservedJob]) async throws -> Int {
        guard !jobs.isEmpty else { return 0 }
        var args: [RedisArgument] = []
        for j in jobs { args += [.int(Int(j.token)), .int(j.slot)] }
        return Int(try await run(QueueScripts.release, keys: [keys.active(worker)], args: args).expectInt("release"))
    }

    /// Hands back every open slot of the worker's batches whose token is not in `known`: a
    /// reservation that Redis made but whose reply was lost with the connection. Without this,
    /// such jobs would wait for their lease to run out while their worker is alive and well.
    @discardableResult
    public func releaseUnknownBatches(worker: String, known: Set<Int64>) async throws -> Int {
        let tokens = try await redis.send(RedisCommand("ZRANGE", [.string(keys.active(worker)), 0, -1]))
            .expectArray("active").compactMap(\.int)
        var released = 0
        for t in tokens where !known.contains(t) {
            let n = try await redis.send(RedisCommand("LLEN", [.string(keys.batch(t))])).expectInt("batch length")
            guard n > 0 else { continue }
            var args: [RedisArgument] = []
            for slot in 0..<Int(n) { args += [.int(Int(t)), .int(slot)] }
            released += Int(
                try await run(QueueScripts.release, keys: [keys.active(worker)], args: args).expectInt("release"))
        }
        return released
    }

    /// Refreshes the worker's registry entry (`info`) and liveness TTL, extends the leases of the
    /// batches it holds, and reports which held jobs were lost or should be canceled.
    public func heartbeat(
        worker: String, ttl: Duration, lease: Duration, info: [(String, String)], holding: [HeldJob]
    ) async throws -> HeartbeatReply {
        var args: [RedisArgument] = [
            .string(worker), .int(Int(ttl.milliseconds)), .int(Int(lease.milliseconds)), .int(info.count),
        ]
        for (k, v) in info { args += [.string(k), .string(v)] }
        let tokens = Set(holding.map(\.token)).sorted()
        args.append(.int(tokens.count))
        for t in tokens { args.append(.int(Int(t))) }
        for h in holding { args += [.string(h.id), .int(Int(h.token)), .int(h.slot)] }
        let reply = try await run(
            QueueScripts.heartbeat, keys: [keys.worker(worker), keys.active(worker), keys.workers], args: args
        )
        .expectArray("heartbeat")
        guard reply.count == 3 else { throw QueueError.malformedReply("heartbeat returned \(reply.count) lists") }
        let lostTokens = Set(try reply[0].expectArray("lost").map { try $0.expectInt("lost token") })
        let closed = try reply[2].expectArray("closed").map { try $0.expectString("closed id") }
        return HeartbeatReply(
            lost: holding.filter { lostTokens.contains($0.token) }.map(\.id) + closed,
            cancelRequested: try reply[1].expectArray("cancel").map { try $0.expectString("cancel id") })
    }

    /// Removes a stopping worker from the registry; returns how many batches it still held.
    @discardableResult
    public func deregister(worker: String) async throws -> Int {
        Int(
            try await run(
                QueueScripts.deregister, keys: [keys.worker(worker), keys.active(worker), keys.workers],
                args: [.string(worker)]
            )
            .expectInt("deregister"))
    }

    /// One housekeeping pass if no other process holds the lock (held for `lockFor`).
    public func maintain(owner: String, lockFor: Duration, limit: Int = 1000) async throws -> MaintenanceReport? {
        let r = try await run(
            QueueScripts.maintain, keys: [keys.maintenanceLock, keys.scheduled, keys.workers],
            args: [
                .string(owner), .int(Int(lockFor.milliseconds)), .int(limit), .int(retention.doneCount),
                .int(Int(retention.doneAge.milliseconds)), .int(retention.deadCount),
                .int(Int(retention.deadAge.milliseconds)),
            ]
        ).expectArray("maintain").map { Int(try $0.expectInt("maintain")) }
        if r == [-1] { return nil }
        guard r.count == 4 else { throw QueueError.malformedReply("maintain returned \(r)") }
        return MaintenanceReport(forwarded: r[0], reclaimed: r[1], killed: r[2], workersRemoved: r[3])
    }

    /// Records a running job's progress (any text; JSON by convention), fenced like ack.
    public func setProgress(worker: String, job: ReservedJob, _ progress: String) async throws -> AckOutcome {
        let r = try await run(
            QueueScripts.progress, keys: [keys.active(worker)],
            args: [.int(Int(job.token)), .int(job.slot), .string(job.id), .string(progress)])
        return try r.expectInt("progress") == 1 ? .recorded : .leaseLost
    }
}
