import ExportData
import ExportDomain
import JobQueue
import Logging
import RedisClient

#if canImport(Glibc)
    import Glibc
#endif

/// The job handlers of a run's stages. Each calls the pure domain functions; its result travels
/// back through the queue's fenced ack (group results), so a result is recorded exactly once
/// and a worker that lost its lease cannot write one. Anything a handler writes outside the ack
/// is a deterministic function of the run's input (the same bytes whoever writes them), and is
/// written under the run's guard and the job's own reservation: once the run is purged (or
/// replaced under the same id), or the job's lease is lost, nothing more is written.
public struct RunHandlers: Sendable {
    public let control: RunControl
    let cache: TablesCache
    let logger: Logger

    public init(control: RunControl, logger: Logger) {
        self.control = control
        self.cache = TablesCache(control: control)
        self.logger = logger
    }

    /// Every handler, by job kind.
    public func all() -> [String: any JobHandler] {
        [
            RunJobs.evaluateKind: ClosureJobHandler { try await evaluate($0) },
            RunJobs.poolKind: ClosureJobHandler { ctx in try await failingTheRun(ctx) { try await pool(ctx) } },
            RunJobs.ecosystemKind: ClosureJobHandler { try await ecosystem($0) },
            RunJobs.collectKind: ClosureJobHandler { ctx in try await failingTheRun(ctx) { try await collect(ctx) } },
            RunJobs.failKind: ClosureJobHandler { try await failed($0) },
            RunJobs.monitorChunkKind: ClosureJobHandler { try await monitorChunk($0) },
            RunJobs.monitorCollectKind: ClosureJobHandler { try await monitorCollect($0) },
        ]
    }

    /// A stage transition job (pool, collect) is in no group: when it is about to die, it marks
    /// its run failed itself, so a run never waits forever on a dead job.
    func failingTheRun(_ ctx: JobContext, _ body: () async throws -> [UInt8]?) async throws -> [UInt8]? {
        do { return try await body() } catch {
            if error is PermanentFailure || ctx.job.attempt >= ctx.job.maxAttempts,
                let run = try? JobRef.decode(ctx.payload).run, let ref = try? await control.ref(run)
            {
                try? await control.markFailed(ref, "\(ctx.job.kind) job \(ctx.id) failed: \(error)", job: ctx)
            }
            throw error
        }
    }

    /// Largest payload of a job that names a run part (the encoding takes under 100 bytes).
    static let maxRefPayload = 4_096

    func ref(_ ctx: JobContext) throws -> JobRef {
        guard ctx.payload.count <= Self.maxRefPayload else {
            throw PermanentFailure(
                "job \(ctx.id): payload of \(ctx.payload.count) bytes is larger than a \(ctx.job.kind) job's \(Self.maxRefPayload)"
            )
        }
        do { return try JobRef.decode(ctx.payload) } catch {
            throw PermanentFailure("job \(ctx.id): malformed payload: \(error)")
        }
    }

    func log(_ ctx: JobContext, run: String, _ message: String, _ extra: Logger.Metadata = [:]) {
        var md: Logger.Metadata = ["run": "\(run)", "job": "\(ctx.id)", "attempt": "\(ctx.job.attempt)"]
        md.merge(extra) { a, _ in a }
        logger.info("\(message)", metadata: md)
    }

    // MARK: - Evaluation

