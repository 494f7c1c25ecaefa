/// Every tunable of a program run, with its documented default. Keys are `config.toml` keys
/// (docs/DATASETS.md, "The configuration"). Rates are kept in permille so all arithmetic on them is
/// exact; `config.toml` gives them as decimals (0.25).
public struct ProgramConfiguration: Sendable, Equatable {
    /// `pool_size`: candidate firms in the national pool.
    public var poolSize = 10_000
    /// `emerging_quota`: share of each ecosystem's seats reserved for emerging-market contracts.
    public var emergingQuotaPermille = 250
    /// `emerging_reserve`: what a reserved slot does when no emerging contract is left for it.
    public var emergingReserve = EmergingReserveRule.soft
    /// `preference_list_length`: contracts a computed firm list keeps (0 = no cap).
    public var preferenceListLength = 0
    /// `consortium_min`, `consortium_max`: firms per consortium.
    public var consortiumMin = 3
    public var consortiumMax = 8
    /// `consortium_max_institutions`: academic or research partners per consortium.
    public var consortiumMaxInstitutions = 2
    /// `consortium_emerging_tie`: a consortium targets its best emerging market when that
    /// market's summed potential is at least this share of the best market's (near-ties).
    public var consortiumEmergingTiePermille = 900
    /// `consortium_emerging_share`: the least share of each industry's consortia (rounded up)
    /// that target an emerging market (market diversification).
    public var consortiumEmergingSharePermille = 100
    /// `fx_krw_per_usd`: the KRW/USD rate for export ratios (2016 average about 1,160).
    public var fxKRWPerUSD = 1160
    /// `export_oriented_threshold`: export ratio from which a mid-sized firm below 1 trillion
    /// KRW counts as export-oriented.
    public var exportOrientedThresholdPermille = 300
    /// `rnd_priority_floor`: readiness (0-100) an R&D-success firm needs for the priority tier.
    public var rndPriorityFloor = 60
    /// `rnd_selection_band`: readiness points a firm with a government R&D success is credited
    /// with in the desks' computed rankings, so it goes ahead of firms up to that much readier.
    public var rndSelectionBand = 5
    /// `national_goal_usd_k`: the national export goal (USD 200 billion).
    public var nationalGoalUSDk: Int64 = 200_000_000
    /// `program_start`: the first day of the first two-week period.
    public var programStart = CivilDate(year: 2016, month: 1, day: 4)!
    /// `program_year`: the year of the regional targets used.
    public var programYear = 2016
    /// `chunk_size`: firms per evaluation job.
    public var chunkSize = 5_000
    /// `top_markets`: markets kept per firm with every factor of their potential.
    public var topMarkets = 5
    /// `mid_size_large_krw_m`: revenue from which a mid-sized firm is LARGE (1 trillion KRW).
    public var midSizeLargeKRWm: Int64 = 1_000_000
    /// `excellent_store_places`: places in each cross-border mall's excellent-SME store.
    public var excellentStorePlaces = 500

    /// Two-week periods in the program year.
    public static let periods = 26

    public init() {}

    /// The period (0-based) a date falls in, or nil outside the program year.
    public func period(of date: CivilDate) -> Int? {
        let d = date.dayNumber - programStart.dayNumber
        guard d >= 0 else { return nil }
        let p = d / 14
        return p < Self.periods ? p : nil
    }

    /// The first day of a period.
    public func start(ofPeriod p: Int) -> CivilDate { programStart.adding(days: 14 * p) }

