/// What one evaluation job computes from a chunk of firms (and their export records): a summary
/// per region, the chunk's best pool candidates and new-export-source candidates, each list cut
/// to the pool size, its leaders, and an entry per mid-sized firm. Results of any chunking merge
/// to the same national result.
public struct ChunkResult: Sendable, Equatable {
    /// One per region present, in `Office.allCases` order.
    public var summaries: [RegionSummary]
    /// Eligible firms, in pool order, at most the pool size.
    public var pool: [PoolCandidate]
    /// Eligible new-export-source firms (procurement-excellent or home-shopping best sellers),
    /// in pool order, at most the pool size.
    public var newExportSources: [PoolCandidate]
    /// Every firm able to lead a consortium (`Leaders.isEligible`), in the pool or not, in
    /// leader order (`Leaders.ranksBefore`), at most `Leaders.limit` per industry.
    public var leaders: [PoolCandidate]
    /// Every mid-sized firm with its tailored track's markets (`MidsizeTrack`), by firm id; never
    /// cut.
    public var midsize: [MidsizeEntry]
    public var evaluatedFirms: Int

    public init(
        summaries: [RegionSummary], pool: [PoolCandidate], newExportSources: [PoolCandidate],
        leaders: [PoolCandidate] = [], midsize: [MidsizeEntry] = [], evaluatedFirms: Int
    ) {
        self.summaries = summaries
        self.pool = pool
        self.newExportSources = newExportSources
        self.leaders = leaders
        self.midsize = midsize
        self.evaluatedFirms = evaluatedFirms
    }

    /// The union of chunk results (associative and commutative).
    public static func merge(_ results: [ChunkResult], poolSize: Int) -> ChunkResult {
        var byRegion: [Office: RegionSummary] = [:]
        for r in results {
            for s in r.summaries {
                if byRegion[s.region] == nil { byRegion[s.region] = s } else { byRegion[s.region]!.merge(s) }
            }
        }
        return ChunkResult(
            summaries: Office.allCases.compactMap { byRegion[$0] },
            pool: CandidatePool.merge(results.map(\.pool), n: poolSize),
            newExportSources: CandidatePool.merge(results.map(\.newExportSources), n: poolSize),
            leaders: Leaders.merge(results.map(\.leaders), limit: Leaders.limit(poolSize: poolSize)),
            midsize: results.flatMap(\.midsize).sorted { $0.firm < $1.firm },
            evaluatedFirms: results.reduce(0) { $0 + $1.evaluatedFirms })
    }

    /// Every candidate list, where the collector looks up the supported firms' own figures: a
    /// list added to the result belongs here too.
    public var candidateLists: [[PoolCandidate]] { [pool, newExportSources, leaders] }
}

/// Evaluates firms: potential, readiness, tier and group, pool eligibility.
public struct Evaluator: Sendable {
    public let model: PotentialModel
    public var configuration: ProgramConfiguration { model.configuration }

    public init(markets: MarketTable, configuration: ProgramConfiguration) {
        model = PotentialModel(markets: markets, configuration: configuration)
    }

    /// Readiness of one firm; `scratch` is reused between calls.
    public func readiness(_ f: Firm, scratch: inout [Double]) -> Readiness {
        model.potentials(f, into: &scratch)
        var untapped: Int64 = 0
        for m in PotentialModel.topIndices(scratch, k: configuration.topMarkets) {
            let p = Int64(scratch[m].rounded())
            untapped += max(0, p - f.exports(to: UInt8(m)))
        }
        return Readiness(f, untappedTop: untapped, revenueKRWm: f.revenueKRWm)
    }

    /// A chunk's result. `records` are the export records of these firms (any order).
    public func evaluate(_ firms: [Firm], records: [ExportRecord]) -> ChunkResult {
        let sorted = records.sorted { ($0.firm, $0.period, $0.market) < ($1.firm, $1.period, $1.market) }
        var byRegion: [Office: RegionSummary] = [:]
        var pool: [PoolCandidate] = []
        var sources: [PoolCandidate] = []
        var leaders: [PoolCandidate] = []
        var midsize: [MidsizeEntry] = []
        var scratch: [Double] = []
        for f in firms {
            // This firm's records: a binary search for the first, then a run.
            var lo = sorted.startIndex
            var hi = sorted.endIndex
            while lo < hi {
                let mid = (lo + hi) / 2
                if sorted[mid].firm < f.id { lo = mid + 1 } else { hi = mid }
            }
            var end = lo
            while end < sorted.endIndex && sorted[end].firm == f.id { end += 1 }
            byRegion[f.region, default: RegionSummary(region: f.region)].add(
                f, records: sorted[lo..<end], configuration: configuration)
            if let e = MidsizeTrack.entry(f, records: sorted[lo..<end], model: model, scratch: &scratch) {
                midsize.append(e)
            }
            let eligible = CandidatePool.isEligible(f)
            let leader = Leaders.isEligible(f)
            guard eligible || leader else { continue }
            let r = readiness(f, scratch: &scratch)
            let c = PoolCandidate(
                firm: f, readiness: r.score,
                priority: CandidatePool.isPriority(f, readiness: r.score, configuration: configuration),
                exportsToDate: FollowUpCells.exportsToDate(sorted[lo..<end]))
            if leader { leaders.append(c) }
            guard eligible else { continue }
            pool.append(c)
            if f.isNewExportSource { sources.append(c) }
        }
        return ChunkResult(
            summaries: Office.allCases.compactMap { byRegion[$0] },
            pool: CandidatePool.top(pool, n: configuration.poolSize),
            newExportSources: CandidatePool.top(sources, n: configuration.poolSize),
            leaders: Leaders.top(leaders, limit: Leaders.limit(poolSize: configuration.poolSize)),
            midsize: midsize.sorted { $0.firm < $1.firm }, evaluatedFirms: firms.count)
    }
}
