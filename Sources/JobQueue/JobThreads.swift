import RedisClient

/// The OS threads job handlers run on, apart from Swift's cooperative pool.
///
/// A handler is CPU-bound for as long as its job takes (an ecosystem's matching of a whole
/// nation, seconds in a debug build or on a busy host). Run on the cooperative pool, which has
/// one thread per core, `concurrency` such jobs would hold every thread, and the worker's own
/// loops (heartbeat, reserving, reporting, timeouts) could not run until one finished: the
/// heartbeat would lapse, the jobs would be reclaimed and run again elsewhere, and a long enough
/// job would never finish. Handlers run here instead, one thread per job slot, so the worker's
/// loops always have the cooperative pool to themselves.
///
/// One pool per process, grown to the largest concurrency any worker in it asked for; its threads
/// live as long as the process (they wait on a condition when idle).
final class JobThreads: TaskExecutor, @unchecked Sendable {
    static let shared = JobThreads()

    private let lock = ConditionLock()
    private var jobs: [UnownedJob] = []
    private var head = 0
    private var threads = 0

    /// Makes sure at least `count` threads serve the pool.
    func reserve(threads count: Int) {
        lock.withLock {
            while threads < count {
                threads += 1
                OSThread.spawn(name: "eg-job-\(threads)") { [self] in serve() }
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
