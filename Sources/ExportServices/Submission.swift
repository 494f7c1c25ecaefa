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
        // Firms are encoded as they stream by, into one growing chunk per region; the map from
        // firm to chunk routes the export records (read after the firms) to their chunk.
        let chunkOf = UInt64Map(capacity: 1 << 16)
        var bodies = [BinaryWriter](repeating: BinaryWriter(), count: Office.allCases.count)
        var counts = [Int](repeating: 0, count: Office.allCases.count)
        // Firm -> (region, that region's chunk generation); generation -> chunk number.
        var generation = [Int](repeating: 0, count: Office.allCases.count)
        var chunkIndex = [[Int]](repeating: [], count: Office.allCases.count)
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
            guard counts[region] > 0 else { return }
            let bytes = ChunkInput.encodeFirms(count: counts[region], body: bodies[region].bytes)
            stored += bytes.count
            var c = RedisCommand("SET", [.string(keys.chunk(chunks))])
            c.append(bytes: bytes)
            pending.append(c)
            chunkIndex[region].append(chunks)
            generation[region] += 1
            chunks += 1
            bodies[region] = BinaryWriter()
            counts[region] = 0
            flush()
        }

        var recordBodies: [BinaryWriter] = []
        var recordCounts: [Int] = []
        var recordCount = 0
        func writeRecords(_ chunk: Int) {
            guard recordCounts[chunk] > 0 else { return }
            let bytes = ChunkInput.encodeRecords(count: recordCounts[chunk], body: recordBodies[chunk].bytes)
            stored += bytes.count
            var c = RedisCommand("RPUSH", [.string(keys.records(chunk))])
            c.append(bytes: bytes)
            pending.append(c)
            recordBodies[chunk] = BinaryWriter()
            recordCounts[chunk] = 0
            flush()
        }

        let tables = reader.read(
            firm: { f in
                if chunkSize == 0 { chunkSize = chunkSizeOverride ?? reader.configuration.chunkSize }
                firmCount += 1
                let r = f.region.index
                f.encode(into: &bodies[r])
                counts[r] += 1
                chunkOf.insertIfAbsent(f.id.value, UInt64(generation[r]) | UInt64(r) << 32)
                if counts[r] >= chunkSize { writeChunk(r) }
            },
            export: { e in
                if recordBodies.isEmpty {
                    for r in counts.indices { writeChunk(r) }
                    recordBodies = [BinaryWriter](repeating: BinaryWriter(), count: chunks)
                    recordCounts = [Int](repeating: 0, count: chunks)
                }
                guard let v = chunkOf[e.firm.value] else { return }
                let c = chunkIndex[Int(v >> 32)][Int(v & 0xFFFF_FFFF)]
                recordCount += 1
                e.encode(into: &recordBodies[c])
                recordCounts[c] += 1
                if recordCounts[c] >= 20_000 { writeRecords(c) }
            })
        for r in counts.indices { writeChunk(r) }
        for c in recordCounts.indices { writeRecords(c) }
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