    /// A chunk's firms and export records (plus those loaded later when `withLoaded`), checked
    /// against the counts and digests submit recorded: a chunk changed since is refused.
    func chunkInput(_ run: String, chunk: Int, tables t: RunTables, withLoaded: Bool) async throws -> ChunkInput {
        let keys = control.keys(run)
        guard let fb = try await control.bytes(keys.chunk(chunk)) else {
            throw PermanentFailure("run \(run) has no chunk \(chunk) (purged?)")
        }
        let blocks = try await control.list(keys.records(chunk))
        let sums = try await control.redis.send(
            RedisCommand("HMGET", [.string(keys.checksums), .string("chunk:\(chunk)"), .string("records:\(chunk)")])
        ).expectArray("checksums").map(\.string)
        do {
            let firms = try ChunkInput.decodeFirms(fb, markets: t.markets.count)
            var records: [ExportRecord] = []
            for b in blocks { records += try ChunkInput.decodeRecords(b, markets: t.markets.count) }
            try Self.check(run, "chunk \(chunk)", sums[0], count: firms.count, what: "firms", [fb])
            try Self.check(
                run, "the export records of chunk \(chunk)", sums[1], count: records.count, what: "records", blocks)
            if withLoaded {
                let ids = Set(firms.map(\.id))
                for b in try await control.list(keys.loadedExports) {
                    records += try ChunkInput.decodeRecords(b, markets: t.markets.count).filter {
                        ids.contains($0.firm)
                    }
                }
            }
            return ChunkInput(firms: firms, records: records)
        } catch let e as DecodeError {
            throw PermanentFailure("run \(run) chunk \(chunk): \(e)")
        }
    }

    /// Throws when `blocks` do not have the count and SHA-256 recorded in `sum` ("count hex";
    /// nil for runs stored before checksums existed, which are not checked).
    static func check(_ run: String, _ part: String, _ sum: String?, count: Int, what: String, _ blocks: [[UInt8]])
        throws
    {
        guard let sum else { return }
        var digest = SHA256()
        for b in blocks { digest.update(b) }
        let hex = digest.finalize()
        guard "\(count) \(hex)" != sum else { return }
        let stored = sum.split(separator: " ")
        throw PermanentFailure(
            "run \(run): \(part) is not what submit stored: \(count) \(what), sha-256 \(hex.prefix(16))..., where "
                + "submit stored \(stored.first ?? "?") \(what), sha-256 \(stored.last?.prefix(16) ?? "?")...; it was "
                + "changed in Redis since")
    }

    func evaluate(_ ctx: JobContext) async throws -> [UInt8]? {
        let r = try ref(ctx)
        let (run, t) = try await cache.run(r.run)
        let input = try await chunkInput(r.run, chunk: r.index, tables: t, withLoaded: false)
        try ctx.checkpoint()
        let t0 = threadCPUNanos()
        let result = Evaluator(markets: t.markets, configuration: t.configuration).evaluate(
            input.firms, records: input.records)
        try await addComputeTime(run, ctx, "evaluate", nanos: threadCPUNanos() - t0)
        log(ctx, run: r.run, "evaluated chunk", ["firms": "\(input.firms.count)", "eligible": "\(result.pool.count)"])
        return result.encoded()
    }

    // MARK: - The national pool, and the ecosystem stage

    func pool(_ ctx: JobContext) async throws -> [UInt8]? {
        let r = try ref(ctx)
        let run = r.run
        let (ref, t) = try await cache.run(run)
        let keys = control.keys(run)
        try await control.write(ref, [.hsetnx(keys.meta, "evaluate_done_ms", "\(RunControl.nowMillis())")], job: ctx)
        let results = try await control.queue.groupResults(RunJobs.evaluateGroup(run))
        let count = results.count
        // Ranked by their keys; only the firms that make the pool are decoded.
        let t0 = threadCPUNanos()
        let national: ChunkResult
        do {
            national = try ChunkResult.mergeEncoded(
                results.keys.sorted().map { results[$0]! }, markets: t.markets.count,
                poolSize: t.configuration.poolSize)
        } catch {
            throw PermanentFailure("evaluation results of run \(run): \(error)")
        }
        let inputs = Self.ecosystemInputs(national: national, tables: t)
        try await addComputeTime(ref, ctx, "pool", nanos: threadCPUNanos() - t0)
        try await control.write(ref, [.set(keys.national, national.encoded())], job: ctx)
        let group = GroupSpec(
            id: RunJobs.ecosystemGroup(run), total: inputs.count,
            onComplete: JobSpec(
                id: RunJobs.collectJob(run), queue: RunJobs.controlQueue, kind: RunJobs.collectKind,
                payload: JobRef(run: run, index: 0).encoded(), maxAttempts: 5, timeout: .seconds(600)),
            onFailure: control.failSpec(run))
        var jobs: [JobSpec] = []
        for input in inputs {
            var w = BinaryWriter()
            w.envelope(kind: ServicePayload.ecosystemJob, version: 1)
            w.string(run)
            w.bytes(input.encoded())
            jobs.append(
                JobSpec(
                    id: RunJobs.ecosystemJob(run, input.industry.rawValue), queue: RunJobs.ecosystemQueue,
                    kind: RunJobs.ecosystemKind, payload: w.bytes, maxAttempts: 5, timeout: .seconds(600),
                    group: RunJobs.ecosystemGroup(run)))
        }
        try await control.startStage(ref, group: group, jobs: jobs, job: ctx)
        try await control.write(ref, [.hsetnx(keys.meta, "pool_done_ms", "\(RunControl.nowMillis())")], job: ctx)
        log(ctx, run: run, "national pool built", ["pool": "\(national.pool.count)", "chunks": "\(count)"])
        return nil
    }

