import RedisClient

/// What `cancel` did.
public enum CancelOutcome: String, Sendable, Equatable {
    /// It had not started; it will never run.
    case canceled
    /// It is running; its worker stops it at its next heartbeat or checkpoint.
    case requested
    case done, dead, missing
    case alreadyCanceled = "canceled-already"
}

/// A job's record as stored, for `jobs show`.
public struct JobInfo: Sendable, Equatable {
    public var id: String
    /// pending, scheduled, active, done, dead or canceled.
    public var state: String
    public var queue: String?
    public var kind: String?
    /// Attempts started so far (the running one included).
    public var attempts = 0
    public var maxAttempts = 0
    /// The current fencing token, for a running job.
    public var token: Int64 = 0
    /// The worker running it.
    public var worker: String?
    public var group: String?
    public var lastError: String?
    public var progress: String?
    public var createdAt: Int64?
    public var finishedAt: Int64?
    public var runAt: Int64?
    public var payloadBytes = 0

    public init(id: String, state: String) {
        self.id = id
        self.state = state
    }
}

/// A group's bookkeeping.
public struct GroupStatus: Sendable, Equatable {
    public var total: Int
    public var done: Int
    public var failed: Int
    /// open, completed or failed.
    public var state: String

    public init(total: Int, done: Int, failed: Int, state: String) {
        self.total = total
        self.done = done
        self.failed = failed
        self.state = state
    }
}

/// A registered worker, as its heartbeat last wrote it.
public struct WorkerInfo: Sendable, Equatable {
    public var id: String
    public var alive: Bool
    public var lastHeartbeat: Int64
    public var fields: [String: String]
    public var holding: Int
}

/// Job states that have a listing.
public enum JobListing: String, Sendable, CaseIterable {
    case pending, scheduled, active, dead, canceled, done
}

extension JobQueue {
    public func cancel(_ id: String) async throws -> CancelOutcome {
        let s = try await run(QueueScripts.cancel, keys: [], args: [.string(id)]).expectString("cancel")
        guard let outcome = CancelOutcome(rawValue: s) else { throw QueueError.malformedReply("cancel outcome \(s)") }
        return outcome
    }

    /// Pauses a queue: workers stop reserving from it; running jobs finish.
    public func pause(queue: String) async throws {
        try QueueError.checkName(queue, what: "queue name")
        _ = try await redis.send(RedisCommand("SADD", [.string(keys.paused), .string(queue)]))
    }

    public func resume(queue: String) async throws {
        _ = try await redis.send(RedisCommand("SREM", [.string(keys.paused), .string(queue)]))
        _ = try await redis.send(RedisCommand("LPUSH", [.string(keys.signal(queue)), "1"]))
    }

    public func pausedQueues() async throws -> [String] {
        try await redis.send(RedisCommand("SMEMBERS", [.string(keys.paused)])).expectArray("paused")
            .map { try $0.expectString("queue") }.sorted()
    }

    /// Moves dead jobs back to their queues with fresh attempts.
    public func requeueDead(_ ids: [String]) async throws -> Int {
        guard !ids.isEmpty else { return 0 }
        return Int(
            try await run(QueueScripts.requeue, keys: [keys.dead], args: ids.map { .string($0) }).expectInt("requeue"))
    }

    /// Moves delayed or retry-waiting jobs to their queues now.
    public func retryNow(_ ids: [String]) async throws -> Int {
        guard !ids.isEmpty else { return 0 }
        return Int(
            try await run(QueueScripts.retryNow, keys: [keys.scheduled], args: ids.map { .string($0) }).expectInt(
                "retry"))
    }

    /// Deletes dead jobs: the given ids, or (ids empty) every one older than `olderThan` ms epoch.
    public func purgeDead(ids: [String] = [], olderThan: Int64? = nil) async throws -> Int {
        try await purge(set: keys.dead, ids: ids, olderThan: olderThan)
    }

    public func purgeCanceled(ids: [String] = [], olderThan: Int64? = nil) async throws -> Int {
        try await purge(set: keys.canceled, ids: ids, olderThan: olderThan)
    }

    private func purge(set: String, ids: [String], olderThan: Int64?) async throws -> Int {
        if let cutoff = olderThan {
            var total = 0
            while true {
                let n = Int(
                    try await run(QueueScripts.purge, keys: [set], args: ["older", .int(Int(cutoff)), 1000]).expectInt(
                        "purge"))
                total += n
                if n < 1000 { return total }
            }
        }
        guard !ids.isEmpty else { return 0 }
        return Int(
            try await run(QueueScripts.purge, keys: [set], args: ["ids", 0, 0] + ids.map { .string($0) }).expectInt(
                "purge"))
    }