    /// Checks ranges; messages name the key.
    public func validate() -> [String] {
        var problems: [String] = []
        if poolSize < 1 { problems.append("pool_size must be at least 1") }
        if !(0...1000).contains(emergingQuotaPermille) { problems.append("emerging_quota must be between 0 and 1") }
        if !(0...1_000_000).contains(preferenceListLength) {
            problems.append("preference_list_length must be 0 (no cap) or a positive number of contracts")
        }
        if consortiumMin < 2 { problems.append("consortium_min must be at least 2") }
        if consortiumMax < consortiumMin { problems.append("consortium_max must not be below consortium_min") }
        if !(0...10).contains(consortiumMaxInstitutions) {
            problems.append("consortium_max_institutions must be 0 to 10")
        }
        if !(0...1000).contains(consortiumEmergingTiePermille) {
            problems.append("consortium_emerging_tie must be between 0 and 1")
        }
        if !(0...1000).contains(consortiumEmergingSharePermille) {
            problems.append("consortium_emerging_share must be between 0 and 1")
        }
        if fxKRWPerUSD < 1 { problems.append("fx_krw_per_usd must be positive") }
        if !(0...1000).contains(exportOrientedThresholdPermille) {
            problems.append("export_oriented_threshold must be between 0 and 1")
        }
        if !(0...100).contains(rndPriorityFloor) { problems.append("rnd_priority_floor must be between 0 and 100") }
        if !(0...100).contains(rndSelectionBand) { problems.append("rnd_selection_band must be between 0 and 100") }
        if nationalGoalUSDk < 1 { problems.append("national_goal_usd_k must be positive") }
        if chunkSize < 1 { problems.append("chunk_size must be at least 1") }
        if !(1...20).contains(topMarkets) { problems.append("top_markets must be 1 to 20") }
        if midSizeLargeKRWm < 1 { problems.append("mid_size_large_krw_m must be positive") }
        if !(0...1_000_000).contains(excellentStorePlaces) {
            problems.append("excellent_store_places must be 0 to 1000000")
        }
        return problems
    }

    /// Every key and its effective value, in key order, for the report and logs.
    public var entries: [(key: String, value: String)] {
        [
            ("chunk_size", "\(chunkSize)"),
            ("consortium_emerging_share", Permille.decimal(consortiumEmergingSharePermille)),
            ("consortium_emerging_tie", Permille.decimal(consortiumEmergingTiePermille)),
            ("consortium_max", "\(consortiumMax)"),
            ("consortium_max_institutions", "\(consortiumMaxInstitutions)"),
            ("consortium_min", "\(consortiumMin)"),
            ("emerging_quota", Permille.decimal(emergingQuotaPermille)),
            ("emerging_reserve", emergingReserve.rawValue),
            ("excellent_store_places", "\(excellentStorePlaces)"),
            ("export_oriented_threshold", Permille.decimal(exportOrientedThresholdPermille)),
            ("fx_krw_per_usd", "\(fxKRWPerUSD)"),
            ("mid_size_large_krw_m", "\(midSizeLargeKRWm)"),
            ("national_goal_usd_k", "\(nationalGoalUSDk)"),
            ("pool_size", "\(poolSize)"),
            ("preference_list_length", "\(preferenceListLength)"),
            ("program_start", "\(programStart)"),
            ("program_year", "\(programYear)"),
            ("rnd_priority_floor", "\(rndPriorityFloor)"),
            ("rnd_selection_band", "\(rndSelectionBand)"),
            ("top_markets", "\(topMarkets)"),
        ]
    }
}

/// What a reserved slot takes when no emerging-market contract is left for it.
public enum EmergingReserveRule: String, DomainCode {
    /// The best contract of any kind: a reserve never leaves a seat empty that a firm wanted.
    case soft
    /// Nothing: the slot stays empty, so every reserved seat is an emerging-market seat or none.
    case hard
}

/// Exact decimal text for permille values.
public enum Permille {
    /// 250 -> "0.25", 1000 -> "1", 5 -> "0.005".
    public static func decimal(_ p: Int) -> String {
        let sign = p < 0 ? "-" : ""
        let a = abs(p)
        let whole = a / 1000
        var frac = String(a % 1000)
        while frac.count < 3 { frac = "0" + frac }
        while frac.hasSuffix("0") { frac.removeLast() }
        return sign + String(whole) + (frac.isEmpty ? "" : "." + frac)
    }
}
