#if canImport(Glibc)
    import Glibc
#endif

/// Export potential per firm and market, in the spirit of the ITC Export Potential Indicator:
/// potential = supply x demand x ease (docs/EVALUATION.md has the formula and every constant).
///
/// A firm's potential depends only on that firm and the static tables, so any partition of the
/// work gives the same numbers. Everything static is folded once per (industry, market) into
/// `base`, leaving a few multiplications per firm and market.
public struct PotentialModel: Sendable {
    public let markets: MarketTable
    public let configuration: ProgramConfiguration
    /// base[industry][market] = share x growth x distance x fta x logistics x scale.
    private let base: [[Double]]
    /// The certification gating each (industry, market), as a bit (0 = none).
    private let gates: [[UInt16]]

    /// The constants of the formula.
    public enum Constants {
        /// Share of domestic revenue counted as exportable supply.
        public static let revenueSupplyShare = 0.05
        /// Distance at which the distance factor is 1; it falls with the log of distance beyond.
        public static let distanceReferenceKm = 500.0
        /// Multiplier when a free-trade agreement is in force.
        public static let ftaFactor = 1.15
        /// LPI at which the logistics factor is 1.
        public static let logisticsReference = 400.0
        /// Multiplier when the market requires a certification the firm lacks.
        public static let missingCertificationFactor = 0.25
        /// Multiplier when the firm already exports to the market.
        public static let presenceFactor = 1.5
        /// Scale so that potentials over all markets add up to about the firm's supply.
        public static let scale = 3.0
    }

    public init(markets: MarketTable, configuration: ProgramConfiguration) {
        self.markets = markets
        self.configuration = configuration
        var base: [[Double]] = []
        var gates: [[UInt16]] = []
        for industry in Industry.allCases {
            let i = industry.index
            let total = markets.markets.reduce(0) { $0 + $1.demand[i] }
            base.append(
                markets.markets.map { m in
                    let share = total > 0 ? Double(m.demand[i]) / Double(total) : 0
                    return share * Self.growth(m) * Self.distance(m) * Self.fta(m) * Self.logistics(m) * Constants.scale
                })
            gates.append(markets.markets.map { $0.requiredCertification(for: industry)?.bit ?? 0 })
        }
        self.base = base
        self.gates = gates
    }

    static func growth(_ m: Market) -> Double { 1 + Double(m.importGrowthPermille) / 1000 }
    static func distance(_ m: Market) -> Double {
        1 / (1 + log(max(Double(m.distanceKm), Constants.distanceReferenceKm) / Constants.distanceReferenceKm))
    }
    static func fta(_ m: Market) -> Double { m.fta ? Constants.ftaFactor : 1 }
    static func logistics(_ m: Market) -> Double { Double(m.logisticsIndex) / Constants.logisticsReference }

    /// Revenue in thousands of USD at the configured rate.
    public func revenueUSDk(_ f: Firm) -> Double { Double(f.revenueKRWm) * 1000 / Double(configuration.fxKRWPerUSD) }

    /// Exportable supply in thousands of USD a year.
    public func supply(_ f: Firm) -> Double {
        Double(f.exportUSDk) + Constants.revenueSupplyShare * revenueUSDk(f)
    }

    /// Potential in every market (USD k, unrounded), in market order.
    public func potentials(_ f: Firm, into out: inout [Double]) {
        let s = supply(f)
        let b = base[f.industry.index]
        let g = gates[f.industry.index]
        let n = markets.count
        if out.count != n { out = [Double](repeating: 0, count: n) }
        for m in 0..<n {
            var p = s * b[m]
            if g[m] != 0 && f.certifications & g[m] == 0 { p *= Constants.missingCertificationFactor }
            out[m] = p
        }
        for e in f.exportMarkets where Int(e.market) < n { out[Int(e.market)] *= Constants.presenceFactor }
    }

    /// The potential in one market with each factor, for explanations.
    public func explain(_ f: Firm, market m: UInt8) -> MarketPotential {
        let market = markets[m]
        let i = f.industry.index
        let total = markets.markets.reduce(0) { $0 + $1.demand[i] }
        let share = total > 0 ? Double(market.demand[i]) / Double(total) : 0
        let gated = gates[i][Int(m)] != 0 && f.certifications & gates[i][Int(m)] == 0
        let present = f.exports(to: m) > 0 || f.exportMarkets.contains { $0.market == m }
        var p = supply(f) * base[i][Int(m)]
        if gated { p *= Constants.missingCertificationFactor }
        if present { p *= Constants.presenceFactor }
        let actual = f.exports(to: m)
        let potential = Int64(p.rounded())
        return MarketPotential(
            market: m, potentialUSDk: potential, untappedUSDk: max(0, potential - actual), actualUSDk: actual,
            supplyUSDk: Int64(supply(f).rounded()), demandShare: share, growth: Self.growth(market),
            distance: Self.distance(market), fta: Self.fta(market), logistics: Self.logistics(market),
            certification: gated
                ? .missing(market.requiredCertification(for: f.industry)!)
                : (gates[i][Int(m)] != 0 ? .held : .notRequired),
            presence: present)
    }

    /// The `k` markets of highest potential (ties by market order), with their factors.
    public func topMarkets(_ f: Firm, k: Int, scratch: inout [Double]) -> [MarketPotential] {
        potentials(f, into: &scratch)
        return Self.topIndices(scratch, k: k).map { explain(f, market: UInt8($0)) }
    }

    /// Indices of the `k` largest values, largest first, ties by lower index.
    public static func topIndices(_ v: [Double], k: Int) -> [Int] {
        var top: [Int] = []
        top.reserveCapacity(k + 1)
        for i in v.indices {
            var pos = top.count
            while pos > 0 && v[top[pos - 1]] < v[i] { pos -= 1 }
            if pos < k {
                top.insert(i, at: pos)
                if top.count > k { top.removeLast() }
            }
        }
        return top
    }
}

/// One market's potential for a firm, with every factor behind it.
public struct MarketPotential: Sendable, Equatable {
    public enum Certification: Sendable, Equatable {
        case notRequired, held
        case missing(ExportDomain.Certification)
    }

    public var market: UInt8
    public var potentialUSDk: Int64
    /// max(0, potential - actual).
    public var untappedUSDk: Int64
    public var actualUSDk: Int64
    public var supplyUSDk: Int64
    public var demandShare: Double
    public var growth: Double
    public var distance: Double
    public var fta: Double
    public var logistics: Double
    public var certification: Certification
    public var presence: Bool
}
