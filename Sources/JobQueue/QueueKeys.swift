/// Every Redis key the queue uses, built in this one file.
///
/// All keys start with `{namespace}:`; the braces are a Redis Cluster hash tag, so every key of
/// a namespace lives in one slot and multi-key scripts stay valid on a cluster. Lua scripts
/// build per-job keys from `prefix` the same way (`prefix .. 'job:' .. id`); the `lua*`
/// fragments below are the only spelling of those names inside scripts.
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
    public func job(_ id: String) -> String { prefix + "job:" + id }
    /// Marker of a live job (pending, scheduled, running, dead or canceled): an empty string
    /// created with SET NX, so enqueue is idempotent in one command. Separate keys rather than
    /// one set, because the keyspace's own table shrinks back after a burst; a set's does not.
    public func marker(_ id: String) -> String { prefix + "id:" + id }
    /// Ids whose cancellation was requested (skipped when reserved, stopped when running).
    public var cancelRequests: String { prefix + "cancel" }
    /// Progress of running jobs (hash: job id -> text).
    public var progress: String { prefix + "progress" }
    /// Fencing-token counter: every reservation batch takes a new, larger token; a job's
    /// fencing identity is (batch token, slot).
    public var tokens: String { prefix + "tokens" }
    /// Result of a job outside any group (string, expires with retention).
    public func result(_ id: String) -> String { prefix + "result:" + id }
    /// Pending list of a queue: packed job records (see `JobRecord`), FIFO (RPUSH to enqueue,
    /// LPOP to reserve; reclaimed and handed-back jobs go to the front).
    public func pending(_ queue: String) -> String { prefix + "q:" + queue }
    /// Wake-up list of a queue: idle workers BLPOP it; pushed when the queue becomes non-empty.
    public func signal(_ queue: String) -> String { prefix + "sig:" + queue }
    /// Set of every queue name ever enqueued to.
    public var queues: String { prefix + "queues" }
    /// Set of paused queue names.
    public var paused: String { prefix + "paused" }
    /// Delayed and retry-waiting jobs (zset: id -> run-at ms).
    public var scheduled: String { prefix + "scheduled" }
    /// Completed jobs (zset: id -> finish ms), bounded by count and age; job hashes are deleted.
    public var done: String { prefix + "done" }
    /// Dead jobs (zset: id -> death ms), bounded by count and age; their hashes are kept until trimmed.
    public var dead: String { prefix + "dead" }
    /// Canceled jobs (zset: id -> cancel ms), bounded like `dead`.
    public var canceled: String { prefix + "canceled" }
    /// Counters: enqueued, processed, failed, retried, dead, reclaimed, fenced, canceled.
    public var stats: String { prefix + "stats" }
    /// Worker registry index (zset: worker id -> last heartbeat ms).
    public var workers: String { prefix + "workers" }
    /// A worker's registry entry and liveness key (hash with a TTL refreshed by its heartbeat).
    public func worker(_ id: String) -> String { prefix + "worker:" + id }
    /// Lease deadlines of the reservation batches a worker holds (zset: batch token -> deadline ms).
    public func active(_ worker: String) -> String { prefix + "active:" + worker }
    /// The items of one reservation batch, in slot order (list).
    public func batch(_ token: Int64) -> String { prefix + "batch:" + String(token) }
    /// Which slots of a batch are finished (bitmap; bit n is slot n).
    public func batchDone(_ token: Int64) -> String { prefix + "bdone:" + String(token) }
    /// Which worker holds a batch (string), for administration.
    public func batchOwner(_ token: Int64) -> String { prefix + "bown:" + String(token) }
    /// Group bookkeeping hash: total, done, failed, state, completion and failure jobs.
    public func group(_ id: String) -> String { prefix + "group:" + id }
    /// Results of a group's members (hash: job id -> result bytes).
    public func groupResults(_ id: String) -> String { prefix + "group:" + id + ":results" }
    /// Lock held by whichever process runs the maintenance pass (recover, forward, trim).
    public var maintenanceLock: String { prefix + "lock:maintenance" }
}
