/// What one region's firms add up to: counts and sums only (integers), so summaries of any
/// chunking merge, in any order, to the same figures. Figures derived from them (averages,
/// attainment) are computed once, from the merged summary.
public struct RegionSummary: Sendable, Equatable {
    public var region: Office
    public var firms: Int64 = 0
    /// Firms with exports last year (firms.csv).
    public var exportingFirms: Int64 = 0
    public var exportUSDk: Int64 = 0
    public var exportPrevUSDk: Int64 = 0
    /// By `ExportTier.index`.
    public var tiers = [Int64](repeating: 0, count: 4)
    /// By `MidsizeGroup.index`.
    public var midsizeGroups = [Int64](repeating: 0, count: 3)
    /// Export records (this year) per two-week period, USD k.
    public var periodExportUSDk = [Int64](repeating: 0, count: ProgramConfiguration.periods)
    /// Firms with at least one export record in each period.
    public var periodExportingFirms = [Int64](repeating: 0, count: ProgramConfiguration.periods)
    /// Firms by the period of their first export record this year (year-to-date counts of
    /// distinct exporting firms are running sums of it).
    public var firstExportPeriod = [Int64](repeating: 0, count: ProgramConfiguration.periods)
    /// The firms by (industry, export tier), with last year's exports and this year's export
    /// records counted (`FollowUpCells`), for following supported firms.
    public var followUp = FollowUpCells()

    public init(region: Office) { self.region = region }

    /// Adds another summary of the same region (associative and commutative).
    public mutating func merge(_ o: RegionSummary) {
        precondition(o.region == region, "merging summaries of different regions")
        firms += o.firms
        exportingFirms += o.exportingFirms
        exportUSDk += o.exportUSDk
        exportPrevUSDk += o.exportPrevUSDk
        for i in tiers.indices { tiers[i] += o.tiers[i] }
        for i in midsizeGroups.indices { midsizeGroups[i] += o.midsizeGroups[i] }
        for p in 0..<ProgramConfiguration.periods {
            periodExportUSDk[p] += o.periodExportUSDk[p]
            periodExportingFirms[p] += o.periodExportingFirms[p]
            firstExportPeriod[p] += o.firstExportPeriod[p]
        }
        followUp.merge(o.followUp)
    }

    /// Counts one firm and its export records of this year.
    public mutating func add(_ f: Firm, records: ArraySlice<ExportRecord>, configuration c: ProgramConfiguration) {
        firms += 1
        if f.exportUSDk > 0 { exportingFirms += 1 }
        exportUSDk += f.exportUSDk
        exportPrevUSDk += f.exportPrevUSDk
        tiers[ExportTier(exportUSDk: f.exportUSDk).index] += 1
        if let g = MidsizeGroup(f, configuration: c) { midsizeGroups[g.index] += 1 }
        var seen: UInt32 = 0
        var first = ProgramConfiguration.periods
        var toDate: Int64 = 0
        for r in records where r.usdK > 0 {
            toDate += r.usdK
            periodExportUSDk[r.period] += r.usdK
            if seen & (1 << UInt32(r.period)) == 0 {
                seen |= 1 << UInt32(r.period)
                periodExportingFirms[r.period] += 1
            }
            first = min(first, r.period)
        }
        if first < ProgramConfiguration.periods { firstExportPeriod[first] += 1 }
        followUp.add(f, exportsToDate: toDate)
    }

    /// Distinct firms that exported in periods 0 through `p`.
    public func exportingFirmsToDate(through p: Int) -> Int64 { firstExportPeriod.prefix(p + 1).reduce(0, +) }
    public func exportsToDate(through p: Int) -> Int64 { periodExportUSDk.prefix(p + 1).reduce(0, +) }
}

/// A region's standing against its office's targets at a period.
public struct Attainment: Sendable, Equatable {
    public var region: Office
    /// The last period counted (0-based); -1 before any export record.
    public var period: Int
    public var exportingFirmsToDate: Int64
    public var exportsToDate: Int64
    /// Year-to-date exports per exporting firm, rounded half up; nil with no exporting firm.
    public var averageExportToDate: Int64?
    public var targetExportingFirms: Int64?
    public var targetAverageExport: Int64?
    /// The targets whose pro-rata pace the office is behind at `period`, in this order (empty: on
    /// pace). Exact integer comparisons, with n = 26 periods and r = period + 1 reached:
    /// - exporting firms: firms to date x n < target firms x r;
    /// - average export: exports to date x n < firms to date x target average x r (the average to
    ///   date below the target average's share of the year; judged once a firm has exported).
    /// Before any export record, and for an office without a target, nothing is behind.
    public var behindOn: [PaceTarget]
    /// Behind the pace of at least one target.
    public var behindPace: Bool { !behindOn.isEmpty }

    public init(_ s: RegionSummary, target: RegionalTarget?, period p: Int) {
        region = s.region
        period = p
        let firms = p >= 0 ? s.exportingFirmsToDate(through: p) : 0
        let exports = p >= 0 ? s.exportsToDate(through: p) : 0
        exportingFirmsToDate = firms
        exportsToDate = exports
        averageExportToDate = firms > 0 ? (2 * exports + firms) / (2 * firms) : nil
        targetExportingFirms = target.map { Int64($0.exportingFirms) }
        targetAverageExport = target?.avgExportUSDk
        behindOn = []
        let n = Int64(ProgramConfiguration.periods)
        if let t = target, p >= 0 {
            let reached = Int64(p + 1)
            if firms * n < Int64(t.exportingFirms) * reached { behindOn.append(.exportingFirms) }
            if firms > 0 && exports * n < firms * t.avgExportUSDk * reached { behindOn.append(.averageExport) }
        }
    }
}

/// An office's two targets, as the pace names them.
public enum PaceTarget: String, Sendable, CaseIterable {
    case exportingFirms = "exporting_firms"
    case averageExport = "avg_export"
}

/// The year's figure projected to its end at the pace so far: `toDate` x 26 / periods reached
/// (linear in the share of the year reached, as the pace rule is), rounded half up; nil before
/// any export record (`periodReached` -1).
public func projectedToYearEnd(_ toDate: Int64, periodReached p: Int) -> Int64? {
    guard p >= 0 else { return nil }
    let n = Int64(ProgramConfiguration.periods)
    let r = Int64(min(p, ProgramConfiguration.periods - 1) + 1)
    return (2 * toDate * n + r) / (2 * r)
}
