import ExportData
import ExportDomain
import Foundation
import JobQueue
import Logging
import RedisClient

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

/// Streams a dataset directory into Redis for one run: firms in per-region chunks of
/// `chunk_size`, each chunk's export records beside it, the small tables, the configuration,
/// and every rejected row. Nothing but `REDIS_URL` is needed afterwards: no shared filesystem.
public enum Submission {
    /// Reads and stores on a dedicated thread (the reader and the blocking Redis session are
    /// synchronous; they never run on Swift's cooperative pool).
    public static func store(
        directory: String, runID: String, encoding: TextEncoding?, chunkSizeOverride: Int?,
        redis: RedisConfiguration, namespace: String, logger: Logger
    ) async throws -> SubmissionSummary {
        try RunJobs.checkRunID(runID)
        return try await withCheckedThrowingContinuation { cont in
            let t = Thread {
                do {
                    cont.resume(
                        returning: try storeBlocking(
                            directory: directory, runID: runID, encoding: encoding,
                            chunkSizeOverride: chunkSizeOverride,
                            redis: redis, namespace: namespace, logger: logger))
                } catch {
                    cont.resume(throwing: error)
                }
            }
            t.stackSize = 8 << 20
            t.start()
        }
    }

    static func storeBlocking(
        directory: String, runID: String, encoding: TextEncoding?, chunkSizeOverride: Int?,
        redis: RedisConfiguration, namespace: String, logger: Logger
    ) throws -> SubmissionSummary {
        let started = MonotonicClock.nanos()
        let session = RedisSession(configuration: redis, logger: logger)
        defer { session.close() }
        let keys = RunKeys(queue: QueueKeys(namespace: namespace), runID: runID)
        let now = Int(Date().timeIntervalSince1970 * 1000)
        let created = try session.send(RedisCommand("HSETNX", [.string(keys.meta), "created_ms", .int(now)]))
        guard created.int == 1 else {
            throw RunError(
                "run \(runID) already exists",
                hint: "choose another --run-id, or free it with: exportctl runs purge \(runID)")
        }
        _ = try session.send(
            RedisCommand(
                "HSET",
                [.string(keys.meta), "state", "loading", "dataset", .string(directory)]))
        _ = try session.send(
            RedisCommand("ZADD", [.string(RunKeys.index(QueueKeys(namespace: namespace))), .int(now), .string(runID)]))

        var rejections: [Rejection] = []
        let reader = DatasetReader(directory: directory, encoding: encoding) { rejections.append($0) }
        var chunkOf: [UInt64: Int32] = [:]
        var buffers: [[Firm]] = Array(repeating: [], count: Office.allCases.count)
        var chunks = 0
        var firmCount = 0
        var stored = 0
        var pending: [RedisCommand] = []
        var failure: Error?
        var chunkSize = 0

        func flush(force: Bool = false) {
            guard failure == nil, !pending.isEmpty, force || pending.count >= 16 else { return }
            do {
                let replies = try session.execute(pending)
                for r in replies { if case .error(let e) = r { throw RunError("storing the run failed: \(e)") } }
            } catch { failure = error }
            pending.removeAll(keepingCapacity: true)
        }
        func writeChunk(_ region: Int) {
            let firms = buffers[region]
            guard !firms.isEmpty else { return }
            for f in firms { chunkOf[f.id.value] = Int32(chunks) }
            let bytes = ChunkInput.encodeFirms(firms)
            stored += bytes.count
            var c = RedisCommand("SET", [.string(keys.chunk(chunks))])
            c.append(bytes: bytes)
            pending.append(c)
            chunks += 1
            buffers[region].removeAll(keepingCapacity: true)
            flush()
        }

        var recordBuffers: [Int32: [ExportRecord]] = [:]
        var recordCount = 0
        func writeRecords(_ chunk: Int32) {
            guard let recs = recordBuffers[chunk], !recs.isEmpty else { return }
            let bytes = ChunkInput.encodeRecords(recs)
            stored += bytes.count
            var c = RedisCommand("RPUSH", [.string(keys.records(Int(chunk)))])
            c.append(bytes: bytes)
            pending.append(c)
            recordBuffers[chunk] = []
            flush()
        }

        let tables = reader.read(
            firm: { f in
                if chunkSize == 0 { chunkSize = chunkSizeOverride ?? reader.configuration.chunkSize }
                firmCount += 1
                let r = f.region.index
                buffers[r].append(f)
                if buffers[r].count >= chunkSize { writeChunk(r) }
            },
            export: { e in
                if buffers.contains(where: { !$0.isEmpty }) {
                    for r in buffers.indices { writeChunk(r) }
                }
                guard let c = chunkOf[e.firm.value] else { return }
                recordCount += 1
                recordBuffers[c, default: []].append(e)
                if recordBuffers[c]!.count >= 20_000 { writeRecords(c) }
            })
        for r in buffers.indices { writeChunk(r) }
        for c in recordBuffers.keys.sorted() { writeRecords(c) }
        flush(force: true)
        if let failure { throw failure }

        let input = RunInputReport(digest: reader.digest.finalize(), files: reader.reports, rejections: rejections)
        guard reader.usable else {
            var cleanup: [RedisCommand] = (0..<chunks).flatMap {
                [RedisCommand("DEL", [.string(keys.chunk($0)), .string(keys.records($0))])]
            }
            cleanup.append(
                RedisCommand(
                    "HSET",
                    [
                        .string(keys.meta), "state", "failed", "error",
                        .string("the dataset cannot be used: " + reader.problems.joined(separator: "; ")),
                    ]))
            _ = try? session.execute(cleanup)
            throw RunError(
                "the dataset in \(directory) cannot be used: " + reader.problems.joined(separator: "; "),
                hint: "run: exportctl validate \(directory)")
        }
        var configuration = reader.configuration
        if let chunkSizeOverride { configuration.chunkSize = chunkSizeOverride }
        let runTables = RunTables(
            configuration: configuration, markets: reader.markets, companies: tables.companies,
            institutions: tables.institutions, targets: tables.targets, applications: tables.applications,
            deskRankings: tables.deskRankings)
        let tableBytes = runTables.encoded()
        let inputBytes = input.encoded()
        stored += tableBytes.count + inputBytes.count
        var setTables = RedisCommand("SET", [.string(keys.tables)])
        setTables.append(bytes: tableBytes)
        var setInput = RedisCommand("SET", [.string(keys.inputReport)])
        setInput.append(bytes: inputBytes)
        let meta = RedisCommand(
            "HSET",
            [
                .string(keys.meta), "state", "submitted", "chunks", .int(chunks), "firms", .int(firmCount),
                "export_records", .int(recordCount), "rows_read", .int(input.rowsRead), "rejected_rows",
                .int(input.rejected), "dataset_digest", .string(input.digest), "stored_bytes", .int(stored),
                "submitted_ms", .int(Int(Date().timeIntervalSince1970 * 1000)),
            ])
        for r in try session.execute([setTables, setInput, meta]) {
            if case .error(let e) = r { throw RunError("storing the run failed: \(e)") }
        }
        return SubmissionSummary(
            runID: runID, firms: firmCount, chunks: chunks, exportRecords: recordCount, input: input,
            storedBytes: stored, seconds: Double(MonotonicClock.nanos() - started) / 1e9)
    }
}
