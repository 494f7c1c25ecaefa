/// A LARGE mid-sized firm on the ecosystem-leader track: the consortium it leads, or why it
/// leads none (docs/EVALUATION.md, "Tailored mid-sized tracks").
public struct LargeFirmTrack: Sendable, Equatable {
    /// Why a LARGE firm leads no consortium: the first of these that holds, in this order.
    public enum Reason: String, DomainCode {
        /// In a consortium another firm leads.
        case member_of_another_consortium
        /// A pool firm matched to a trading company's desk.
        case matched
        /// A pool firm neither matched nor in a consortium (listed in `unplaced`, with its reason).
        case unplaced
        /// Outside the pool, in an industry with fewer unmatched pool firms than a consortium
        /// needs beside its leader (`consortium_min` - 1), none included.
        case too_few_unmatched_pool_firms
        /// Outside the pool and beyond its industry's cut of leaders (`Leaders.limit`, the
        /// largest exporters first).
        case outside_leader_cut
        /// In the cut, but not among the leaders from outside the pool its industry's consortia
        /// were given (`Leaders.outsideThePool`).
        case beyond_leaders_needed
        /// Given to its industry's consortium search, which chose other leaders.
        case not_used_by_search
    }

    public var entry: MidsizeEntry
    public var inPool: Bool
    /// The consortium it leads.
    public var consortium: Consortium?
    /// Nil when it leads one.
    public var reason: Reason?
    /// The particulars in plain words (the company, the consortium, the counts behind a cut).
    public var detail: String

    public init(entry: MidsizeEntry, inPool: Bool, consortium: Consortium?, reason: Reason?, detail: String) {
        self.entry = entry
        self.inPool = inPool
        self.consortium = consortium
        self.reason = reason
        self.detail = detail
    }
}

/// A trading company with a desk in a firm's industry that covers a market.
public struct CoveringDesk: Sendable, Equatable {
    public var company: String
    public var successRatePermille: Int

    public init(company: String, successRatePermille: Int) {
        self.company = company
        self.successRatePermille = successRatePermille
    }
}

/// A first-export market of a DOMESTIC_ORIENTED firm with the desks that cover it.
public struct FirstExportMarket: Sendable, Equatable {
    public var pick: MarketPick
    /// Best first: success rate (higher first), then company id; at most `MidsizeTracks.desksPerMarket`.
    public var desks: [CoveringDesk]

    public init(pick: MarketPick, desks: [CoveringDesk]) {
        self.pick = pick
        self.desks = desks
    }
}

/// A DOMESTIC_ORIENTED mid-sized firm on the first-export track.
public struct DomesticFirmTrack: Sendable, Equatable {
    public var entry: MidsizeEntry
    public var markets: [FirstExportMarket]

    public init(entry: MidsizeEntry, markets: [FirstExportMarket]) {
        self.entry = entry
        self.markets = markets
    }

    /// At least one first-export market with a desk covering it.
    public var hasCoveredMarket: Bool { markets.contains { !$0.desks.isEmpty } }
}

/// The three mid-sized groups' tailored tracks, assembled by the collector from the national
/// evaluation (the firms' entries, the pool, the leaders), the ecosystems' results and the
/// trading companies. Every list is by firm id.
public struct MidsizeTracks: Sendable, Equatable {
    /// Desks listed per first-export market.
    public static let desksPerMarket = 3

    public var large: [LargeFirmTrack]
    /// EXPORT_ORIENTED firms; each entry's markets are its emerging-market targets.
    public var exportOriented: [MidsizeEntry]
    public var domesticOriented: [DomesticFirmTrack]

    public init(
        entries: [MidsizeEntry], pool: [PoolCandidate], leaders: [PoolCandidate], ecosystems: [EcosystemResult],
        companies: [TradingCompany], markets: MarketTable, configuration c: ProgramConfiguration
    ) {
        let sorted = entries.sorted { $0.firm < $1.firm }
        exportOriented = sorted.filter { $0.group == .EXPORT_ORIENTED }
        large = Self.large(
            sorted.filter { $0.group == .LARGE }, pool: pool, leaders: leaders, ecosystems: ecosystems,
            markets: markets,
            configuration: c)
        // Per industry, the companies with a desk in it, best first.
        var byIndustry = [[TradingCompany]](repeating: [], count: Industry.allCases.count)
        for co in companies {
            for d in co.desks { byIndustry[d.industry.index].append(co) }
        }
        for i in byIndustry.indices {
            byIndustry[i].sort { ($1.successRatePermille, $0.id) < ($0.successRatePermille, $1.id) }
        }
        domesticOriented = sorted.filter { $0.group == .DOMESTIC_ORIENTED }.map { e in
            DomesticFirmTrack(
                entry: e,
                markets: e.markets.map { p in
                    FirstExportMarket(
                        pick: p,
                        desks: byIndustry[e.industry.index].lazy
                            .filter { $0.markets.isEmpty || $0.markets.contains(p.market) }
                            .prefix(Self.desksPerMarket)
                            .map { CoveringDesk(company: $0.id, successRatePermille: $0.successRatePermille) })
                })
        }
    }

