import ExportDomain
import Foundation
import JobQueue
import RedisClient

/// Regional monitoring of a run (docs/EVALUATION.md, "Region summary and monitoring"): every
/// two weeks from `program_start`, and on demand, each office's standing against its targets
/// recomputed from the export records loaded so far (the submitted exports.csv plus every
/// `load-exports` file).
///
/// A round is a fan-in group: one `monitor-chunk` job per chunk (region summaries only), whose
/// completion enqueues one `monitor-collect` job that writes the snapshot of that period.
extension RunControl {
    /// Starts monitoring round `round` of `period` (0-based). Periodic rounds use round 0, whose
    /// ids are fixed, so two schedulers starting the same period start one round; on-demand
    /// rounds take a fresh round number.
    public func startMonitoring(_ run: String, period: Int, round: Int) async throws {
        let meta = try await self.meta(run)
        guard let chunks = meta["chunks"].flatMap(Int.init) else { throw RunError("run \(run) is not stored") }
        let runGuard = guardOf(RunRef(id: run, gen: meta["gen"] ?? ""))
        let group = RunJobs.monitorGroup(run, period: period) + (round > 0 ? ".\(round)" : "")
        try await queue.createGroup(
            GroupSpec(
                id: group, total: chunks,
                onComplete: JobSpec(
                    id: RunJobs.monitorCollectJob(run, period: period) + (round > 0 ? ".\(round)" : "") + ":collect",
                    queue: RunJobs.controlQueue, kind: RunJobs.monitorCollectKind,
                    payload: JobRef(run: run, index: round, period: period).encoded(), maxAttempts: 5,
                    timeout: .seconds(300))), guard: runGuard)
        var jobs: [JobSpec] = []
        for c in 0..<chunks {
            jobs.append(
                JobSpec(
                    id: RunJobs.monitorChunkJob(run, period: period, chunk: c) + (round > 0 ? ".\(round)" : ""),
                    queue: RunJobs.evaluateQueue, kind: RunJobs.monitorChunkKind,
                    payload: JobRef(run: run, index: c, period: period).encoded(), maxAttempts: 5,
                    timeout: .seconds(300), group: group))
        }
        _ = try await queue.enqueue(jobs, guard: runGuard)
    }

    /// Claims periodic monitoring of `period` (true once per run and period, whoever asks).
    public func claimPeriod(_ run: String, period: Int) async throws -> Bool {
        guard let ref = try await ref(run) else { return false }
        let won = try await write(ref, [.hsetnx(keys(run).monitorClaims, "\(period)", "1")])
        return won.first?.int == 1
    }

    /// The monitoring snapshots stored so far, by period (0-based).
    public func monitorSnapshots(_ run: String) async throws -> [Int: [UInt8]] {
        var out: [Int: [UInt8]] = [:]
        for (field, value) in try await hash(keys(run).monitor) {
            if let p = Int(field) { out[p] = value }
        }
        return out
    }

    /// Appends a period's export records to a run (`exportctl load-exports`).
    public func loadExports(_ run: String, records: [ExportRecord]) async throws {
        guard let ref = try await ref(run) else { throw RunError("no run \(run)") }
        var i = 0
        while i < records.count {
            let block = ChunkInput.encodeRecords(Array(records[i..<min(records.count, i + 20_000)]))
            try await write(ref, [.rpush(keys(run).loadedExports, block)])
            i += 20_000
        }
    }
}

extension RunHandlers {
    func monitorChunk(_ ctx: JobContext) async throws -> [UInt8]? {
        let r = try ref(ctx)
        let (_, t) = try await cache.run(r.run)
        let input = try await chunkInput(r.run, chunk: r.index, tables: t, withLoaded: true)
        let sorted = input.records.sorted { ($0.firm, $0.period, $0.market) < ($1.firm, $1.period, $1.market) }
        var byRegion: [Office: RegionSummary] = [:]
        var lo = 0
        for f in input.firms.sorted(by: { $0.id < $1.id }) {
            while lo < sorted.count && sorted[lo].firm < f.id { lo += 1 }
            var end = lo
            while end < sorted.count && sorted[end].firm == f.id { end += 1 }
            byRegion[f.region, default: RegionSummary(region: f.region)].add(
                f, records: sorted[lo..<end], configuration: t.configuration)
            lo = end
        }
        let result = ChunkResult(
            summaries: Office.allCases.compactMap { byRegion[$0] }, pool: [], newExportSources: [],
            evaluatedFirms: input.firms.count)
        return result.encoded()
    }

    func monitorCollect(_ ctx: JobContext) async throws -> [UInt8]? {
        let r = try ref(ctx)
        let (run, t) = try await cache.run(r.run)
        let group = RunJobs.monitorGroup(r.run, period: r.period) + (r.index > 0 ? ".\(r.index)" : "")
        let results = try await control.queue.groupResults(group)
        var chunks: [ChunkResult] = []
        for id in results.keys.sorted() {
            do { chunks.append(try ChunkResult.decode(results[id]!, markets: t.markets.count)) } catch {
                throw PermanentFailure("result of \(id): \(error)")
            }
        }
        let merged = ChunkResult.merge(chunks, poolSize: 0)
        let snapshot = MonitoringSnapshot(
            runID: r.run, period: r.period, round: r.index, configuration: t.configuration,
            summaries: merged.summaries, targets: t.targets)
        let keys = control.keys(r.run)
        try await control.write(
            run,
            [
                .hset(keys.monitor, [("\(r.period)", .bytes(snapshot.json()))]),
                .hincrby(keys.monitorRuns, "\(r.period)", 1),
            ], job: ctx)
        try await control.queue.deleteGroup(group)
        log(ctx, run: r.run, "monitoring done", ["period": "\(r.period + 1)"])
        return nil
    }
}

/// Each office's standing at one period: what `exportctl monitor` prints.
public struct MonitoringSnapshot: Sendable {
    public let runID: String
    public let period: Int
    public let round: Int
    public let attainment: [Attainment]
    let configuration: ProgramConfiguration

    public init(
        runID: String, period: Int, round: Int, configuration: ProgramConfiguration, summaries: [RegionSummary],
        targets: [RegionalTarget]
    ) {
        self.runID = runID
        self.period = period
        self.round = round
        self.configuration = configuration
        attainment = Office.allCases.map { o in
            Attainment(
                summaries.first { $0.region == o } ?? RegionSummary(region: o),
                target: targets.first { $0.region == o && $0.year == configuration.programYear }, period: period)
        }
    }

    public func json() -> [UInt8] {
        var w = JSONWriter()
        w.object { w in
            w.field("run_id", runID)
            w.field("period", period + 1)
            w.field("period_start", configuration.start(ofPeriod: period).description)
            w.field("round", round)
            w.key("regions")
            w.array { w in
                for a in attainment {
                    w.object { w in
                        w.field("region", a.region.rawValue)
                        w.field("exporting_firms_to_date", a.exportingFirmsToDate)
                        w.key("target_exporting_firms")
                        if let t = a.targetExportingFirms { w.int(t) } else { w.null() }
                        w.field("export_usd_k_to_date", a.exportsToDate)
                        w.key("avg_export_usd_k")
                        if let v = a.averageExportToDate { w.int(v) } else { w.null() }
                        w.key("target_avg_export_usd_k")
                        if let v = a.targetAverageExport { w.int(v) } else { w.null() }
                        w.field("behind_pace", a.behindPace)
                        w.key("behind_on")
                        w.array { w in for t in a.behindOn { w.string(t.rawValue) } }
                    }
                }
            }
        }
        var b = w.bytes
        b.append(10)
        return b
    }
}
