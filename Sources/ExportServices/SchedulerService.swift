import ExportDomain
import Foundation
import JobQueue
import Logging
import RedisClient

/// The time the scheduler's periodic monitoring follows: the wall clock, or a simulated one
/// starting at a given instant and running `speed` times faster (tests, rehearsals).
public struct SchedulerClock: Sendable {
    let startMillis: Int64
    let realStart: UInt64
    let speed: Double

    public init(startingAt millis: Int64? = nil, speed: Double = 1) {
        startMillis = millis ?? Int64(Date().timeIntervalSince1970 * 1000)
        realStart = MonotonicClock.nanos()
        self.speed = speed
    }

    public func nowMillis() -> Int64 {
        startMillis + Int64(Double(MonotonicClock.nanos() - realStart) / 1e6 * speed)
    }

    /// The two-week period (0-based) of the program year that `now` falls in, if any.
    public func period(_ c: ProgramConfiguration) -> Int? {
        let day = Int(nowMillis() / 86_400_000) + CivilDate(year: 1970, month: 1, day: 1)!.dayNumber
        return c.period(of: CivilDate(dayNumber: day))
    }
}

/// What `export-scheduler` does besides serving the control queue: one scheduler leads (a
/// lease in Redis, renewed while alive, taken over when it lapses) and, while leading, plans
/// runs whose submitter died before planning, marks failed the runs whose submitter vanished
/// while storing them (its lease lapsed) and frees what they stored, starts each run's
/// periodic monitoring once per two-week period, and purges finished and failed runs past
/// their retention. Every action is idempotent, so a new leader resuming a dead one's work
/// repeats nothing.
public final class SchedulerService: @unchecked Sendable {
    public let control: RunControl
    public let id: String
    let clock: SchedulerClock
    let logger: Logger
    let tick: Duration
    let leaseMillis: Int
    let retentionMillis: Int64
    private let lock = NSLock()
    private var stopping = false
    private var leading = false
    private var unfixable: RedisError?
    private var tables: [String: ProgramConfiguration] = [:]

    public init(
        control: RunControl, id: String, clock: SchedulerClock = SchedulerClock(), tick: Duration = .milliseconds(250),
        lease: Duration = .seconds(10), retention: Duration = .seconds(7 * 86_400), logger: Logger
    ) {
        self.control = control
        self.id = id
        self.clock = clock
        self.tick = tick
        self.leaseMillis = Int(lease.components.seconds * 1000 + lease.components.attoseconds / 1_000_000_000_000_000)
        self.retentionMillis = retention.milliseconds
        self.logger = logger
    }

    public var leaderKey: String { control.queue.keys.prefix + "scheduler:leader" }

    public var isLeader: Bool { lock.withLock { leading } }

    /// The refusal retrying cannot fix (credentials, database, ACL) that stopped `run()`, if any.
    public var fatal: RedisError? { lock.withLock { unfixable } }

    /// Stops the loop after the current tick. With `deadline` (monotonic ns), no Redis request
    /// of this scheduler's connection waits for Redis past it, so an outage cannot hold the stop.
    public func shutdown(deadline: UInt64? = nil) {
        lock.withLock { stopping = true }
        if let deadline { control.redis.limitWaits(until: deadline) }
    }

    static let renew = RedisScript(
        name: "leader-renew",
        source: """
            if redis.call('GET', KEYS[1]) == ARGV[1] then
              redis.call('PEXPIRE', KEYS[1], ARGV[2])
              return 1
            end
            if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 2 end
            return 0
            """)
    static let release = RedisScript(
        name: "leader-release",
        source: """
            if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
            return 0
            """)

