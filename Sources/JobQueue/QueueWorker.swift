import Logging
import RedisClient
import Synchronization

/// A worker process's job loop: reserves jobs in batches, runs each in its own task, reports
/// completions and failures in batches (fenced), renews leases by heartbeat, enforces timeouts,
/// runs maintenance passes, and shuts down gracefully (stop reserving, finish or hand back).
///
/// Owner of mutable state: `state` (one mutex). The loops communicate through it and two
/// signals; no other state is shared.
public final class QueueWorker: Sendable {
    public let configuration: WorkerConfiguration
    public let queue: JobQueue
    let blocking: RedisConnection
    let handlers: [String: any JobHandler]
    let logger: Logger
    let metrics = QueueMetrics()
    private let state = Mutex(State())
    private let slotSignal: AsyncStream<Void>
    private let slotContinuation: AsyncStream<Void>.Continuation
    private let reportSignal: AsyncStream<Void>
    private let reportContinuation: AsyncStream<Void>.Continuation
    private let startedAt = wallClockMillis()

    /// One reservation this worker holds, from reserve until its report is confirmed, it is
    /// handed back, or it is found lost.
    struct Held {
        var job: ReservedJob
        var task: Task<Void, Never>?
        var deadline: UInt64
        var started: UInt64
        var running = true
        var reporting = false
        var cancelRequested = false
    }

    enum Report {
        case done(Completion)
        case failed(Failure)

        var id: String {
            switch self {
            case .done(let c): return c.id
            case .failed(let f): return f.id
            }
        }
    }

    struct State {
        var held: [String: Held] = [:]
        var reports: [Report] = []
        var stopping = false
        /// Set by the first `shutdown()`: running jobs get until `drainDeadline`; handing back,
        /// the last reports and deregistering end by `stopDeadline`, reachable Redis or not.
        var drainDeadline: UInt64 = .max
        var stopDeadline: UInt64 = .max
        /// The first refusal retrying cannot fix (credentials, ACL): the worker stops and
        /// `run()` throws it.
        var fatal: RedisError?
        /// Jobs whose handler is running (a subset of `held`); run slots are counted by this, so
        /// the next reservation overlaps with reporting the last results.
        var running = 0
        var processed = 0
        var failed = 0
    }

