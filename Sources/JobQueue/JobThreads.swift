import RedisClient

/// The OS threads job handlers run on, apart from Swift's cooperative pool.
///
/// A handler is CPU-bound for as long as its job takes (an ecosystem's matching of a whole
/// nation, seconds in a debug build or on a busy host). Run on the cooperative pool, which has
/// one thread per core, `concurrency` such jobs would hold every thread, and the worker's own
/// loops (heartbeat, reserving, reporting, timeouts) could not run until one finished: the
/// heartbeat would lapse, the jobs would be reclaimed and run again elsewhere, and a long enough
/// job would never finish. Handlers run here instead, one thread per job slot, and the worker's
/// lease-keeping loops on threads of their own (`control`, with `LeaseTimers` for their sleeps).
///
/// One pool per process for handlers (`shared`), grown to the largest concurrency any worker in it
/// asked for, and one for the workers' own loops (`control`); their threads
/// live as long as the process (they wait on a condition when idle).
final class JobThreads: TaskExecutor, @unchecked Sendable {
    static let shared = JobThreads(name: "eg-job")

    /// Two threads of their own for every worker's lease-keeping loops (heartbeat, reports,
    /// timeouts), so that neither its handlers nor a busy host process (a test runner, an
    /// application embedding a worker) can delay a heartbeat past the liveness TTL.
    static let control: JobThreads = {
        let t = JobThreads(name: "eg-lease")
        t.reserve(threads: 2)
        return t
    }()

    private let name: String
    private let lock = ConditionLock()
    private var jobs: [UnownedJob] = []
    private var head = 0
    private var threads = 0

    init(name: String) { self.name = name }

    /// Makes sure at least `count` threads serve the pool.
    func reserve(threads count: Int) {
        lock.withLock {
            while threads < count {
                threads += 1
                OSThread.spawn(name: "\(name)-\(threads)") { [self] in serve() }
            }
        }
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        lock.withLock {
            jobs.append(unowned)
            lock.signal()
        }
    }

    private func serve() {
        let executor = asUnownedTaskExecutor()
        while true {
            lock.lock()
            while head == jobs.count { lock.wait() }
            let job = jobs[head]
            head += 1
            if head == jobs.count {
                jobs.removeAll(keepingCapacity: true)
                head = 0
            }
            lock.unlock()
            job.runSynchronously(on: executor)
        }
    }
}

/// Sleeps that end on a thread of their own. `Task.sleep` wakes its task through Swift's global
/// executor, whose threads a busy process may all hold (CPU-bound work, a test runner), so a
/// heartbeat waiting in it could oversleep its liveness TTL however it is scheduled afterwards.
/// These wake from one timer thread and resume the task on its own executor.
final class LeaseTimers: @unchecked Sendable {
    static let shared = LeaseTimers()

    private let lock = ConditionLock()
    private var pending: [(deadline: UInt64, continuation: UnsafeContinuation<Void, Never>)] = []

    private init() { OSThread.spawn(name: "eg-timers") { [self] in serve() } }

    /// Returns after `duration` (not early on cancellation: callers check it after waking).
    func sleep(for duration: Duration) async {
        let deadline = MonotonicClock.nanos() + UInt64(max(0, duration.nanoseconds))
        await withUnsafeContinuation { (c: UnsafeContinuation<Void, Never>) in
            lock.withLock {
                pending.append((deadline, c))
                lock.signal()
            }
        }
    }

    private func serve() {
        lock.lock()
        while true {
            let now = MonotonicClock.nanos()
            var due: [UnsafeContinuation<Void, Never>] = []
            pending.removeAll { p in
                guard p.deadline <= now else { return false }
                due.append(p.continuation)
                return true
            }
            if !due.isEmpty {
                lock.unlock()
                for c in due { c.resume() }
                lock.lock()
                continue
            }
            if let next = pending.lazy.map(\.deadline).min() { lock.wait(untilNanos: next) } else { lock.wait() }
        }
    }
}
