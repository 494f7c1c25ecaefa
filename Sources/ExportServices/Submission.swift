import ExportData
import ExportDomain
import Foundation
import JobQueue
import Logging
import RedisClient
import Synchronization

/// What `submit` stored.
public struct SubmissionSummary: Sendable {
    public var runID: String
    public var firms: Int
    public var chunks: Int
    public var exportRecords: Int
    public var input: RunInputReport
    public var storedBytes: Int
    public var seconds: Double
}

/// How a submit reads a dataset and when it refuses one.
public struct SubmitOptions: Sendable {
    /// Force the input encoding instead of detecting it per file.
    public var encoding: TextEncoding?
    /// Firms per evaluation job, instead of config.toml's `chunk_size`.
    public var chunkSize: Int?
    /// The largest share of rejected rows the dataset may have (see `DatasetVerdict`).
    public var maxRejectedShare = DatasetVerdict.defaultMaxRejectedShare
    /// Store it although its verdict's overridable reasons say not to (blocking ones still stop it).
    public var force = false
    /// How long the submitter's lease lasts without renewal.
    public var lease = RunControl.submitterLease

    public init(encoding: TextEncoding? = nil, chunkSize: Int? = nil) {
        self.encoding = encoding
        self.chunkSize = chunkSize
    }
}

/// A submit refused the dataset (an error in its config.toml, or a verdict that stops it):
/// nothing was stored. `exportctl` exits with EX_DATAERR for it.
public struct DatasetRefused: Error, CustomStringConvertible, Sendable {
    public let message: String
    public let hint: String?
    public init(_ message: String, hint: String? = nil) {
        self.message = message
        self.hint = hint
    }
    public var description: String { message }
}

/// Streams a dataset directory into Redis for one run: firms in per-region chunks of
/// `chunk_size`, each chunk's export records beside it, the small tables, the configuration,
/// and every rejected row. Nothing but `REDIS_URL` is needed afterwards: no shared filesystem.
///
/// A submit either stores the whole run or leaves nothing behind, with one exception it cannot
/// avoid: when Redis fails mid-store, the run is marked failed with the reason and its partial
/// data freed (by the submitter if Redis comes back within `recoveryWait`, otherwise by the
/// scheduler once the submitter's lease lapses), and a submit of the same id replaces it.
public enum Submission {
    /// How long a submitter whose store broke off waits for Redis to mark the run failed.
    public static let recoveryWait: Duration = .seconds(20)

    /// Stores the dataset (see `SubmitOptions`); the caller plans the run afterwards.
    public static func store(
        directory: String, runID: String, encoding: TextEncoding?, chunkSizeOverride: Int?,
        redis: RedisConfiguration, namespace: String, logger: Logger
    ) async throws -> SubmissionSummary {
        try await store(
            directory: directory, runID: runID,
            options: SubmitOptions(encoding: encoding, chunkSize: chunkSizeOverride),
            redis: redis, namespace: namespace, logger: logger)
    }

    /// Stores the dataset in `directory` as run `runID`; see the type's description.
    public static func store(
        directory: String, runID: String, options: SubmitOptions, redis: RedisConfiguration, namespace: String,
        logger: Logger
    ) async throws -> SubmissionSummary {
        try RunJobs.checkRunID(runID)
        try checkDirectory(directory)
        let connection = RedisConnection(configuration: redis, logger: logger)
        defer { connection.close() }
        let control = RunControl(queue: JobQueue(redis: connection, namespace: namespace, logger: logger))
        let started = MonotonicClock.nanos()
        let ref = try await control.claim(runID, dataset: directory, lease: options.lease)
        let loaded: LoadedDataset
        do {
            loaded = try await withLease(control, ref, options.lease) {
                try await loadOnThread(directory, ref, options, redis, namespace, logger)
            }
        } catch {
            throw await brokeOff(control, ref, error)
        }
        try await accept(control, ref, loaded, directory: directory, options: options)
        return SubmissionSummary(
            runID: runID, firms: loaded.firms, chunks: loaded.chunks, exportRecords: loaded.exportRecords,
            input: loaded.input, storedBytes: loaded.storedBytes,
            seconds: Double(MonotonicClock.nanos() - started) / 1e9)
    }

