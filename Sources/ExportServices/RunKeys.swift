import JobQueue

/// Every Redis key of a run, built here only. Run keys share the queue's `{namespace}:` prefix
/// (one Redis Cluster slot per namespace), under `run:<id>:`.
public struct RunKeys: Sendable {
    public let prefix: String
    public let runID: String
    private let base: String

    public init(queue: QueueKeys, runID: String) {
        prefix = queue.prefix
        self.runID = runID
        base = queue.prefix + "run:" + runID + ":"
    }

    /// Every run id, scored by creation time (ms): `{ns}:runs`.
    public static func index(_ keys: QueueKeys) -> String { keys.prefix + "runs" }
    /// A pattern matching every key of this run (for purge).
    public var pattern: String { base + "*" }

    /// Hash: state, generation (`gen`), times, counts, digest, stage progress.
    public var meta: String { base + "meta" }
    /// String with a TTL: the submitter's lease while it stores the run (renewed every few
    /// seconds); a run still loading without it was abandoned.
    public var submitter: String { base + "submitter" }
    /// Hash: `chunk:<n>` -> "<firms> <sha-256>" of chunk n's bytes, `records:<n>` ->
    /// "<records> <sha-256>" of its export-record blocks in order, as submit stored them.
    public var checksums: String { base + "checksums" }
    /// `RunTables` bytes.
    public var tables: String { base + "tables" }
    /// Firms of chunk `n` (`ChunkInput.encodeFirms`).
    public func chunk(_ n: Int) -> String { base + "chunk:\(n)" }
    /// List of export-record blocks of chunk `n`'s firms (from the submitted exports.csv).
    public func records(_ n: Int) -> String { base + "records:\(n)" }
    /// List of export-record blocks added later with `exportctl load-exports` (all firms).
    public var loadedExports: String { base + "loaded-exports" }
    /// Per-file read counts and the rejected rows, in file order (`RunInputReport` bytes).
    public var inputReport: String { base + "input" }
    /// The merged evaluation (`ChunkResult` bytes of the national merge).
    public var national: String { base + "national" }
    /// Hash: report file name -> bytes (report.json, report.html, CSV tables).
    public var report: String { base + "report" }
    /// The firms the run supports, in id order (`SupportedFirms` bytes), written with the
    /// report; monitoring rounds follow them once it exists.
    public var supportedFirms: String { base + "supported-firms" }
    /// Hash: period -> monitoring snapshot (JSON).
    public var monitor: String { base + "monitor" }
    /// Hash: period -> "1" once periodic monitoring of that period was started.
    public var monitorClaims: String { base + "monitor-claims" }
    /// Hash: period -> monitoring rounds completed for it (periodic and on demand).
    public var monitorRuns: String { base + "monitor-runs" }
}

/// Job, group and queue names of a run's stages.
public enum RunJobs {
    public static let evaluateQueue = "evaluate"
    public static let ecosystemQueue = "ecosystem"
    public static let controlQueue = "control"
    /// Every queue a worker serves by default (control first: it unblocks the next stage).
    public static let defaultWorkerQueues = "control:4,ecosystem:2,evaluate:1"

    public static let evaluateKind = "evaluate"
    public static let poolKind = "pool"
    public static let ecosystemKind = "ecosystem"
    public static let collectKind = "collect"
    public static let failKind = "run-failed"
    public static let monitorChunkKind = "monitor-chunk"
    public static let monitorCollectKind = "monitor-collect"

    public static func evaluateGroup(_ run: String) -> String { run + ":evaluate" }
    public static func ecosystemGroup(_ run: String) -> String { run + ":ecosystem" }
    public static func monitorGroup(_ run: String, period: Int) -> String { run + ":monitor:\(period)" }
    public static func evaluateJob(_ run: String, chunk: Int) -> String { run + ":evaluate:\(chunk)" }
    public static func poolJob(_ run: String) -> String { run + ":pool" }
    public static func ecosystemJob(_ run: String, _ industry: String) -> String { run + ":ecosystem:" + industry }
    public static func collectJob(_ run: String) -> String { run + ":collect" }
    public static func failJob(_ run: String) -> String { run + ":failed" }
    public static func monitorChunkJob(_ run: String, period: Int, chunk: Int) -> String {
        run + ":monitor:\(period):\(chunk)"
    }
    public static func monitorCollectJob(_ run: String, period: Int) -> String { run + ":monitor:\(period)" }

    /// Run ids: 1 to 64 letters, digits, '-', '_' or '.'.
    public static func checkRunID(_ id: String) throws(RunError) {
        guard (1...64).contains(id.utf8.count),
            id.utf8.allSatisfy({
                ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 || $0 == 95
                    || $0 == 46
            })
        else {
            throw RunError("run id '\(id)' is not valid: use 1 to 64 letters, digits, '-', '_' or '.'")
        }
    }
}

/// An error an operator reads: one line, with a hint when there is one.
public struct RunError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public let hint: String?
    public init(_ message: String, hint: String? = nil) {
        self.message = message
        self.hint = hint
    }
    public var description: String { message }
}
