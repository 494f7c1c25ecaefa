/// Every Redis key the queue uses, built in this one file.
///
/// All keys start with `{namespace}:`; the braces are a Redis Cluster hash tag, so every key of
/// a namespace lives in one slot and multi-key scripts stay valid on a cluster. A key is the
/// prefix and a name from `Name` (then an id); the Swift builders below and the Lua expressions
/// of `Lua`, which the scripts interpolate (their prefix is `P = ARGV[1]`), are made from those
/// same names, so each name has one spelling.
public struct QueueKeys: Sendable, Hashable {
    /// The namespace, as given (`exportgrid` by default).
    public let namespace: String
    /// `{namespace}:`, the prefix of every key.
    public let prefix: String

    public init(namespace: String) {
        self.namespace = namespace
        self.prefix = "{\(namespace)}:"
    }

    /// A job's hash, only off the happy path (scheduled, retry-waiting, dead, canceled): its
    /// record (`r`), state (`st`), last error (`err`), times. Pending and running jobs live in
    /// their queue list and their worker's in-flight hash instead.
    public func job(_ id: String) -> String { prefix + Name.job + id }
    /// Marker of a live job (pending, scheduled, running, dead or canceled): an empty string
    /// created with SET NX, so enqueue is idempotent in one command. Separate keys rather than
    /// one set, because the keyspace's own table shrinks back after a burst; a set's does not.
    public func marker(_ id: String) -> String { prefix + Name.marker + id }
    /// Ids whose cancellation was requested (skipped when reserved, stopped when running).
    public var cancelRequests: String { prefix + Name.cancelRequests }
    /// Progress of running jobs (hash: job id -> text).
    public var progress: String { prefix + Name.progress }
    /// Fencing-token counter: every reservation batch takes a new, larger token; a job's
    /// fencing identity is (batch token, slot).
    public var tokens: String { prefix + Name.tokens }
    /// Result of a job outside any group (string, expires with retention).
    public func result(_ id: String) -> String { prefix + Name.result + id }
    /// Pending list of a queue: packed job records (see `JobRecord`), FIFO (RPUSH to enqueue,
    /// LPOP to reserve; reclaimed and handed-back jobs go to the front).
    public func pending(_ queue: String) -> String { prefix + Name.pending + queue }
    /// Wake-up list of a queue: idle workers BLPOP it; pushed when the queue becomes non-empty.
    public func signal(_ queue: String) -> String { prefix + Name.signal + queue }
    /// Set of every queue name ever enqueued to.
    public var queues: String { prefix + Name.queues }
    /// Set of paused queue names.
    public var paused: String { prefix + Name.paused }
    /// Delayed and retry-waiting jobs (zset: id -> run-at ms).
    public var scheduled: String { prefix + Name.scheduled }
    /// Completed jobs (zset: id -> finish ms), bounded by count and age; job hashes are deleted.
    public var done: String { prefix + Name.done }
    /// Dead jobs (zset: id -> death ms), bounded by count and age; their hashes are kept until trimmed.
    public var dead: String { prefix + Name.dead }
    /// Canceled jobs (zset: id -> cancel ms), bounded like `dead`.
    public var canceled: String { prefix + Name.canceled }
    /// Counters: enqueued, processed, failed, retried, dead, reclaimed, fenced, canceled.
    public var stats: String { prefix + Name.stats }
    /// Worker registry index (zset: worker id -> last heartbeat ms).
    public var workers: String { prefix + Name.workers }
    /// A worker's registry entry and liveness key (hash with a TTL refreshed by its heartbeat).
    public func worker(_ id: String) -> String { prefix + Name.worker + id }
    /// Lease deadlines of the reservation batches a worker holds (zset: batch token -> deadline ms).
    public func active(_ worker: String) -> String { prefix + Name.active + worker }
    /// The items of one reservation batch, in slot order (list).
    public func batch(_ token: Int64) -> String { prefix + Name.batch + String(token) }
    /// Which slots of a batch are finished (bitmap; bit n is slot n).
    public func batchDone(_ token: Int64) -> String { prefix + Name.batchDone + String(token) }
    /// Which worker holds a batch (string), for administration.
    public func batchOwner(_ token: Int64) -> String { prefix + Name.batchOwner + String(token) }
    /// Group bookkeeping hash: total, done, failed, state, completion and failure jobs.
    public func group(_ id: String) -> String { prefix + Name.group + id }
    /// Results of a group's members (hash: job id -> result bytes).
    public func groupResults(_ id: String) -> String { prefix + Name.group + id + Name.groupResults }
    /// Lock held by whichever process runs the maintenance pass (recover, forward, trim).
    public var maintenanceLock: String { prefix + Name.maintenanceLock }

    /// The name of each key after the prefix (an id follows those ending in ':').
    enum Name {
        static let job = "job:"
        static let marker = "id:"
        static let cancelRequests = "cancel"
        static let progress = "progress"
        static let tokens = "tokens"
        static let result = "result:"
        static let pending = "q:"
        static let signal = "sig:"
        static let queues = "queues"
        static let paused = "paused"
        static let scheduled = "scheduled"
        static let done = "done"
        static let dead = "dead"
        static let canceled = "canceled"
        static let stats = "stats"
        static let workers = "workers"
        static let worker = "worker:"
        static let active = "active:"
        static let batch = "batch:"
        static let batchDone = "bdone:"
        static let batchOwner = "bown:"
        static let group = "group:"
        static let groupResults = ":results"
        static let maintenanceLock = "lock:maintenance"
    }

    /// The same keys as Lua expressions over the prefix `P` and a Lua expression for the id,
    /// for the scripts to interpolate (`\(L.job("id"))` is `P .. 'job:' .. id`).
    enum Lua {
        static func named(_ name: String) -> String { "P .. '\(name)'" }
        static func named(_ name: String, _ id: String) -> String { "P .. '\(name)' .. \(id)" }

        static func job(_ id: String) -> String { named(Name.job, id) }
        static func marker(_ id: String) -> String { named(Name.marker, id) }
        static let cancelRequests = named(Name.cancelRequests)
        static let progress = named(Name.progress)
        static let tokens = named(Name.tokens)
        static func result(_ id: String) -> String { named(Name.result, id) }
        static func pending(_ queue: String) -> String { named(Name.pending, queue) }
        static func signal(_ queue: String) -> String { named(Name.signal, queue) }
        static let queues = named(Name.queues)
        static let paused = named(Name.paused)
        static let scheduled = named(Name.scheduled)
        static let done = named(Name.done)
        static let dead = named(Name.dead)
        static let canceled = named(Name.canceled)
        static let stats = named(Name.stats)
        static let workers = named(Name.workers)
        static func worker(_ id: String) -> String { named(Name.worker, id) }
        static func active(_ worker: String) -> String { named(Name.active, worker) }
        static func batch(_ token: String) -> String { named(Name.batch, token) }
        static func batchDone(_ token: String) -> String { named(Name.batchDone, token) }
        static func batchOwner(_ token: String) -> String { named(Name.batchOwner, token) }
        static func group(_ id: String) -> String { named(Name.group, id) }
        static func groupResults(_ id: String) -> String { "\(group(id)) .. '\(Name.groupResults)'" }
    }
}

/// The Lua key expressions, as the scripts spell them.
typealias L = QueueKeys.Lua
