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
/// completion enqueues one `monitor-collect` job that writes the snapshot of that period. Once
/// the run's report exists, its supported firms are followed too ("Supported firms followed").
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

    /// Starts an on-demand round of `period` and returns its number: rounds are numbered per run
    /// (`monitor_round` in the run's meta, taken under the run's guard, so a purged run is not
    /// brought back by the count).
    public func startMonitoringRound(_ run: String, period: Int) async throws -> Int {
        guard let ref = try await ref(run) else { throw RunError("no run \(run)") }
        let reply = try await write(ref, [.hincrby(keys(run).meta, "monitor_round", 1)])
        guard let round = reply.first?.int.map(Int.init), round > 0 else {
            throw RunError("run \(run): the monitoring round counter is not a number")
        }
        try await startMonitoring(run, period: period, round: round)
        return round
    }

    /// The stored snapshot of `period` once it is round `round`'s (its `round` field), else nil.
    public func monitorSnapshot(_ run: String, period: Int, round: Int) async throws -> [UInt8]? {
        guard let s = try await monitorSnapshots(run)[period],
            let obj = try? JSONSerialization.jsonObject(with: Data(s)) as? [String: Any],
            (obj["round"] as? Int) == round
        else { return nil }
        return s
    }

    /// The last period (0-based) with an export record in the run's stored or loaded records;
    /// 0 if none.
    public func lastPeriodWithRecords(_ run: String) async throws -> Int {
        let t = try await tables(run)
        let chunks = Int(try await meta(run)["chunks"] ?? "0") ?? 0
        var lists = [keys(run).loadedExports]
        for i in 0..<chunks { lists.append(keys(run).records(i)) }
        var last = 0
        for k in lists {
            for b in try await list(k) {
                do {
                    for r in try ChunkInput.decodeRecords(b, markets: t.markets.count) { last = max(last, r.period) }
                } catch {
                    throw RunError("run \(run): export records in \(k) cannot be read: \(error)")
                }
            }
        }
        return last
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
    /// The chunk's region summaries through the round's period (records of later periods are
    /// left out, so every figure is "to date" at that period), and those of the chunk's
    /// supported firms once the run's report has named them.
    func monitorChunk(_ ctx: JobContext) async throws -> [UInt8]? {
        let r = try ref(ctx)
        let (_, t) = try await cache.run(r.run)
        let input = try await chunkInput(r.run, chunk: r.index, tables: t, withLoaded: true)
        var supported: Set<BusinessNumber>?
        if let b = try await control.bytes(control.keys(r.run).supportedFirms) {
            do { supported = Set(try SupportedFirms.decode(b)) } catch {
                throw PermanentFailure("run \(r.run) supported firms: \(error)")
            }
        }
        let sorted = input.records.filter { $0.period <= r.period }
            .sorted { ($0.firm, $0.period, $0.market) < ($1.firm, $1.period, $1.market) }
        var byRegion: [Office: RegionSummary] = [:]
        var supportedByRegion: [Office: RegionSummary] = [:]
        var lo = 0
        for f in input.firms.sorted(by: { $0.id < $1.id }) {
            while lo < sorted.count && sorted[lo].firm < f.id { lo += 1 }
            var end = lo
            while end < sorted.count && sorted[end].firm == f.id { end += 1 }
            byRegion[f.region, default: RegionSummary(region: f.region)].add(
                f, records: sorted[lo..<end], configuration: t.configuration)
            if supported?.contains(f.id) == true {
                supportedByRegion[f.region, default: RegionSummary(region: f.region)].add(
                    f, records: sorted[lo..<end], configuration: t.configuration)
            }
            lo = end
        }
        return MonitorChunkResult(
            evaluatedFirms: input.firms.count, summaries: Office.allCases.compactMap { byRegion[$0] },
            supported: supported.map { _ in Office.allCases.compactMap { supportedByRegion[$0] } }
        ).encoded()
    }

    func monitorCollect(_ ctx: JobContext) async throws -> [UInt8]? {
        let r = try ref(ctx)
        let (run, t) = try await cache.run(r.run)
        let group = RunJobs.monitorGroup(r.run, period: r.period) + (r.index > 0 ? ".\(r.index)" : "")
        let results = try await control.queue.groupResults(group)
        var chunks: [MonitorChunkResult] = []
        for id in results.keys.sorted() {
            do { chunks.append(try MonitorChunkResult.decode(results[id]!)) } catch {
                throw PermanentFailure("result of \(id): \(error)")
            }
        }
        let summaries = MonitorChunkResult.merge(chunks.map(\.summaries))
        // Followed only when every chunk knew the supported firms: a round that ran while the
        // report was being written says they are not known yet rather than count some chunks.
        var followUp: SupportedFollowUp?
        if !chunks.isEmpty, chunks.allSatisfy({ $0.supported != nil }) {
            followUp = SupportedFollowUp(
                periodReached: r.period, all: SupportedFollowUp.cells(of: summaries),
                supported: SupportedFollowUp.cells(of: MonitorChunkResult.merge(chunks.compactMap(\.supported))))
            guard followUp != nil else {
                throw PermanentFailure(
                    "run \(r.run) period \(r.period + 1): supported firms' figures exceed their offices'")
            }
        }
        let snapshot = MonitoringSnapshot(
            runID: r.run, period: r.period, round: r.index, configuration: t.configuration,
            summaries: summaries, targets: t.targets, followUp: followUp)
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
    /// The supported firms followed at this period; nil while the run's report (which names
    /// them) does not exist yet.
    public let followUp: SupportedFollowUp?
    let configuration: ProgramConfiguration

    public init(
        runID: String, period: Int, round: Int, configuration: ProgramConfiguration, summaries: [RegionSummary],
        targets: [RegionalTarget], followUp: SupportedFollowUp? = nil
    ) {
        self.runID = runID
        self.followUp = followUp
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
            w.key("supported_followup")
            if let followUp {
                followUp.json(&w)
            } else {
                w.object { w in
                    w.field("supported_firms_known", false)
                    w.field("note", "the supported firms are known once the run's report exists")
                }
            }
        }
        var b = w.bytes
        b.append(10)
        return b
    }
}