    /// A directory that does not exist, or whose config.toml is wrong, stops the submit before
    /// anything is stored.
    static func checkDirectory(_ directory: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw RunError("\(directory): no such directory", hint: "give the dataset's directory; nothing was stored")
        }
        let config = DatasetReader.configurationErrors(directory: directory)
        guard config.isEmpty else {
            throw DatasetRefused(
                "config.toml in \(directory) is wrong: " + config.joined(separator: "; "),
                hint: "fix it (docs/DATASETS.md lists every key and its range); nothing was stored")
        }
    }

    /// Runs `body` while a task renews the submitter's lease every fifth of its length.
    static func withLease<T: Sendable>(
        _ control: RunControl, _ ref: RunRef, _ lease: Duration, _ body: () async throws -> T
    ) async throws -> T {
        let renewer = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: lease / 5)
                if Task.isCancelled { return }
                try? await control.renewLease(ref, lease)
            }
        }
        defer { renewer.cancel() }
        return try await body()
    }

    /// Reads and stores on a dedicated thread (the reader and the blocking Redis session are
    /// synchronous; they never run on Swift's cooperative pool).
    static func loadOnThread(
        _ directory: String, _ ref: RunRef, _ options: SubmitOptions, _ redis: RedisConfiguration,
        _ namespace: String, _ logger: Logger
    ) async throws -> LoadedDataset {
        try await withCheckedThrowingContinuation { cont in
            let t = Thread {
                let session = RedisSession(configuration: redis, logger: logger)
                defer { session.close() }
                let loader = RunLoader(session: session, ref: ref, namespace: namespace, chunkSize: options.chunkSize)
                var rejections: [Rejection] = []
                let reader = DatasetReader(directory: directory, encoding: options.encoding) { rejections.append($0) }
                do {
                    cont.resume(
                        returning: try loader.load(
                            reader, rejections: { rejections }, maxRejectedShare: options.maxRejectedShare))
                } catch {
                    cont.resume(throwing: error)
                }
            }
            t.stackSize = 8 << 20
            t.start()
        }
    }

    /// The error a broken-off load ends with, after marking the run failed when it can.
    static func brokeOff(_ control: RunControl, _ ref: RunRef, _ error: any Error) async -> any Error {
        if case QueueError.refused = error {
            return RunError(
                "run \(ref.id) was purged (or replaced) while it was being stored; the submit stopped",
                hint: "nothing of this submit is left; submit again to store it")
        }
        let reason = "the submit broke off while storing: \(error)"
        let deadline = ContinuousClock.now + recoveryWait
        var attempt = 0
        while ContinuousClock.now < deadline {
            do {
                if try await control.failLoad(ref, reason: reason) { try await control.freeData(ref.id) }
                return RunError(
                    "storing run \(ref.id) failed: \(error)",
                    hint: "the run is marked failed; submit again with --run-id \(ref.id) to replace it")
            } catch {
                attempt += 1
                try? await Task.sleep(for: Backoff(base: .milliseconds(200), max: .seconds(2)).delay(attempt: attempt))
            }
        }
        return RunError(
            "storing run \(ref.id) failed: \(error); Redis did not answer again within \(recoveryWait)",
            hint: "the scheduler marks the run failed once its submitter's lease (\(RunControl.submitterLease)) "
                + "lapses; submit again with --run-id \(ref.id) to replace it")
    }

    /// Stores the tables and the input report and marks the run submitted, or, when the
    /// dataset's verdict says it must not run, purges it (nothing is left) and says why.
    static func accept(
        _ control: RunControl, _ ref: RunRef, _ loaded: LoadedDataset, directory: String, options: SubmitOptions
    ) async throws {
        if loaded.verdict.stops(force: options.force) {
            try await control.purge(ref.id)
            let overridable = loaded.verdict.blocking.isEmpty
            throw DatasetRefused(
                "the dataset in \(directory) is not used: " + loaded.verdict.reasons.joined(separator: "; "),
                hint: "nothing was stored; see every rejection with: exportctl validate \(directory)"
                    + (overridable
                        ? "; or submit with --force (or a larger --max-rejected-share) to use it anyway" : ""))
        }
        guard let tables = loaded.tables else { throw RunError("run \(ref.id): the dataset was not read") }
        let k = control.keys(ref.id)
        let sums = loaded.recordSums.enumerated().map { ("records:\($0.offset)", RedisArgument.string($0.element)) }
        var writes: [GuardedWrite] = [.set(k.tables, tables.encoded()), .set(k.inputReport, loaded.input.encoded())]
        if !sums.isEmpty { writes.append(.hset(k.checksums, sums)) }
        let input = loaded.input
        writes += [
            .hset(
                k.meta,
                [
                    ("state", "submitted"), ("chunks", .int(loaded.chunks)), ("firms", .int(loaded.firms)),
                    ("export_records", .int(loaded.exportRecords)), ("rows_read", .int(input.rowsRead)),
                    ("rejected_rows", .int(input.rejected)), ("dataset_digest", .string(input.digest)),
                    ("stored_bytes", .int(loaded.storedBytes)), ("submitted_ms", .int(Int(RunControl.nowMillis()))),
                ]), .del(k.submitter),
        ]
        do { try await control.write(ref, writes) } catch { throw await brokeOff(control, ref, error) }
    }
}