    /// One input per industry ecosystem, in `Industry` order: the pool firms and
    /// new-export-source firms of that industry, the companies with a desk in it, the
    /// institutions serving it (and every support institution, which serve regions), the
    /// operators' lists that concern them, and the industry's leaders outside the pool: the
    /// first in leader order, as many as consortia of `consortium_min` its pool firms could
    /// fill beside a leader.
    public static func ecosystemInputs(national: ChunkResult, tables t: RunTables) -> [EcosystemInput] {
        let outside = Leaders.outsideThePool(
            national.leaders, pool: national.pool, consortiumMin: t.configuration.consortiumMin)
        return Industry.allCases.map { ind in
            let firms = national.pool.filter { $0.firm.industry == ind }
            let ids = Set(firms.map(\.firm.id))
            return EcosystemInput(
                industry: ind, firms: firms,
                newExportSources: national.newExportSources.filter { $0.firm.industry == ind },
                companies: t.companies.filter { c in c.desks.contains { $0.industry == ind } },
                institutions: t.institutions.filter { $0.industries.contains(ind) || $0.kind == .SUPPORT },
                applications: t.applications.filter { ids.contains($0.firm) },
                deskRankings: t.deskRankings.filter { $0.industry == ind },
                leaders: outside[ind.index])
        }
    }

    func ecosystem(_ ctx: JobContext) async throws -> [UInt8]? {
        var r = BinaryReader(ctx.payload)
        // The input is one length-prefixed field of the payload (bounded by the payload itself;
        // its own decoder bounds every count inside).
        r.maxBytesLength = ctx.payload.count
        let run: String
        let input: EcosystemInput
        let ref: RunRef
        let t: RunTables
        do {
            try r.envelope(kind: ServicePayload.ecosystemJob, version: 1)
            run = try r.string()
            try RunJobs.checkRunID(run)
            let bytes = try r.bytes()
            try r.expectEnd()
            (ref, t) = try await cache.run(run)
            input = try EcosystemInput.decode(bytes, markets: t.markets.count)
        } catch let e as DecodeError {
            throw PermanentFailure("job \(ctx.id): malformed payload: \(e)")
        } catch let e as RunError {
            throw PermanentFailure("job \(ctx.id): \(e)")
        }
        let t0 = threadCPUNanos()
        let result = EcosystemEngine(markets: t.markets, configuration: t.configuration).run(input)
        try await addComputeTime(ref, ctx, "ecosystem", nanos: threadCPUNanos() - t0)
        log(
            ctx, run: run, "ecosystem done",
            [
                "industry": "\(input.industry)", "matched": "\(result.matches.count)",
                "consortia": "\(result.consortia.count)",
            ])
        return result.encoded()
    }

    // MARK: - The collector

