import RedisClient

/// What forgetting the jobs and groups of an id prefix removed.
public struct ForgetReport: Sendable, Equatable {
    /// Jobs taken out of their queues before they ran.
    public var pending = 0
    /// Delayed and retry-waiting jobs dropped.
    public var scheduled = 0
    /// Running jobs whose slot was closed: their holder's results and writes are refused.
    public var running = 0
    /// Done, dead and canceled records dropped.
    public var finished = 0
    /// Group keys (bookkeeping and results) deleted.
    public var groupKeys = 0

    public init() {}
}

extension JobQueue {
    /// The guarded-write script (to load it on a blocking session before pipelining calls).
    public static var writeScript: RedisScript { QueueScripts.write }

    /// The script call of a guarded write (for callers on a blocking session), on the server's
    /// clock.
    public static func writeCall(keys: QueueKeys, guard g: QueueGuard, _ writes: [GuardedWrite]) -> (
        RedisScript, RedisCommand
    ) {
        var args: [RedisArgument] = [.string(keys.prefix), 0] + g.arguments(keys)
        for w in writes {
            args.append(.int(2 + w.arguments.count))
            args += [.string(w.command), .string(w.key)] + w.arguments
        }
        return (QueueScripts.write, QueueScripts.write.command(keys: [], args: args))
    }

    /// Applies `writes` atomically while `guard` holds and returns their replies; throws
    /// `QueueError.refused` (nothing written) otherwise.
    @discardableResult
    public func write(_ writes: [GuardedWrite], guard g: QueueGuard) async throws -> [RedisReply] {
        guard !writes.isEmpty else { return [] }
        for w in writes where !GuardedWrite.commands.contains(w.command) {
            throw QueueError.invalid("a guarded write cannot use \(w.command)")
        }
        let (script, cmd) = Self.writeCall(keys: keys, guard: g, writes)
        do {
            return try await redis.runAll([(script, cmd)])[0].get().expectArray("write")
        } catch { throw QueueError.mapGuard(error) }
    }

    /// The ids among `ids` that are finished (done within retention, dead or canceled).
    public func finished(_ ids: [String]) async throws -> [String] {
        guard !ids.isEmpty else { return [] }
        let args = ids.map { RedisArgument.string($0) }
        let r = try await redis.pipeline(
            [keys.done, keys.dead, keys.canceled].map { RedisCommand("ZMSCORE", [.string($0)] + args) })
        var out: [String] = []
        for (k, id) in ids.enumerated()
        where try r.contains(where: { !(try $0.get().expectArray("zmscore")[k].isNull) }) {
            out.append(id)
        }
        return out
    }

    /// Forgets every job and group whose id starts with `prefix`, whatever its state: pending
    /// and scheduled jobs are dropped, running ones have their slot closed (their holder's ack
    /// and writes are refused, and its next heartbeat stops them), finished records and group
    /// keys are deleted. Afterwards an id of that prefix can be enqueued afresh. Callers make sure
    /// nothing creates jobs of that prefix meanwhile (a guard on their enqueues).
    @discardableResult
    public func forget(prefix: String) async throws -> ForgetReport {
        try QueueError.checkName(prefix, what: "id prefix")
        var report = ForgetReport()
        let live = try await run(QueueScripts.forgetLive, keys: [], args: [.string(prefix)])
            .expectArray("forget_live").map { Int(try $0.expectInt("forget_live")) }
        guard live.count == 3 else { throw QueueError.malformedReply("forget_live returned \(live)") }
        (report.pending, report.scheduled, report.running) = (live[0], live[1], live[2])
        report.finished = Int(
            try await run(QueueScripts.forgetFinished, keys: [], args: [.string(prefix)]).expectInt("forget_finished"))
        report.groupKeys = try await deleteKeys(matching: keys.group(Self.globEscaped(prefix)) + "*")
        return report
    }

    /// Deletes every key matching a SCAN pattern; returns how many.
    public func deleteKeys(matching pattern: String) async throws -> Int {
        var n = 0
        var cursor = "0"
        repeat {
            let r = try await redis.send(
                RedisCommand("SCAN", [.string(cursor), "MATCH", .string(pattern), "COUNT", 1000])
            )
            .expectArray("scan")
            guard r.count == 2 else { throw QueueError.malformedReply("SCAN") }
            cursor = try r[0].expectString("cursor")
            let found = (r[1].array ?? []).compactMap(\.string)
            if !found.isEmpty {
                n += Int(try await redis.send(RedisCommand("UNLINK", found.map { .string($0) })).int ?? 0)
            }
        } while cursor != "0"
        return n
    }

    /// `s` with the glob characters of SCAN's MATCH escaped.
    static func globEscaped(_ s: String) -> String {
        var out = ""
        for ch in s {
            if "*?[]\\".contains(ch) { out.append("\\") }
            out.append(ch)
        }
        return out
    }
}