/// The ids of the firms a run supports, in id order, as stored under `RunKeys.supportedFirms`.
public enum SupportedFirms {
    public static let version: UInt8 = 1

    public static func encoded(_ ids: [BusinessNumber]) -> [UInt8] {
        var w = BinaryWriter()
        w.envelope(kind: ServicePayload.supportedFirms, version: version)
        w.list(ids) { w, id in w.firmID(id) }
        return w.bytes
    }

    /// Throws unless the ids are strictly increasing.
    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> [BusinessNumber] {
        var r = BinaryReader(bytes)
        try r.envelope(kind: ServicePayload.supportedFirms, version: version)
        let ids = try r.list(minElementBytes: 1) { (r: inout BinaryReader) throws(DecodeError) in try r.firmID() }
        try r.expectEnd()
        for i in ids.indices.dropFirst() where !(ids[i - 1] < ids[i]) {
            throw DecodeError("supported firm ids out of order at \(i)")
        }
        return ids
    }
}

/// What one monitor-chunk job returns: its region summaries, and those of its supported firms
/// (nil: the run's supported firms were not known when the job ran).
struct MonitorChunkResult: Sendable, Equatable {
    static let version: UInt8 = 1

    var evaluatedFirms: Int
    var summaries: [RegionSummary]
    var supported: [RegionSummary]?

    func encoded() -> [UInt8] {
        var w = BinaryWriter()
        w.envelope(kind: ServicePayload.monitorChunkResult, version: Self.version)
        w.int(evaluatedFirms)
        w.list(summaries) { w, s in s.encode(into: &w) }
        w.bool(supported != nil)
        if let supported { w.list(supported) { w, s in s.encode(into: &w) } }
        return w.bytes
    }

    static func decode(_ bytes: [UInt8]) throws(DecodeError) -> MonitorChunkResult {
        var r = BinaryReader(bytes)
        try r.envelope(kind: ServicePayload.monitorChunkResult, version: version)
        let evaluated = try r.int(in: 0...100_000_000, "evaluated firms")
        let summaries = try r.list(minElementBytes: 10) { (r: inout BinaryReader) throws(DecodeError) in
            try RegionSummary.decode(&r)
        }
        var supported: [RegionSummary]?
        if try r.bool() {
            supported = try r.list(minElementBytes: 10) { (r: inout BinaryReader) throws(DecodeError) in
                try RegionSummary.decode(&r)
            }
        }
        try r.expectEnd()
        return MonitorChunkResult(evaluatedFirms: evaluated, summaries: summaries, supported: supported)
    }

    /// Chunks' summaries merged by region, in office order.
    static func merge(_ lists: [[RegionSummary]]) -> [RegionSummary] {
        var byRegion: [Office: RegionSummary] = [:]
        for l in lists {
            for s in l {
                if byRegion[s.region] == nil { byRegion[s.region] = s } else { byRegion[s.region]!.merge(s) }
            }
        }
        return Office.allCases.compactMap { byRegion[$0] }
    }
}
