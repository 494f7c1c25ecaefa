import ExportData
import ExportDomain
import Foundation
import JobQueue
import Logging
import RedisClient

/// What a load read and stored: the counts, the small tables, the input report, and the
/// checksums of the export-record lists (the chunks' own went with each chunk).
struct LoadedDataset {
    var firms = 0
    var chunks = 0
    var exportRecords = 0
    var storedBytes = 0
    var tables: RunTables?
    var input = RunInputReport(digest: "", files: [], rejections: [])
    var verdict = DatasetVerdict(blocking: [], overridable: [], rejectedShare: 0)
    /// Chunk -> "<records> <sha-256 of its blocks in order>".
    var recordSums: [String] = []
}

/// Streams a dataset into a claimed run: firms in per-region chunks of `chunk_size`, each with
/// its firm count and SHA-256, and each chunk's export records beside it. Every write is one
/// guarded script call (the run's generation must still be in its meta hash), so a purge or a
/// replacement of the run stops the load at its next chunk: nothing is written after it.
///
/// Owner: one thread (the reader and the blocking session are synchronous).
final class RunLoader {
    let session: RedisSession
    let keys: RunKeys
    let queueKeys: QueueKeys
    let runGuard: QueueGuard
    let chunkSizeOverride: Int?
    private var pending: [RedisCommand] = []
    /// Why the load stopped (the first failure); later writes are skipped.
    private(set) var failure: Error?
    private var out = LoadedDataset()

    // Firms are encoded as they stream by, into one growing chunk per region; the map from firm
    // to chunk routes the export records (read after the firms) to their chunk.
    private let chunkOf = UInt64Map(capacity: 1 << 16)
    private var bodies = [BinaryWriter](repeating: BinaryWriter(), count: Office.allCases.count)
    private var counts = [Int](repeating: 0, count: Office.allCases.count)
    // Firm -> (region, that region's chunk generation); generation -> chunk number.
    private var generation = [Int](repeating: 0, count: Office.allCases.count)
    private var chunkIndex = [[Int]](repeating: [], count: Office.allCases.count)
    private var chunkSize = 0
    private var recordBodies: [BinaryWriter] = []
    private var recordCounts: [Int] = []
    private var recordTotals: [Int] = []
    private var recordDigests: [SHA256] = []

    init(session: RedisSession, ref: RunRef, namespace: String, chunkSize: Int?) {
        self.session = session
        queueKeys = QueueKeys(namespace: namespace)
        keys = RunKeys(queue: queueKeys, runID: ref.id)
        runGuard = .field(keys.meta, "gen", equals: ref.gen)
        chunkSizeOverride = chunkSize
    }

    /// Reads and stores the whole dataset; throws the first failure (a refused write when the
    /// run was purged or replaced, a Redis error, an error reply).
    func load(_ reader: DatasetReader, rejections: () -> [Rejection], maxRejectedShare: Double) throws
        -> LoadedDataset
    {
        _ = try session.send(RedisCommand("SCRIPT", ["LOAD", .string(JobQueue.writeScript.source)]))
        let t = reader.read(
            firm: { f in if failure == nil { add(f, reader) } else { reader.stop() } },
            export: { e in if failure == nil { add(e) } else { reader.stop() } })
        for r in counts.indices { writeChunk(r) }
        for c in recordCounts.indices { writeRecords(c) }
        flush(force: true)
        if let failure { throw failure }
        var configuration = reader.configuration
        if let chunkSizeOverride { configuration.chunkSize = chunkSizeOverride }
        out.tables = RunTables(
            configuration: configuration, markets: reader.markets, companies: t.companies,
            institutions: t.institutions, targets: t.targets, applications: t.applications,
            deskRankings: t.deskRankings)
        out.input = RunInputReport(digest: reader.digest.finalize(), files: reader.reports, rejections: rejections())
        out.verdict = reader.verdict(maxRejectedShare: maxRejectedShare)
        out.recordSums = (0..<out.chunks).map { c in
            var d = c < recordDigests.count ? recordDigests[c] : SHA256()
            return "\(c < recordTotals.count ? recordTotals[c] : 0) \(d.finalize())"
        }
        return out
    }

    private func add(_ f: Firm, _ reader: DatasetReader) {
        if chunkSize == 0 { chunkSize = chunkSizeOverride ?? reader.configuration.chunkSize }
        out.firms += 1
        let r = f.region.index
        f.encode(into: &bodies[r])
        counts[r] += 1
        chunkOf.insertIfAbsent(f.id.value, UInt64(generation[r]) | UInt64(r) << 32)
        if counts[r] >= chunkSize { writeChunk(r) }
    }

    private func add(_ e: ExportRecord) {
        if recordBodies.isEmpty {
            for r in counts.indices { writeChunk(r) }
            recordBodies = [BinaryWriter](repeating: BinaryWriter(), count: out.chunks)
            recordCounts = [Int](repeating: 0, count: out.chunks)
            recordTotals = [Int](repeating: 0, count: out.chunks)
            recordDigests = [SHA256](repeating: SHA256(), count: out.chunks)
        }
        guard let v = chunkOf[e.firm.value] else { return }
        let c = chunkIndex[Int(v >> 32)][Int(v & 0xFFFF_FFFF)]
        out.exportRecords += 1
        e.encode(into: &recordBodies[c])
        recordCounts[c] += 1
        if recordCounts[c] >= 20_000 { writeRecords(c) }
    }

    /// Stores region `region`'s growing chunk with its count and digest, in one guarded call.
    private func writeChunk(_ region: Int) {
        guard counts[region] > 0 else { return }
        let bytes = ChunkInput.encodeFirms(count: counts[region], body: bodies[region].bytes)
        var digest = SHA256()
        digest.update(bytes)
        let n = out.chunks
        guarded([
            .set(keys.chunk(n), bytes),
            .hset(keys.checksums, [("chunk:\(n)", .string("\(counts[region]) \(digest.finalize())"))]),
        ])
        out.storedBytes += bytes.count
        chunkIndex[region].append(n)
        generation[region] += 1
        out.chunks += 1
        bodies[region] = BinaryWriter()
        counts[region] = 0
    }

    /// Appends chunk `c`'s buffered export records as one block.
    private func writeRecords(_ c: Int) {
        guard c < recordCounts.count, recordCounts[c] > 0 else { return }
        let bytes = ChunkInput.encodeRecords(count: recordCounts[c], body: recordBodies[c].bytes)
        recordDigests[c].update(bytes)
        recordTotals[c] += recordCounts[c]
        guarded([.rpush(keys.records(c), bytes)])
        out.storedBytes += bytes.count
        recordBodies[c] = BinaryWriter()
        recordCounts[c] = 0
    }

    private func guarded(_ writes: [GuardedWrite]) {
        pending.append(JobQueue.writeCall(keys: queueKeys, guard: runGuard, writes).1)
        flush()
    }

    /// Sends the pending calls once 16 have gathered (or now, with `force`).
    private func flush(force: Bool = false) {
        guard failure == nil, !pending.isEmpty, force || pending.count >= 16 else { return }
        defer { pending.removeAll(keepingCapacity: true) }
        do {
            for r in try session.execute(pending) {
                guard case .error(let e) = r else { continue }
                if e.code == "GUARD" {
                    throw QueueError.refused("run \(keys.runID) was purged or replaced while it was being stored")
                }
                throw RunError("storing run \(keys.runID) failed: \(e)")
            }
        } catch { failure = error }
    }
}