    func collect(_ ctx: JobContext) async throws -> [UInt8]? {
        let run = try ref(ctx).run
        let keys = control.keys(run)
        if try await control.redis.send(RedisCommand("HEXISTS", [.string(keys.report), "report.json"])).int == 1 {
            return nil
        }
        let (ref, t) = try await cache.run(run)
        try await control.write(ref, [.hsetnx(keys.meta, "ecosystem_done_ms", "\(RunControl.nowMillis())")], job: ctx)
        guard let nb = try await control.bytes(keys.national) else {
            throw PermanentFailure("run \(run) has no national evaluation")
        }
        let national: ChunkResult
        do { national = try ChunkResult.decode(nb, markets: t.markets.count) } catch {
            throw PermanentFailure("run \(run) national evaluation: \(error)")
        }
        let results = try await control.queue.groupResults(RunJobs.ecosystemGroup(run))
        var ecosystems: [EcosystemResult] = []
        for id in results.keys.sorted() {
            do { ecosystems.append(try EcosystemResult.decode(results[id]!, markets: t.markets.count)) } catch {
                throw PermanentFailure("result of \(id): \(error)")
            }
        }
        ecosystems.sort { $0.industry.index < $1.industry.index }
        let input = try await control.inputReport(run)
        let t0 = threadCPUNanos()
        let report: NationalReport
        do {
            report = try NationalReport(
                runID: run, tables: t, input: input, national: national, ecosystems: ecosystems)
        } catch { throw PermanentFailure("run \(run): \(error)") }
        let files = ReportFiles.render(report)
        try await addComputeTime(ref, ctx, "collect", nanos: threadCPUNanos() - t0)
        // A run marked failed and then resumed (its dead job requeued, its group reopened) ends
        // here too: the report replaces the failure.
        try await control.write(
            ref,
            [
                .hset(keys.report, files.keys.sorted().map { ($0, .bytes(files[$0]!)) }),
                // Monitoring rounds from here on follow these firms.
                .set(keys.supportedFirms, SupportedFirms.encoded(report.supportedFirms)),
                .hset(keys.meta, [("state", "done"), ("finished_ms", .string("\(RunControl.nowMillis())"))]),
                .hdel(keys.meta, ["error"]),
            ], job: ctx)
        try await control.queue.deleteGroup(RunJobs.evaluateGroup(run))
        log(ctx, run: run, "report ready", ["matched": "\(report.matchedCount)"])
        return nil
    }

    /// Adds CPU time spent in the domain functions to the run's `compute_us_<stage>` (the
    /// benchmark's measure of pipeline overhead; a retried job counts again).
    func addComputeTime(_ ref: RunRef, _ ctx: JobContext, _ stage: String, nanos: UInt64) async throws {
        let us = Int(nanos / 1000)
        try await control.write(ref, [.hincrby(control.keys(ref.id).meta, "compute_us_" + stage, us)], job: ctx)
    }

    func failed(_ ctx: JobContext) async throws -> [UInt8]? {
        let run = try ref(ctx).run
        guard let ref = try await control.ref(run) else { return nil }
        try await control.markFailed(ref, "a job of this run failed permanently; see: exportctl dead list", job: ctx)
        logger.error("run failed", metadata: ["run": "\(run)", "job": "\(ctx.id)"])
        return nil
    }
}

/// Decoded `RunTables` of recent runs, so a worker reads them once per run, not once per job.
/// Keyed by incarnation: a run purged and submitted again under its id has tables of its own.
actor TablesCache {
    let control: RunControl
    var entries: [(run: RunRef, tables: RunTables)] = []

    init(control: RunControl) { self.control = control }

    /// The run's current incarnation and its tables; a run that no longer exists is a
    /// permanent failure.
    func run(_ id: String) async throws -> (RunRef, RunTables) {
        guard let ref = try await control.ref(id) else {
            throw PermanentFailure("run \(id) has no stored tables (purged, or never submitted)")
        }
        if let e = entries.first(where: { $0.run == ref }) { return (ref, e.tables) }
        let t = try await control.tables(id)
        if !entries.contains(where: { $0.run == ref }) {
            entries.append((ref, t))
            if entries.count > 4 { entries.removeFirst() }
        }
        return (ref, t)
    }
}

/// CPU time of the calling thread (the domain functions are synchronous: no suspension inside).
func threadCPUNanos() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}