    /// `blocking` is a second connection used only for idle waits (BLPOP).
    public init(
        queue: JobQueue, blocking: RedisConnection, configuration: WorkerConfiguration,
        handlers: [String: any JobHandler],
        logger: Logger
    ) {
        self.queue = queue
        self.blocking = blocking
        self.configuration = configuration
        self.handlers = handlers
        JobThreads.shared.reserve(threads: configuration.concurrency)
        var l = logger
        l[metadataKey: "worker"] = "\(configuration.id)"
        self.logger = l
        (slotSignal, slotContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        (reportSignal, reportContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Jobs completed and failed attempts so far.
    public var counts: (processed: Int, failed: Int) { state.withLock { ($0.processed, $0.failed) } }
    /// Reservations held right now.
    public var holding: Int { state.withLock { $0.held.count } }
    /// Handlers running right now.
    public var running: Int { state.withLock { $0.running } }

    /// How long after the drain deadline handing back, the last reports and deregistering may
    /// take: `run()` returns by then even when Redis is unreachable.
    public static let stopGrace: Duration = .milliseconds(500)

    /// Begins a graceful shutdown: stop reserving, let running jobs finish up to the drain
    /// timeout, hand the rest back. `run()` returns when done, at the latest `stopGrace` after
    /// the drain timeout: from now on no Redis request of this worker waits past that (during an
    /// outage, jobs not handed back are reclaimed once its heartbeat expires). Safe to call more
    /// than once.
    public func shutdown() {
        let drain = MonotonicClock.nanos() + UInt64(configuration.drainTimeout.nanoseconds)
        let stop = drain + UInt64(Self.stopGrace.nanoseconds)
        let first = state.withLock { s in
            defer { s.stopping = true }
            guard !s.stopping else { return false }
            s.drainDeadline = drain
            s.stopDeadline = stop
            return true
        }
        if first {
            queue.redis.limitWaits(until: stop)
            blocking.limitWaits(until: stop)
        }
        slotContinuation.yield()
    }

    private var stopping: Bool { state.withLock { $0.stopping } }

    /// For an error retrying cannot fix (wrong password, an ACL refusal): records it, begins
    /// shutdown and returns true; `run()` then throws it once drained.
    private func stopIfUnfixable(_ error: any Error) -> Bool {
        guard let e = error as? RedisError, e.retryCannotFix else { return false }
        state.withLock { s in if s.fatal == nil { s.fatal = e } }
        shutdown()
        return true
    }

    /// Sleeps for `d`, or less when shutdown begins meanwhile (checked every 50 ms).
    private func pause(_ d: Duration) async {
        let end = MonotonicClock.nanos() + UInt64(max(d, .zero).nanoseconds)
        while !stopping {
            let now = MonotonicClock.nanos()
            guard now < end else { return }
            try? await Task.sleep(for: .nanoseconds(Int64(min(end - now, 50_000_000))))
        }
    }

    /// Runs until `shutdown()` or cancellation of the calling task, then drains.
    public func run() async throws {
        guard try await registerUntilReachable() else {
            logger.notice("worker stopped before it could register (redis unreachable)")
            return
        }
        logger.info(
            "worker started",
            metadata: [
                "queues": "\(configuration.queues.map { "\($0.name):\($0.weight)" }.joined(separator: ","))",
                "concurrency": "\(configuration.concurrency)",
            ])
        let reporter = Task(executorPreference: JobThreads.control) { await self.reportLoop() }
        let heartbeat = Task(executorPreference: JobThreads.control) { await self.heartbeatLoop() }
        let monitor = Task(executorPreference: JobThreads.control) { await self.timeoutLoop() }
        let maintenance = configuration.runsMaintenance ? Task { await maintenanceLoop() } : nil
        await withTaskCancellationHandler {
            await fetchLoop()
        } onCancel: {
            shutdown()
        }
        await drainAndRelease()
        reportContinuation.finish()
        await reporter.value
        heartbeat.cancel()
        monitor.cancel()
        maintenance?.cancel()
        let left = holding
        if left == 0 {
            _ = try? await queue.deregister(worker: configuration.id)
        }
        let (p, f) = counts
        logger.info(
            "worker stopped", metadata: ["processed": "\(p)", "failed": "\(f)", "left_for_recovery": "\(left)"])
        if let fatal = state.withLock({ $0.fatal }) { throw fatal }
    }

    // MARK: - Reserving

    private func fetchLoop() async {
        var rng = SystemRandomNumberGenerator()
        var slots = slotSignal.makeAsyncIterator()
        var failures = 0
        // A reserve whose outcome is unknown (the connection dropped) may have reserved a batch
        // this worker never saw; it is handed back before the next reservation.
        var reconcile = false
        while !state.withLock({ $0.stopping }) {
            // Run slots free up when handlers finish; held reservations (running or reporting)
            // stay under twice the concurrency.
            let free = state.withLock { s in
                min(configuration.concurrency - s.running, 2 * configuration.concurrency - s.held.count)
            }
            if free <= 0 {
                _ = await slots.next()
                continue
            }
            do {
                if reconcile {
                    let known = state.withLock { Set($0.held.values.map(\.job.token)) }
                    let n = try await queue.releaseUnknownBatches(worker: configuration.id, known: known)
                    reconcile = false
                    if n > 0 {
                        logger.notice(
                            "handed back jobs reserved by a request whose reply was lost", metadata: ["jobs": "\(n)"])
                    }
                }
                let jobs = try await queue.reserve(
                    worker: configuration.id, queues: configuration.reservationOrder(using: &rng),
                    lease: configuration.lease,
                    max: free)
                failures = 0
                if jobs.isEmpty {
                    try await waitForWork()
                } else {
                    await start(jobs)
                }
            } catch QueueError.workerGone {
                logger.warning("registry entry expired (this worker was unreachable or paused); registering again")
                await beat()
            } catch {
                if stopIfUnfixable(error) { break }
                failures += 1
                if let e = error as? RedisError, e.outcomeUnknown { reconcile = true }
                logger.debug("reserve failed", metadata: ["error": "\(error)"])
                await pause(Backoff(base: .milliseconds(50), max: .seconds(2)).delay(attempt: failures))
            }
        }
    }

    /// Blocks on the served queues' wake-up lists for at most `idleWait`.
    private func waitForWork() async throws {
        var cmd = RedisCommand("BLPOP")
        for q in configuration.queues { cmd.append(queue.keys.signal(q.name)) }
        let secs = Double(configuration.idleWait.milliseconds) / 1000
        cmd.append(String(secs))
        _ = try await blocking.send(cmd, blockingFor: configuration.idleWait)
    }

    /// Starts reserved jobs; a batch that arrives after shutdown began is handed back here,
    /// before the fetch loop ends, so the process never exits holding it.
    private func start(_ jobs: [ReservedJob]) async {
        metrics.reserved.increment(by: jobs.count)
        let now = MonotonicClock.nanos()
        let late: [ReservedJob] = state.withLock { s in
            if s.stopping { return jobs }
            for job in jobs {
                // A job of that id still held is an earlier attempt whose slot was closed (its
                // id forgotten and enqueued afresh): it is stopped and its report dropped.
                if let old = s.held[job.id] {
                    old.task?.cancel()
                    if old.running { s.running -= 1 }
                }
                var h = Held(job: job, deadline: now + UInt64(job.timeout.nanoseconds), started: now)
                h.task = Task(executorPreference: JobThreads.shared) { await self.execute(job) }
                s.held[job.id] = h
                s.running += 1
            }
            return []
        }
        if !late.isEmpty {
            do {
                try await queue.release(worker: configuration.id, late)
            } catch {
                logger.warning(
                    "could not hand back jobs reserved as shutdown began; they will be reclaimed when this worker's heartbeat expires",
                    metadata: ["error": "\(error)", "count": "\(late.count)"])
            }
        }
    }

    // MARK: - Running

    private func execute(_ job: ReservedJob) async {
        let outcome: Result<[UInt8]?, any Error>
        if let handler = handlers[job.kind] {
            do {
                outcome = .success(
                    try await handler.handle(JobContext(job: job, queue: queue, worker: configuration.id)))
            } catch {
                outcome = .failure(error)
            }
        } else {
            outcome = .failure(UnknownKind(kind: job.kind, worker: configuration.id))
        }
        finish(job, outcome)
    }

    private struct UnknownKind: Error, CustomStringConvertible {
        let kind: String
        let worker: String
        var description: String { "no handler for job kind '\(kind)' on worker \(worker)" }
    }

    private struct TimedOut: Error, CustomStringConvertible {
        let timeout: Duration
        var description: String { "timed out after \(Double(timeout.milliseconds) / 1000) s" }
    }

    /// Turns a handler's outcome into a report, unless the job was timed out or lost meanwhile.
    private func finish(_ job: ReservedJob, _ outcome: Result<[UInt8]?, any Error>) {
        let queued = state.withLock { s -> Bool in
            guard var h = s.held[job.id], h.job.token == job.token, h.running else { return false }
            h.running = false
            h.task = nil
            s.running -= 1
            let report = report(for: job, outcome, cancelRequested: h.cancelRequested)
            s.held[job.id] = h
            s.reports.append(report)
            return true
        }
        if queued { reportContinuation.yield() }
    }

    private func report(for job: ReservedJob, _ outcome: Result<[UInt8]?, any Error>, cancelRequested: Bool) -> Report {
        switch outcome {
        case .success(let result):
            return .done(Completion(job, result: result))
        case .failure(let error):
            let text = "\(error)"
            if cancelRequested {
                return .failed(
                    Failure(job, mode: .cancel, error: "canceled while running: \(text)"))
            }
            if error is PermanentFailure || job.attempt >= job.maxAttempts {
                return .failed(Failure(job, mode: .dead, error: text))
            }
            var rng = SystemRandomNumberGenerator()
            let delay = configuration.retry.delay(afterAttempt: job.attempt, using: &rng)
            return .failed(Failure(job, mode: .retry, delay: delay, error: text))
        }
    }

    // MARK: - Reporting

    private func reportLoop() async {
        for await _ in reportSignal { await flushReports() }
        await flushReports()
    }

    private func flushReports() async {
        let batch: [Report] = state.withLock { s in
            let b = s.reports
            s.reports.removeAll(keepingCapacity: true)
            for r in b { s.held[r.id]?.reporting = true }
            return b
        }
        guard !batch.isEmpty else { return }
        var done: [Completion] = []
        var failed: [Failure] = []
        for r in batch {
            switch r {
            case .done(let c): done.append(c)
            case .failed(let f): failed.append(f)
            }
        }
        var attempt = 0
        while true {
            do {
                let (acks, fails) = try await queue.report(worker: configuration.id, done: done, failed: failed)
                settle(done: done, acks: acks, failed: failed, fails: fails)
                return
            } catch {
                // Outcome unknown: resend. Reports are fenced, so a resend after a success is
                // refused rather than counted twice.
                if stopIfUnfixable(error) { return }
                attempt += 1
                let stopAt = state.withLock { $0.stopDeadline }
                let now = MonotonicClock.nanos()
                if now >= stopAt {
                    // Left held: the jobs are reclaimed once this worker's heartbeat expires.
                    logger.warning(
                        "could not report results before the stop deadline; the jobs will be reclaimed",
                        metadata: ["count": "\(batch.count)", "error": "\(error)"])
                    return
                }
                if attempt == 1 {
                    logger.warning("reporting results failed; retrying", metadata: ["error": "\(error)"])
                }
                let wait = Backoff(base: .milliseconds(50), max: .seconds(2)).delay(attempt: attempt)
                try? await Task.sleep(for: min(wait, .nanoseconds(Int64(clamping: stopAt - now))))
            }
        }
    }

    private func settle(done: [Completion], acks: [AckOutcome], failed: [Failure], fails: [FailOutcome]) {
        var lost: [String] = []
        var ok = 0
        state.withLock { s in
            for (c, o) in zip(done, acks) {
                if s.held[c.id]?.job.token == c.token { s.held[c.id] = nil }
                if o == .recorded {
                    s.processed += 1
                    ok += 1
                } else {
                    lost.append(c.id)
                }
            }
            for (f, o) in zip(failed, fails) {
                if s.held[f.id]?.job.token == f.token { s.held[f.id] = nil }
                if o == .fenced { lost.append(f.id) } else { s.failed += 1 }
            }
        }
        metrics.succeeded.increment(by: ok)
        for o in fails {
            switch o {
            case .retry: metrics.retried.increment()
            case .dead: metrics.dead.increment()
            case .canceled: metrics.canceled.increment()
            case .fenced: metrics.fenced.increment()
            }
        }
        if !lost.isEmpty {
            metrics.fenced.increment(by: lost.count - fails.filter { $0 == .fenced }.count)
            logger.warning(
                "results refused: lease lost (the jobs were reclaimed and may have run elsewhere)",
                metadata: ["jobs": "\(lost.prefix(10).joined(separator: ","))", "count": "\(lost.count)"])
        }
        slotContinuation.yield()
    }

    // MARK: - Heartbeat, timeouts, maintenance

    /// Registers, retrying while Redis is unreachable; false when shutdown came first.
    private func registerUntilReachable() async throws -> Bool {
        var attempt = 0
        while !stopping {
            do {
                _ = try await queue.heartbeat(
                    worker: configuration.id, ttl: configuration.heartbeatTTL, lease: configuration.lease, info: info(),
                    holding: [])
                return true
            } catch {
                try Task.checkCancellation()
                if let e = error as? RedisError, e.retryCannotFix { throw e }
                attempt += 1
                await pause(Backoff(base: .milliseconds(100), max: .seconds(2)).delay(attempt: attempt))
            }
        }
        return false
    }

    private func info() -> [(String, String)] {
        let (held, ids, processed, failed) = state.withLock { s in
            (s.held.count, s.held.keys.sorted().prefix(50).joined(separator: ","), s.processed, s.failed)
        }
        return [
            ("host", WorkerConfiguration.hostname), ("pid", "\(getpidValue())"), ("version", configuration.version),
            ("started", "\(startedAt)"),
            ("queues", configuration.queues.map { "\($0.name):\($0.weight)" }.joined(separator: ",")),
            ("concurrency", "\(configuration.concurrency)"), ("inflight", "\(held)"), ("inflight_ids", ids),
            ("processed", "\(processed)"), ("failed", "\(failed)"),
        ]
    }

    private func heartbeatLoop() async {
        var beats = 0
        while !Task.isCancelled {
            await LeaseTimers.shared.sleep(for: configuration.heartbeatInterval)
            if Task.isCancelled { return }
            await beat()
            beats += 1
            if beats % 5 == 0 { await sampleDepths() }
        }
    }

    /// Records the pending depth of the queues this worker serves (the queue-depth gauge).
    private func sampleDepths() async {
        let names = configuration.queues.map(\.name)
        guard
            let replies = try? await queue.redis.pipeline(
                names.map { RedisCommand("LLEN", [.string(queue.keys.pending($0))]) })
        else { return }
        for (q, r) in zip(names, replies) {
            if let n = r.int { metrics.depth(q).record(n) }
        }
    }

    /// One heartbeat: renew, then stop what was lost or canceled.
    func beat() async {
        let holding = state.withLock { s in
            s.held.values.map { HeldJob(id: $0.job.id, token: $0.job.token, slot: $0.job.slot) }
        }
        let reply: HeartbeatReply
        do {
            reply = try await queue.heartbeat(
                worker: configuration.id, ttl: configuration.heartbeatTTL, lease: configuration.lease, info: info(),
                holding: holding)
        } catch {
            logger.debug("heartbeat failed", metadata: ["error": "\(error)"])
            _ = stopIfUnfixable(error)
            return
        }
        let now = MonotonicClock.nanos()
        let (lostNow, oldest): ([String], UInt64) = state.withLock { s in
            var lost: [String] = []
            let tokens = Dictionary(holding.map { ($0.id, $0.token) }, uniquingKeysWith: { a, _ in a })
            for id in reply.lost {
                // A job whose report is on its way settles through the report's own outcome.
                guard let h = s.held[id], !h.reporting, h.job.token == tokens[id] else { continue }
                h.task?.cancel()
                if h.running { s.running -= 1 }
                s.held[id] = nil
                lost.append(id)
            }
            for id in reply.cancelRequested where s.held[id]?.running == true {
                s.held[id]?.cancelRequested = true
                s.held[id]?.task?.cancel()
            }
            return (lost, s.held.values.map(\.started).min() ?? now)
        }
        metrics.inflight.record(holding.count)
        metrics.oldestHeld.record(Double(now - oldest) / 1e9)
        if !lostNow.isEmpty {
            metrics.fenced.increment(by: lostNow.count)
            logger.warning(
                "lease lost: jobs were reclaimed while this worker was unreachable or paused; stopping them",
                metadata: ["jobs": "\(lostNow.prefix(10).joined(separator: ","))", "count": "\(lostNow.count)"])
            slotContinuation.yield()
        }
    }

    private func timeoutLoop() async {
        while !Task.isCancelled {
            await LeaseTimers.shared.sleep(for: .milliseconds(100))
            expireTimeouts()
        }
    }

    private func expireTimeouts() {
        let now = MonotonicClock.nanos()
        let n = state.withLock { s -> Int in
            var n = 0
            for (id, h) in s.held where h.running && h.deadline <= now {
                h.task?.cancel()
                var updated = h
                updated.running = false
                s.running -= 1
                updated.task = nil
                s.held[id] = updated
                s.reports.append(report(for: h.job, .failure(TimedOut(timeout: h.job.timeout)), cancelRequested: false))
                n += 1
            }
            return n
        }
        if n > 0 {
            metrics.timedOut.increment(by: n)
            logger.warning("jobs timed out; their handlers were cancelled", metadata: ["count": "\(n)"])
            reportContinuation.yield()
        }
    }

    private func maintenanceLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: configuration.maintenanceInterval)
            guard let r = try? await queue.maintain(owner: configuration.id, lockFor: configuration.maintenanceInterval)
            else { continue }
            if r.reclaimed + r.killed > 0 {
                metrics.reclaimed.increment(by: r.reclaimed + r.killed)
                logger.notice(
                    "reclaimed jobs from stopped workers or expired leases",
                    metadata: [
                        "requeued": "\(r.reclaimed)", "dead": "\(r.killed)", "workers_removed": "\(r.workersRemoved)",
                    ])
            }
        }
    }