    /// Where a job is and what it is; nil when unknown. Completed jobs (within retention) show
    /// as `done` with their finish time only: their record is deleted when they complete.
    public func job(_ id: String) async throws -> JobInfo? {
        let r = try await redis.pipeline([
            RedisCommand("ZSCORE", [.string(keys.done), .string(id)]),
            RedisCommand("HGETALL", [.string(keys.job(id))]),
            RedisCommand("HGET", [.string(keys.progress), .string(id)]),
        ])
        if let finished = try r[0].get().string.flatMap({ Double($0) }) {
            var info = JobInfo(id: id, state: "done")
            info.finishedAt = Int64(finished)
            return info
        }
        let flat = try r[1].get().expectArray("job")
        var h: [String: [UInt8]] = [:]
        var i = 0
        while i + 1 < flat.count {
            h[try flat[i].expectString("field")] = flat[i + 1].bytes ?? []
            i += 2
        }
        func text(_ k: String) -> String? { h[k].map { String(decoding: $0, as: UTF8.self) } }
        var info = JobInfo(id: id, state: text("st") ?? "unknown")
        info.lastError = text("err")
        info.finishedAt = text("ft").flatMap { Int64($0) }
        info.runAt = text("ra").flatMap { Int64($0) }
        info.progress = try r[2].get().string
        var item = h["r"]
        if info.state != "dead" && info.state != "canceled" {
            let found = try await run(QueueScripts.find, keys: [], args: [.string(id)]).expectArray("find")
            guard found.count == 5 else { return h.isEmpty ? nil : info }
            info.state = try found[0].expectString("state")
            item = found[1].bytes
            if info.state == "active" {
                info.worker = try found[2].expectString("worker")
                info.token = try found[3].expectInt("token")
            }
        }
        if let item, let (f, payloadStart) = JobRecord.header(item) {
            info.attempts = (Int(f[0]) ?? 0) + (info.state == "active" ? 1 : 0)
            info.maxAttempts = Int(f[1]) ?? 0
            info.queue = f[2]
            info.group = f[3].isEmpty ? nil : f[3]
            info.createdAt = Int64(f[5])
            info.kind = f[6]
            info.payloadBytes = item.count - payloadStart
        }
        return info
    }

    /// The progress a running job last reported.
    public func progress(of id: String) async throws -> String? {
        try await redis.send(RedisCommand("HGET", [.string(keys.progress), .string(id)])).string
    }

    /// Job ids in a state, oldest first, at most `limit` (for `active`, across every worker).
    public func list(_ state: JobListing, queue: String? = nil, limit: Int = 100) async throws -> [String] {
        let lim = max(1, limit)
        switch state {
        case .pending:
            let queues: [String]
            if let queue { queues = [queue] } else { queues = try await knownQueues() }
            var out: [String] = []
            for q in queues where out.count < lim {
                out += try await redis.send(
                    RedisCommand("LRANGE", [.string(keys.pending(q)), 0, .int(lim - out.count - 1)])
                )
                .expectArray("pending").compactMap { $0.bytes.flatMap(JobRecord.header)?.fields[4] }
            }
            return out
        case .scheduled: return try await zrange(keys.scheduled, lim)
        case .dead: return try await zrange(keys.dead, lim)
        case .canceled: return try await zrange(keys.canceled, lim)
        case .done: return try await zrange(keys.done, lim)
        case .active:
            var out: [String] = []
            for w in try await workers() {
                for (id, _) in try await held(by: w.id) { out.append(id) }
            }
            return Array(out.sorted().prefix(lim))
        }
    }

    /// The unfinished jobs a worker holds: (id, batch token).
    public func held(by worker: String) async throws -> [(id: String, token: Int64)] {
        var out: [(id: String, token: Int64)] = []
        let tokens = try await redis.send(RedisCommand("ZRANGE", [.string(keys.active(worker)), 0, -1])).expectArray(
            "active"
        )
        .compactMap(\.int)
        for t in tokens {
            let r = try await redis.pipeline([
                RedisCommand("LRANGE", [.string(keys.batch(t)), 0, -1]),
                RedisCommand("GET", [.string(keys.batchDone(t))]),
            ])
            let items = try r[0].get().expectArray("batch")
            let bits = try r[1].get().bytes ?? []
            for (slot, item) in items.enumerated() {
                let byte = slot / 8 < bits.count ? bits[slot / 8] : 0
                if byte & (0x80 >> UInt8(slot % 8)) != 0 { continue }
                if let id = item.bytes.flatMap(JobRecord.header)?.fields[4] { out.append((id, t)) }
            }
        }
        return out
    }

    private func zrange(_ key: String, _ limit: Int) async throws -> [String] {
        try await redis.send(RedisCommand("ZRANGE", [.string(key), 0, .int(limit - 1)])).expectArray("zrange")
            .map { try $0.expectString("id") }
    }

    public func knownQueues() async throws -> [String] {
        try await redis.send(RedisCommand("SMEMBERS", [.string(keys.queues)])).expectArray("queues")
            .map { try $0.expectString("queue") }.sorted()
    }

    /// Pending jobs per queue.
    public func depths() async throws -> [String: Int] {
        let queues = try await knownQueues()
        let replies = try await redis.pipeline(queues.map { RedisCommand("LLEN", [.string(keys.pending($0))]) })
        var out: [String: Int] = [:]
        for (q, r) in zip(queues, replies) { out[q] = Int(try r.get().expectInt("llen")) }
        return out
    }

