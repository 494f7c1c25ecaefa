import RedisClient

extension JobQueue {
    /// Most jobs one enqueue script call takes; larger batches are split.
    public static let enqueueBatch = 500
    /// Script calls a bulk enqueue keeps in flight, so encoding the next overlaps with Redis
    /// running the last.
    static let enqueueInFlight = 4

    /// Enqueues one job (one round trip).
    public func enqueue(_ job: JobSpec, guard g: QueueGuard = .none) async throws -> EnqueueOutcome {
        try await enqueue([job], guard: g)[0]
    }

    /// Enqueues many jobs: one script call per batch of `batchSize`, up to four calls in flight.
    /// Each batch is atomic; if a call fails, batches may or may not have been enqueued, and
    /// retrying the whole call is safe because ids are idempotent. Under a guard, each batch is
    /// enqueued only while it holds (`QueueError.refused` otherwise).
    public func enqueue(
        _ jobs: [JobSpec], guard g: QueueGuard = .none, batchSize: Int = JobQueue.enqueueBatch
    ) async throws -> [EnqueueOutcome] {
        guard !jobs.isEmpty else { return [] }
        for j in jobs { try j.validate() }
        let size = max(1, min(batchSize, 5000))
        let starts = Array(stride(from: 0, to: jobs.count, by: size))
        if starts.count == 1 { return try await enqueueBatch(jobs[...], guard: g) }
        var out = [EnqueueOutcome](repeating: .existed, count: jobs.count)
        try await withThrowingTaskGroup(of: (Int, [EnqueueOutcome]).self) { group in
            var next = 0
            func submit() {
                let start = starts[next]
                let slice = jobs[start..<min(start + size, jobs.count)]
                group.addTask { (start, try await self.enqueueBatch(slice, guard: g)) }
                next += 1
            }
            while next < min(Self.enqueueInFlight, starts.count) { submit() }
            while let (start, outcomes) = try await group.next() {
                for (k, o) in outcomes.enumerated() { out[start + k] = o }
                if next < starts.count { submit() }
            }
        }
        return out
    }

    /// One enqueue script call for a batch of validated jobs.
    private func enqueueBatch(_ jobs: ArraySlice<JobSpec>, guard g: QueueGuard) async throws -> [EnqueueOutcome] {
        var cmd = QueueScripts.enqueue.command(keys: [keys.queues], args: head + g.arguments(keys))
        for j in jobs { Self.appendArguments(j, to: &cmd) }
        let reply = try await redis.runAll([(QueueScripts.enqueue, cmd)])[0]
        if case .error(let e) = reply, e.code == "NOGROUP" { throw QueueError.noSuchGroup(e.message) }
        if case .error(let e) = reply, e.code == "GUARD" { throw QueueError.mapGuard(RedisError.server(e)) }
        let items = try reply.get().expectArray("enqueue")
        guard items.count == jobs.count else {
            throw QueueError.malformedReply("enqueue returned \(items.count) of \(jobs.count)")
        }
        return try items.map { try $0.expectInt("enqueue") == 1 ? .created : .existed }
    }

    /// Appends the 7 script arguments describing one job.
    static func appendArguments(_ j: JobSpec, to cmd: inout RedisCommand) {
        var runAt: Int64 = 0
        var delay: Int64 = 0
        switch j.schedule {
        case .now: break
        case .after(let d): delay = max(0, d.milliseconds)
        case .at(let ms): runAt = max(1, ms)
        }
        cmd.append(j.id)
        cmd.append(j.queue)
        cmd.append(j.group ?? "")
        cmd.append(runAt)
        cmd.append(delay)
        cmd.append(bytes: JobRecord.head(j))
        cmd.append(bytes: JobRecord.body(j))
    }

    /// Creates a fan-in group; returns false when it already existed (nothing changed). Create
    /// the group before enqueueing its members. Under a guard, only while it holds.
    @discardableResult
    public func createGroup(_ g: GroupSpec, guard condition: QueueGuard = .none) async throws -> Bool {
        try QueueError.checkName(g.id, what: "group id")
        guard g.total >= 0 else { throw QueueError.invalid("group \(g.id): total must not be negative") }
        var args: [RedisArgument] = condition.arguments(keys) + [.int(g.total)]
        for spec in [g.onComplete, g.onFailure] {
            if let s = spec {
                try s.validate()
                guard s.group == nil else {
                    throw QueueError.invalid("group \(g.id): its completion and failure jobs cannot be group members")
                }
                args += [.string(s.id), .string(s.queue), .bytes(JobRecord.head(s)), .bytes(JobRecord.body(s))]
            } else {
                args += ["", "", "", ""]
            }
        }
        do {
            return try await run(QueueScripts.createGroup, keys: [keys.group(g.id)], args: args).expectInt("group") == 1
        } catch { throw QueueError.mapGuard(error) }
    }
}
