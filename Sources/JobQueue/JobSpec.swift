/// A job to enqueue. The id is the caller's: enqueueing an id that already exists (pending,
/// running, dead, canceled, or done within the retention window) is a no-op that says so.
public struct JobSpec: Sendable, Equatable {
    /// When a job may first run.
    public enum Schedule: Sendable, Equatable {
        case now
        /// After a delay from the queue clock's now.
        case after(Duration)
        /// At an absolute time, in milliseconds since the Unix epoch.
        case at(epochMillis: Int64)
    }

    public var id: String
    public var queue: String
    /// Names the handler that runs it (like a Sidekiq job class).
    public var kind: String
    public var payload: [UInt8]
    /// Attempts before the job goes to the dead set (the first run counts).
    public var maxAttempts: Int
    /// The worker stops waiting for the handler after this long and counts a failed attempt.
    public var timeout: Duration
    public var schedule: Schedule
    /// The fan-in group this job belongs to; the group must exist (`createGroup`) first.
    public var group: String?

    public init(
        id: String, queue: String = "default", kind: String, payload: [UInt8] = [], maxAttempts: Int = 5,
        timeout: Duration = .seconds(300), schedule: Schedule = .now, group: String? = nil
    ) {
        self.id = id
        self.queue = queue
        self.kind = kind
        self.payload = payload
        self.maxAttempts = maxAttempts
        self.timeout = timeout
        self.schedule = schedule
        self.group = group
    }

    /// Checks what Redis keys and scripts rely on; thrown errors name the job and the field.
    func validate() throws(QueueError) {
        try QueueError.checkName(id, what: "job id")
        try QueueError.checkName(queue, what: "queue name of job \(id)")
        try QueueError.checkName(kind, what: "kind of job \(id)")
        if let group { try QueueError.checkName(group, what: "group of job \(id)") }
        guard maxAttempts >= 1 else { throw .invalid("job \(id): maxAttempts must be at least 1") }
        guard timeout > .zero else { throw .invalid("job \(id): timeout must be positive") }
    }
}

/// A fan-in group: its completion job is created exactly once, when every one of `total`
/// members has succeeded; if a member dies or is canceled while the group is open, the group
/// fails and its failure job is created instead.
public struct GroupSpec: Sendable, Equatable {
    public var id: String
    public var total: Int
    public var onComplete: JobSpec?
    public var onFailure: JobSpec?

    public init(id: String, total: Int, onComplete: JobSpec?, onFailure: JobSpec? = nil) {
        self.id = id
        self.total = total
        self.onComplete = onComplete
        self.onFailure = onFailure
    }
}

/// What enqueueing one job did.
public enum EnqueueOutcome: Sendable, Equatable {
    case created
    /// A job with this id exists (or completed within the retention window); nothing changed.
    case existed
}

/// A job reserved by a worker: only the holder of its reservation (`token`, `slot`) may
/// complete it.
public struct ReservedJob: Sendable, Equatable {
    public let id: String
    /// The fencing token of the reservation batch: every reservation takes a new, larger one.
    public let token: Int64
    /// The job's place in its batch; (token, slot) identifies this one attempt.
    public let slot: Int
    /// 1 for the first run.
    public let attempt: Int
    public let maxAttempts: Int
    public let timeout: Duration
    public let queue: String
    public let kind: String
    public let payload: [UInt8]
    public let group: String?

    public init(
        id: String, token: Int64, slot: Int, attempt: Int, maxAttempts: Int, timeout: Duration, queue: String,
        kind: String,
        payload: [UInt8], group: String?
    ) {
        self.id = id
        self.token = token
        self.slot = slot
        self.attempt = attempt
        self.maxAttempts = maxAttempts
        self.timeout = timeout
        self.queue = queue
        self.kind = kind
        self.payload = payload
        self.group = group
    }
}

/// The outcome of a completion or failure report.
public enum AckOutcome: Sendable, Equatable {
    case recorded
    /// The reservation was lost (lease expired or worker declared dead; the job was reclaimed
    /// and may be running elsewhere): the result was discarded.
    case leaseLost
}

/// What the queue did with a failed attempt.
public enum FailOutcome: String, Sendable, Equatable {
    case retry, dead, canceled
    /// The reservation was lost; nothing was recorded.
    case fenced
}

/// How long terminal records are kept. Completed jobs keep only an index entry (their hash is
/// deleted at once); dead and canceled jobs keep their hash, payload and last error until trimmed.
/// The done index is also the window within which re-enqueueing a completed id is refused.
public struct Retention: Sendable, Equatable {
    public var doneCount: Int = 100_000
    public var doneAge: Duration = .seconds(24 * 3600)
    public var deadCount: Int = 10_000
    public var deadAge: Duration = .seconds(7 * 24 * 3600)
    /// Results of jobs outside groups (groups keep theirs until the group is deleted).
    public var resultAge: Duration = .seconds(24 * 3600)

    public init() {}
    public static let `default` = Retention()
}

/// Exponential backoff with jitter for retries: attempt n (1-based) waits
/// `min(max, base * factor^(n-1))`, reduced by a random share of up to `jitter`.
public struct RetryPolicy: Sendable, Equatable {
    public var base: Duration = .seconds(1)
    public var factor: Double = 2
    public var max: Duration = .seconds(600)
    /// 0 gives an exact schedule; 0.2 spreads each delay over [80%, 100%].
    public var jitter: Double = 0.2

    public init(base: Duration = .seconds(1), factor: Double = 2, max: Duration = .seconds(600), jitter: Double = 0.2) {
        self.base = base
        self.factor = factor
        self.max = max
        self.jitter = jitter
    }

    /// The longest delay after failed attempt `attempt` (1-based), before jitter.
    public func ceiling(afterAttempt attempt: Int) -> Duration {
        let ms = Double(base.milliseconds) * pow(factor, Double(Swift.max(0, attempt - 1)))
        return .milliseconds(Int64(Swift.min(ms, Double(max.milliseconds))))
    }

    public func delay<G: RandomNumberGenerator>(afterAttempt attempt: Int, using rng: inout G) -> Duration {
        let ceil = ceiling(afterAttempt: attempt).milliseconds
        let cut = jitter > 0 ? Double.random(in: 0...jitter, using: &rng) : 0
        return .milliseconds(Int64((Double(ceil) * (1 - cut)).rounded()))
    }
}

private func pow(_ x: Double, _ n: Double) -> Double {
    var r = 1.0
    var i = 0.0
    while i < n {
        r *= x
        i += 1
        if r > 1e18 { break }
    }
    return r
}

extension Duration {
    /// Whole milliseconds (truncated).
    public var milliseconds: Int64 {
        let (s, a) = components
        return s * 1000 + a / 1_000_000_000_000_000
    }
}
