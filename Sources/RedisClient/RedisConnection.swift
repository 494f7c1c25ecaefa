import Logging
import Synchronization

/// An async Redis connection. A dedicated OS thread owns the hiredis session and runs every
/// blocking call, so Swift's cooperative pool never blocks. Requests from concurrent tasks are
/// taken off a queue in batches and written as one pipeline (auto-pipelining), which is what
/// makes many small concurrent commands cheap.
///
/// All methods throw `RedisError`. Error replies are thrown by `send` and `run`, returned as
/// `.error` values by `pipeline`.
public final class RedisConnection: Sendable {
    private let shared: Shared
    public let configuration: RedisConfiguration
    /// Runs tasks on this connection's I/O thread. A task that mostly waits on this connection
    /// (a producer loop, a CLI command) can prefer it with `withTaskExecutorPreference`: its
    /// awaits then resume on the thread that read the reply, with no hop through the global
    /// pool. Keep CPU-heavy work off it: while a task runs there, the connection does no I/O.
    public let executor: RedisIOExecutor

    public init(configuration: RedisConfiguration, logger: Logger, name: String = "redis-io") {
        self.configuration = configuration
        let shared = Shared(spinNanos: UInt64(max(configuration.ioSpin, .zero).nanoseconds))
        self.shared = shared
        let executor = RedisIOExecutor(shared: shared)
        self.executor = executor
        let session = SessionBox(RedisSession(configuration: configuration, logger: logger))
        session.session.waitLimit = { shared.waitLimit }
        OSThread.spawn(name: name) { shared.ioLoop(session.session, executor: executor) }
    }

    deinit { shared.close() }

    /// Connects now (otherwise the first command connects); throws if Redis cannot be reached
    /// within the command timeout or refuses the credentials.
    public func connect() async throws {
        _ = try await submit([], block: nil, connectOnly: true)
    }

    /// Sends one command; an error reply is thrown as `RedisError.server`.
    public func send(_ command: RedisCommand) async throws -> RedisReply {
        try await submit([command], block: nil)[0].get()
    }

    /// Convenience: `send(RedisCommand(name, args))`.
    public func send(_ name: String, _ args: RedisArgument...) async throws -> RedisReply {
        try await send(RedisCommand(name, args))
    }

    /// Sends a blocking command (BLPOP, BLMOVE, ...): the socket timeout is extended by `block`.
    /// Give blocking commands their own connection: they hold it for their whole wait.
    public func send(_ command: RedisCommand, blockingFor block: Duration) async throws -> RedisReply {
        try await submit([command], block: block)[0].get()
    }

    /// Sends commands as one pipeline; replies come back in order, error replies as `.error`.
    /// A broken connection throws, and then every command's outcome is unknown.
    public func pipeline(_ commands: [RedisCommand]) async throws -> [RedisReply] {
        guard !commands.isEmpty else { return [] }
        return try await submit(commands, block: nil)
    }

    /// Runs a Lua script by SHA, loading it on NOSCRIPT; an error reply is thrown.
    public func run(_ script: RedisScript, keys: [String], args: [RedisArgument]) async throws -> RedisReply {
        try await runAll([(script, script.command(keys: keys, args: args))])[0].get()
    }

    /// Runs many script calls as one pipeline. Calls answered NOSCRIPT are loaded and re-sent
    /// (after the rest of the pipeline); NOSCRIPT means they did not run, so this is safe.
    public func runAll(_ calls: [(RedisScript, RedisCommand)]) async throws -> [RedisReply] {
        var replies = try await pipeline(calls.map(\.1))
        let missing = replies.indices.filter {
            if case .error(let e) = replies[$0], e.code == "NOSCRIPT" { return true }
            return false
        }
        guard !missing.isEmpty else { return replies }
        var scripts: [RedisScript] = []
        for i in missing where !scripts.contains(calls[i].0) { scripts.append(calls[i].0) }
        let retry = scripts.map(\.loadCommand) + missing.map { calls[$0].1 }
        let again = try await pipeline(retry)
        for (k, r) in again.prefix(scripts.count).enumerated() where !r.isOK {
            throw RedisError.server(RedisServerError(message: "loading script \(scripts[k].name): \(r)"))
        }
        for (k, i) in missing.enumerated() { replies[i] = again[scripts.count + k] }
        return replies
    }

    /// From now on no request waits out reconnect backoff past `deadline` (monotonic ns, see
    /// `MonotonicClock`), queued ones included: during an outage they fail with `.unavailable` by
    /// then. A shutting-down process sets it, so reconnect backoff cannot outlast its stop
    /// deadline. Only ever moves earlier.
    public func limitWaits(until deadline: UInt64) { shared.limitWaits(until: deadline) }

    /// Stops the I/O thread; queued and later requests fail with `.closed`.
    public func close() { shared.close() }

    private func submit(_ commands: [RedisCommand], block: Duration?, connectOnly: Bool = false) async throws
        -> [RedisReply]
    {
        let timeout = configuration.commandTimeout + (block ?? .zero)
        let deadline = min(MonotonicClock.nanos() + UInt64(timeout.nanoseconds), shared.waitLimit)
        return try await withUnsafeThrowingContinuation { cont in
            shared.enqueue(
                Request(
                    commands: commands, block: block, deadline: deadline, connectOnly: connectOnly, continuation: cont))
        }
    }
}

extension RedisReply {
    var isOK: Bool {
        switch self {
        case .error: return false
        default: return true
        }
    }
}

/// One caller's commands, answered together.
private struct Request {
    let commands: [RedisCommand]
    let block: Duration?
    let deadline: UInt64
    let connectOnly: Bool
    let continuation: UnsafeContinuation<[RedisReply], any Error>