    // MARK: - Shutdown

    private func drainAndRelease() async {
        shutdown()  // sets the deadlines if cancellation, not shutdown(), ended the fetch loop
        let (deadline, stopAt) = state.withLock { ($0.drainDeadline, $0.stopDeadline) }
        while MonotonicClock.nanos() < deadline, state.withLock({ s in s.held.values.contains { $0.running } }) {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let unfinished: [ReservedJob] = state.withLock { s in
            var out: [ReservedJob] = []
            for (id, h) in s.held where h.running {
                h.task?.cancel()
                s.running -= 1
                s.held[id] = nil
                out.append(h.job)
            }
            return out
        }
        if !unfinished.isEmpty {
            logger.notice("handing back unfinished jobs", metadata: ["count": "\(unfinished.count)"])
            do {
                try await queue.release(worker: configuration.id, unfinished)
            } catch {
                logger.warning(
                    "could not hand jobs back; they will be reclaimed when this worker's heartbeat expires",
                    metadata: ["error": "\(error)"])
            }
        }
        // Let the reporter settle what finished.
        let flushDeadline = min(MonotonicClock.nanos() + 5_000_000_000, stopAt)
        reportContinuation.yield()
        while MonotonicClock.nanos() < flushDeadline, holding > 0 {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}

#if canImport(Glibc)
    import Glibc
#endif

func getpidValue() -> Int32 { getpid() }