    static func large(
        _ firms: [MidsizeEntry], pool: [PoolCandidate], leaders: [PoolCandidate], ecosystems: [EcosystemResult],
        markets: MarketTable, configuration c: ProgramConfiguration
    ) -> [LargeFirmTrack] {
        let inPool = Set(pool.map(\.firm.id))
        let inCut = Set(leaders.map(\.firm.id))
        let outside = Leaders.outsideThePool(leaders, pool: pool, consortiumMin: c.consortiumMin)
        let given = Set(outside.flatMap { $0.map(\.firm.id) })
        var led: [BusinessNumber: Consortium] = [:]
        var memberOf: [BusinessNumber: Consortium] = [:]
        var matched: [BusinessNumber: Match] = [:]
        var unplaced: [BusinessNumber: String] = [:]
        var unmatched = [Int](repeating: 0, count: Industry.allCases.count)
        var formed = [Int](repeating: 0, count: Industry.allCases.count)
        for e in ecosystems {
            unmatched[e.industry.index] += e.poolFirms - e.matches.count
            formed[e.industry.index] += e.consortia.count
            for k in e.consortia {
                led[k.leader] = k
                for m in k.members where m != k.leader { memberOf[m] = k }
            }
            for m in e.matches { matched[m.firm] = m }
            for u in e.unplaced { unplaced[u.firm] = u.reason }
        }
        let limit = Leaders.limit(poolSize: c.poolSize)
        let needed = max(1, c.consortiumMin - 1)
        return firms.map { f in
            let pooled = inPool.contains(f.firm)
            func none(_ r: LargeFirmTrack.Reason, _ detail: String) -> LargeFirmTrack {
                LargeFirmTrack(entry: f, inPool: pooled, consortium: nil, reason: r, detail: detail)
            }
            let ind = f.industry.rawValue
            if let k = led[f.firm] {
                return LargeFirmTrack(entry: f, inPool: pooled, consortium: k, reason: nil, detail: "")
            }
            if let k = memberOf[f.firm] {
                return none(.member_of_another_consortium, "\(k.id), led by \(k.leader)")
            }
            if let m = matched[f.firm] {
                return none(.matched, "\(m.company)'s desk for \(markets[m.targetMarket].code)")
            }
            if pooled { return none(.unplaced, unplaced[f.firm] ?? "") }
            let u = unmatched[f.industry.index]
            if u < needed {
                return none(
                    .too_few_unmatched_pool_firms,
                    u == 0
                        ? "no unmatched \(ind) pool firm"
                        : "\(u) unmatched \(ind) pool firm\(u == 1 ? "" : "s"); a consortium needs \(needed) beside its leader"
                )
            }
            if !inCut.contains(f.firm) {
                return none(.outside_leader_cut, "\(ind) keeps its \(limit) largest exporters able to lead")
            }
            if !given.contains(f.firm) {
                let n = outside[f.industry.index].count
                return none(
                    .beyond_leaders_needed,
                    "the \(ind) consortia were given the first \(n) leaders from outside the pool")
            }
            let n = outside[f.industry.index].count
            let k = formed[f.industry.index]
            return none(
                .not_used_by_search,
                "one of \(n) leaders from outside the pool given to the \(ind) search, which formed \(k) "
                    + "consortia of \(unmatched[f.industry.index]) unmatched pool firms")
        }
    }

    /// LARGE firms leading a consortium.
    public var largeLeading: Int { large.filter { $0.consortium != nil }.count }
    /// LARGE firms leading none, per reason, in reason order.
    public var largeReasons: [(reason: LargeFirmTrack.Reason, firms: Int)] {
        LargeFirmTrack.Reason.allCases.map { r in (r, large.filter { $0.reason == r }.count) }
    }
    /// EXPORT_ORIENTED firms with at least one emerging-market target.
    public var exportOrientedWithTarget: Int { exportOriented.filter { !$0.markets.isEmpty }.count }
    /// DOMESTIC_ORIENTED firms with at least one first-export market.
    public var domesticWithMarket: Int { domesticOriented.filter { !$0.markets.isEmpty }.count }
    /// DOMESTIC_ORIENTED firms with a first-export market and a desk covering it.
    public var domesticWithDesk: Int { domesticOriented.filter(\.hasCoveredMarket).count }
}