    /// Runs until `shutdown()`, cancellation, or an error retrying cannot fix (see `fatal`);
    /// gives up leadership on the way out.
    public func run() async {
        while !lock.withLock({ stopping }) && !Task.isCancelled {
            do {
                let r = try await control.redis.run(
                    Self.renew, keys: [leaderKey], args: [.string(id), .int(leaseMillis)])
                let was = isLeader
                let now = r.int ?? 0 > 0
                lock.withLock { leading = now }
                if now && !was { logger.notice("leading", metadata: ["scheduler": "\(id)"]) }
                if !now && was { logger.notice("no longer leading", metadata: ["scheduler": "\(id)"]) }
                if now { try await lead() }
            } catch let e as RedisError where e.retryCannotFix {
                lock.withLock {
                    unfixable = e
                    stopping = true
                }
                break
            } catch {
                logger.warning("scheduler tick failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: tick)
        }
        if isLeader { _ = try? await control.redis.run(Self.release, keys: [leaderKey], args: [.string(id)]) }
    }

    /// One round of the leader's duties.
    func lead() async throws {
        for run in try await control.runs() {
            let meta = try await control.meta(run)
            switch meta["state"] ?? "" {
            case "loading": try await abandonIfLapsed(run, meta)
            case "submitted": try await planIfLeft(run, meta)
            case "done":
                try await monitor(run)
                try await expire(run, meta)
            case "failed": try await expire(run, meta)
            case "" where meta.isEmpty:
                // An index entry whose run is gone (a purge cut short): drop it.
                _ = try await control.redis.send(
                    RedisCommand("ZREM", [.string(RunKeys.index(control.queue.keys)), .string(run)]))
            default: break
            }
        }
    }

    /// The submitter plans right after storing; take over when it has not for 5 s.
    func planIfLeft(_ run: String, _ meta: [String: String]) async throws {
        guard meta["planned"] != "1", let at = meta["submitted_ms"].flatMap(Int64.init),
            RunControl.nowMillis() - at > 5_000
        else { return }
        logger.notice("planning a run its submitter left unplanned", metadata: ["run": "\(run)"])
        try await control.plan(run)
    }

    /// A run still loading whose submitter's lease lapsed was abandoned (the submitter died or
    /// lost Redis for good): it is marked failed, its clock stopped, and what it stored freed.
    func abandonIfLapsed(_ run: String, _ meta: [String: String]) async throws {
        let ref = RunRef(id: run, gen: meta["gen"] ?? "")
        let reason = "abandoned: its submitter stopped while storing it (its lease lapsed); submit it again"
        guard try await control.failLoad(ref, reason: reason, onlyIfAbandoned: true) else { return }
        let freed = try await control.freeData(run)
        logger.notice("marked an abandoned load failed", metadata: ["run": "\(run)", "keys_freed": "\(freed)"])
    }

    /// Purges a finished or failed run once its retention has passed since it ended.
    func expire(_ run: String, _ meta: [String: String]) async throws {
        guard let end = (meta["finished_ms"] ?? meta["created_ms"]).flatMap(Int64.init),
            RunControl.nowMillis() - end > retentionMillis
        else { return }
        logger.notice(
            "purging a run past its retention", metadata: ["run": "\(run)", "state": "\(meta["state"] ?? "")"])
        try await control.purge(run)
    }

    func monitor(_ run: String) async throws {
        let configuration: ProgramConfiguration
        if let c = lock.withLock({ tables[run] }) {
            configuration = c
        } else {
            configuration = try await control.tables(run).configuration
            lock.withLock { tables[run] = configuration }
        }
        guard let p = clock.period(configuration) else { return }
        let k = control.keys(run)
        guard
            try await control.redis.send(RedisCommand("HEXISTS", [.string(k.monitorClaims), .string("\(p)")])).int == 0
        else { return }
        // Start, then claim: a leader dying in between leaves the period unclaimed, and the next
        // one starts the same round again (fixed ids: nothing runs twice).
        try await control.startMonitoring(run, period: p, round: 0)
        if try await control.claimPeriod(run, period: p) {
            _ = try await control.redis.send(
                RedisCommand("HINCRBY", [.string(control.keys(run).meta), "monitor_rounds_started", 1]))
            logger.info("periodic monitoring started", metadata: ["run": "\(run)", "period": "\(p + 1)"])
        }
    }
}