    /// Sizes of the scheduled, dead, canceled and done sets.
    public func setSizes() async throws -> [JobListing: Int] {
        let sets: [(JobListing, String)] = [
            (.scheduled, keys.scheduled), (.dead, keys.dead), (.canceled, keys.canceled), (.done, keys.done),
        ]
        let replies = try await redis.pipeline(sets.map { RedisCommand("ZCARD", [.string($0.1)]) })
        var out: [JobListing: Int] = [:]
        for (s, r) in zip(sets, replies) { out[s.0] = Int(try r.get().expectInt("zcard")) }
        return out
    }

    /// Age in ms of the oldest pending job of a queue (queue latency); nil when empty.
    public func oldestPendingAge(queue: String) async throws -> Int64? {
        guard let item = try await redis.send(RedisCommand("LINDEX", [.string(keys.pending(queue)), 0])).bytes,
            let ct = JobRecord.header(item).flatMap({ Int64($0.fields[5]) })
        else { return nil }
        let now = try await serverMillis()
        return max(0, now - ct)
    }

    /// The queue clock's now (the server's when the clock is `.server`).
    public func serverMillis() async throws -> Int64 {
        let c = clock.nowMillis()
        if c > 0 { return c }
        let t = try await redis.send(RedisCommand("TIME")).expectArray("time")
        guard t.count == 2, let s = t[0].int, let us = t[1].int else { throw QueueError.malformedReply("TIME") }
        return s * 1000 + us / 1000
    }

    /// The cluster-wide counters (enqueued, processed, failed, retried, dead, reclaimed, fenced, canceled).
    public func stats() async throws -> [String: Int64] {
        let flat = try await redis.send(RedisCommand("HGETALL", [.string(keys.stats)])).expectArray("stats")
        var out: [String: Int64] = [:]
        var i = 0
        while i + 1 < flat.count {
            out[try flat[i].expectString("stat")] = flat[i + 1].int ?? 0
            i += 2
        }
        return out
    }

    public func group(_ id: String) async throws -> GroupStatus? {
        let f = try await redis.send(
            RedisCommand("HMGET", [.string(keys.group(id)), "total", "done", "failed", "state"])
        )
        .expectArray("group")
        guard f.count == 4, let total = f[0].int else { return nil }
        return GroupStatus(
            total: Int(total), done: Int(f[1].int ?? 0), failed: Int(f[2].int ?? 0), state: f[3].string ?? "unknown")
    }

    /// Every member result of a group, by job id (read in pages, so large groups are fine).
    public func groupResults(_ id: String) async throws -> [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        var cursor = "0"
        repeat {
            let r = try await redis.send(
                RedisCommand("HSCAN", [.string(keys.groupResults(id)), .string(cursor), "COUNT", 500])
            )
            .expectArray("hscan")
            guard r.count == 2 else { throw QueueError.malformedReply("HSCAN") }
            cursor = try r[0].expectString("cursor")
            let flat = try r[1].expectArray("hscan items")
            var i = 0
            while i + 1 < flat.count {
                out[try flat[i].expectString("member")] = flat[i + 1].bytes ?? []
                i += 2
            }
        } while cursor != "0"
        return out
    }

    /// One member's result.
    public func groupResult(_ group: String, member: String) async throws -> [UInt8]? {
        try await redis.send(RedisCommand("HGET", [.string(keys.groupResults(group)), .string(member)])).bytes
    }

    /// The result of a job outside any group, while retained.
    public func result(of id: String) async throws -> [UInt8]? {
        try await redis.send(RedisCommand("GET", [.string(keys.result(id))])).bytes
    }

    /// Deletes a group and its results (the owner's clean-up once the results are consumed).
    public func deleteGroup(_ id: String) async throws {
        _ = try await redis.send(RedisCommand("DEL", [.string(keys.group(id)), .string(keys.groupResults(id))]))
    }

    /// Registered workers, alive or not yet cleaned up; `holding` counts their unfinished jobs.
    public func workers() async throws -> [WorkerInfo] {
        let ids = try await redis.send(RedisCommand("ZRANGE", [.string(keys.workers), 0, -1, "WITHSCORES"]))
            .expectArray("workers")
        var out: [WorkerInfo] = []
        var i = 0
        while i + 1 < ids.count {
            let id = try ids[i].expectString("worker")
            let hb = Int64(Double(ids[i + 1].string ?? "0") ?? 0)
            let flat = try await redis.send(RedisCommand("HGETALL", [.string(keys.worker(id))])).expectArray("worker")
            var fields: [String: String] = [:]
            var k = 0
            while k + 1 < flat.count {
                fields[try flat[k].expectString("field")] = flat[k + 1].string ?? ""
                k += 2
            }
            out.append(
                WorkerInfo(
                    id: id, alive: !fields.isEmpty, lastHeartbeat: hb, fields: fields,
                    holding: try await held(by: id).count))
            i += 2
        }
        return out
    }
}