    func complete(_ r: Result<[RedisReply], RedisError>) {
        switch r {
        case .success(let v): continuation.resume(returning: v)
        case .failure(let e): continuation.resume(throwing: e)
        }
    }
}

/// Moves the session into the I/O thread's closure; only that thread touches it afterwards.
private final class SessionBox: @unchecked Sendable {
    let session: RedisSession
    init(_ s: RedisSession) { session = s }
}

/// A task executor backed by a connection's I/O thread (see `RedisConnection.executor`).
public final class RedisIOExecutor: TaskExecutor {
    fileprivate let shared: Shared

    fileprivate init(shared: Shared) { self.shared = shared }

    public func enqueue(_ job: consuming ExecutorJob) {
        shared.enqueue(job: UnownedJob(job), executor: asUnownedTaskExecutor())
    }
}

/// One unit of work for the I/O thread.
private enum Work {
    case request(Request)
    case job(UnownedJob)
}

/// The work queue shared by callers and the I/O thread; `queue`, `closed` and `sleeping` are
/// guarded by `lock`; `queued` mirrors `queue.count` so the I/O thread can poll without the lock.
private final class Shared: @unchecked Sendable {
    private let lock = ConditionLock()
    private var queue: [Work] = []
    private var closed = false
    private var sleeping = false
    private let queued = Atomic<Int>(0)
    private let limit = Atomic<UInt64>(.max)
    private let spinNanos: UInt64

    var waitLimit: UInt64 { limit.load(ordering: .acquiring) }

    func limitWaits(until deadline: UInt64) {
        var current = limit.load(ordering: .relaxed)
        while deadline < current {
            let (done, seen) = limit.compareExchange(
                expected: current, desired: deadline, ordering: .acquiringAndReleasing)
            if done { break }
            current = seen
        }
    }

    init(spinNanos: UInt64) { self.spinNanos = spinNanos }

    func enqueue(_ r: Request) {
        lock.lock()
        if closed {
            lock.unlock()
            r.complete(.failure(.closed))
            return
        }
        append(.request(r))
    }

    /// After close the I/O thread is gone, so a late job runs on the caller's thread; a task
    /// preferring this executor then observes `.closed` instead of hanging.
    func enqueue(job: UnownedJob, executor: UnownedTaskExecutor) {
        lock.lock()
        if closed {
            lock.unlock()
            job.runSynchronously(on: executor)
            return
        }
        append(.job(job))
    }

    /// Appends with the lock held, then releases it and wakes the thread if it sleeps.
    private func append(_ w: Work) {
        queue.append(w)
        queued.store(queue.count, ordering: .releasing)
        let wake = sleeping
        sleeping = false
        lock.unlock()
        if wake { lock.signal() }
    }

    func close() {
        lock.withLock { closed = true }
        lock.signal()
    }

    /// The I/O thread: take everything queued, run it, repeat. Owns `session` exclusively.
    func ioLoop(_ session: RedisSession, executor: RedisIOExecutor) {
        var batch: [Work] = []
        var requests: [Request] = []
        while true {
            if spinNanos > 0 && queued.load(ordering: .acquiring) == 0 {
                let until = MonotonicClock.nanos() + spinNanos
                while queued.load(ordering: .acquiring) == 0 && MonotonicClock.nanos() < until {}
            }
            lock.lock()
            while queue.isEmpty && !closed {
                sleeping = true
                lock.wait()
            }
            sleeping = false
            if closed {
                let rest = queue
                queue = []
                lock.unlock()
                for w in rest {
                    switch w {
                    case .request(let r): r.complete(.failure(.closed))
                    case .job(let j): j.runSynchronously(on: executor.asUnownedTaskExecutor())
                    }
                }
                session.close()
                return
            }
            swap(&batch, &queue)
            queued.store(0, ordering: .releasing)
            lock.unlock()
            for w in batch {
                switch w {
                case .request(let r): requests.append(r)
                case .job(let j): j.runSynchronously(on: executor.asUnownedTaskExecutor())
                }
            }
            if !requests.isEmpty { run(requests, on: session) }
            batch.removeAll(keepingCapacity: true)
            requests.removeAll(keepingCapacity: true)
        }
    }

    private func run(_ batch: [Request], on session: RedisSession) {
        var i = 0
        while i < batch.count {
            var j = i + 1
            if batch[i].block == nil {
                while j < batch.count && batch[j].block == nil { j += 1 }
            }
            runPipelined(batch[i..<j], on: session)
            i = j
        }
    }

    /// Connects (within the requests' deadlines), then pipelines every command of every request.
    private func runPipelined(_ requests: ArraySlice<Request>, on session: RedisSession) {
        var live = Array(requests)
        while !session.isConnected {
            let earliest = min(live.map(\.deadline).min()!, waitLimit)
            do {
                try session.ensureConnected(deadline: earliest)
            } catch {
                let now = MonotonicClock.nanos()
                let cut = waitLimit
                let fatal: Bool
                switch error {
                case .authentication, .configuration, .server: fatal = true
                default: fatal = false
                }
                live.removeAll { r in
                    guard fatal || min(r.deadline, cut) <= now else { return false }
                    r.complete(.failure(error))
                    return true
                }
                if live.isEmpty { return }
            }
        }
        let connectOnly = live.filter(\.connectOnly)
        for r in connectOnly { r.complete(.success([])) }
        if !connectOnly.isEmpty { live.removeAll(where: \.connectOnly) }
        guard !live.isEmpty else { return }
        session.executeGroups(
            live.count, extraTimeout: live.count == 1 ? live[0].block : nil,
            commands: { live[$0].commands }, deliver: { live[$0].complete($1) })
    }
}
