/// One mid-sized firm as its tailored track needs it (docs/EVALUATION.md, "Tailored mid-sized
/// tracks"). Made by the evaluation job, the only place that holds the whole firm; small, so that
/// every mid-sized firm of the nation travels to the collector.
public struct MidsizeEntry: Sendable, Equatable {
    public var firm: BusinessNumber
    public var region: Office
    public var industry: Industry
    public var group: MidsizeGroup
    public var revenueKRWm: Int64
    /// Last year's exports (firms.csv).
    public var exportUSDk: Int64
    /// Last year's exports whose market is known (the sum of `export_markets`), and the part of
    /// them that went to emerging markets.
    public var marketExportUSDk: Int64
    public var emergingExportUSDk: Int64
    /// EXPORT_ORIENTED: the emerging-market diversification targets; DOMESTIC_ORIENTED: the
    /// first-export markets; LARGE: none (that track is the consortia).
    public var markets: [MarketPick]

    public init(
        firm: BusinessNumber, region: Office, industry: Industry, group: MidsizeGroup, revenueKRWm: Int64,
        exportUSDk: Int64, marketExportUSDk: Int64, emergingExportUSDk: Int64, markets: [MarketPick]
    ) {
        self.firm = firm
        self.region = region
        self.industry = industry
        self.group = group
        self.revenueKRWm = revenueKRWm
        self.exportUSDk = exportUSDk
        self.marketExportUSDk = marketExportUSDk
        self.emergingExportUSDk = emergingExportUSDk
        self.markets = markets
    }
}

/// The per-firm part of the tailored tracks, computed where the firm is evaluated. Markets are
/// ranked on the whole-USD-k figures the report shows (potential rounded once, untapped =
/// max(0, potential - last year's export there)), larger first, ties by market table order, and
/// at most `top_markets` are kept.
public enum MidsizeTrack {
    /// The entry of a mid-sized firm (nil for any other). `records` are the firm's export records
    /// of this year; `scratch` is reused between calls.
    public static func entry(
        _ f: Firm, records: ArraySlice<ExportRecord>, model: PotentialModel, scratch: inout [Double]
    ) -> MidsizeEntry? {
        guard let group = MidsizeGroup(f, configuration: model.configuration) else { return nil }
        var known: Int64 = 0
        var emerging: Int64 = 0
        for e in f.exportMarkets where Int(e.market) < model.markets.count {
            known += e.usdK
            if model.markets[e.market].emerging { emerging += e.usdK }
        }
        let k = model.configuration.topMarkets
        let markets: [MarketPick]
        switch group {
        case .LARGE: markets = []
        case .EXPORT_ORIENTED: markets = diversificationTargets(f, k: k, model: model, scratch: &scratch)
        case .DOMESTIC_ORIENTED:
            var exported = [Bool](repeating: false, count: model.markets.count)
            for r in records where r.usdK > 0 && Int(r.market) < exported.count { exported[Int(r.market)] = true }
            markets = firstExportMarkets(f, exportedThisYear: exported, k: k, model: model, scratch: &scratch)
        }
        return MidsizeEntry(
            firm: f.id, region: f.region, industry: f.industry, group: group, revenueKRWm: f.revenueKRWm,
            exportUSDk: f.exportUSDk, marketExportUSDk: known, emergingExportUSDk: emerging, markets: markets)
    }

    /// Market diversification: the emerging markets of largest untapped potential, those with
    /// some left (untapped > 0), at most `k`, each with its entry gate.
    public static func diversificationTargets(_ f: Firm, k: Int, model: PotentialModel, scratch: inout [Double])
        -> [MarketPick]
    {
        model.potentials(f, into: &scratch)
        var picks: [MarketPick] = []
        for m in 0..<model.markets.count where model.markets[UInt8(m)].emerging {
            let potential = Int64(scratch[m].rounded())
            let untapped = max(0, potential - f.exports(to: UInt8(m)))
            if untapped > 0 { picks.append(pick(f, market: UInt8(m), potential: potential, untapped: untapped, model)) }
        }
        return best(picks, k: k) { $0.untappedUSDk }
    }

    /// First exports: among the markets the firm does not export to yet (nothing there last year
    /// in `export_markets`, and no export record there this year, `exportedThisYear` by market),
    /// those of largest potential (potential > 0), at most `k`, each with its entry gate.
    public static func firstExportMarkets(
        _ f: Firm, exportedThisYear: [Bool], k: Int, model: PotentialModel, scratch: inout [Double]
    ) -> [MarketPick] {
        model.potentials(f, into: &scratch)
        var picks: [MarketPick] = []
        for m in 0..<model.markets.count
        where f.exports(to: UInt8(m)) == 0 && !(m < exportedThisYear.count && exportedThisYear[m]) {
            let potential = Int64(scratch[m].rounded())
            if potential > 0 {
                picks.append(pick(f, market: UInt8(m), potential: potential, untapped: potential, model))
            }
        }
        return best(picks, k: k) { $0.potentialUSDk }
    }

    /// A market with its figures and entry gate: the certification the market requires of the
    /// firm's industry, if any, and whether the firm holds it.
    static func pick(_ f: Firm, market m: UInt8, potential: Int64, untapped: Int64, _ model: PotentialModel)
        -> MarketPick
    {
        let gate = model.markets[m].requiredCertification(for: f.industry)
        return MarketPick(
            market: m, potentialUSDk: potential, untappedUSDk: untapped, gate: gate,
            gateHeld: gate.map { f.certifications & $0.bit != 0 } ?? false)
    }

    /// The first `k` of `picks` (in market order) by `key`, larger first, ties by market order.
    static func best(_ picks: [MarketPick], k: Int, by key: (MarketPick) -> Int64) -> [MarketPick] {
        Array(picks.sorted { (key($1), $0.market) < (key($0), $1.market) }.prefix(k))
    }
}
