/// An online channel recommended to a pool firm, with the route that opens it.
public struct ChannelRecommendation: Sendable, Equatable {
    public enum Route: String, DomainCode {
        /// An open market the matched company sells through, in a market it covers.
        case MATCHED_COMPANY
        /// An open market serving a market the firm already exports to.
        case OWN_PRESENCE
        /// A presence of the firm's own to open: the open market serving its best market by
        /// potential, for a firm no other route reaches.
        case NEW_STOREFRONT
        /// A place in a domestic cross-border mall's excellent-SME store (consumer industries).
        case CROSS_BORDER_MALL
    }

    public var firm: BusinessNumber
    public var channel: Channel
    public var route: Route
    /// The market the channel opens (the firm's best such market); nil for the malls.
    public var market: UInt8?

    public init(firm: BusinessNumber, channel: Channel, route: Route, market: UInt8?) {
        self.firm = firm
        self.channel = channel
        self.route = route
        self.market = market
    }
}

/// A market with the firm's potential and untapped potential there (USD k), and its entry gate:
/// the certification the market requires of the firm's industry, if any, and whether the firm
/// holds it.
public struct MarketPick: Sendable, Equatable {
    public var market: UInt8
    public var potentialUSDk: Int64
    public var untappedUSDk: Int64
    public var gate: Certification?
    public var gateHeld: Bool

    public init(
        market: UInt8, potentialUSDk: Int64, untappedUSDk: Int64, gate: Certification? = nil, gateHeld: Bool = false
    ) {
        self.market = market
        self.potentialUSDk = potentialUSDk
        self.untappedUSDk = untappedUSDk
        self.gate = gate
        self.gateHeld = gateHeld
    }

    /// The `k` markets of largest untapped potential for `f` (ties by market order), with gates.
    public static func untapped(_ f: Firm, k: Int, model: PotentialModel, scratch: inout [Double]) -> [MarketPick] {
        model.potentials(f, into: &scratch)
        for e in f.exportMarkets where Int(e.market) < scratch.count {
            scratch[Int(e.market)] = max(0, scratch[Int(e.market)] - Double(e.usdK))
        }
        return PotentialModel.topIndices(scratch, k: k).map { m in
            let p = model.explain(f, market: UInt8(m))
            switch p.certification {
            case .notRequired:
                return MarketPick(market: p.market, potentialUSDk: p.potentialUSDk, untappedUSDk: p.untappedUSDk)
            case .held:
                let gate = model.markets[UInt8(m)].requiredCertification(for: f.industry)
                return MarketPick(
                    market: p.market, potentialUSDk: p.potentialUSDk, untappedUSDk: p.untappedUSDk, gate: gate,
                    gateHeld: true)
            case .missing(let c):
                return MarketPick(
                    market: p.market, potentialUSDk: p.potentialUSDk, untappedUSDk: p.untappedUSDk, gate: c,
                    gateHeld: false)
            }
        }
    }
}

/// A firm on the new-export-source track with its best markets.
public struct NewExportSource: Sendable, Equatable {
    public var firm: BusinessNumber
    public var readiness: Int
    public var procurementExcellent: Bool
    public var homeShoppingBestseller: Bool
    public var markets: [MarketPick]

    public init(
        firm: BusinessNumber, readiness: Int, procurementExcellent: Bool, homeShoppingBestseller: Bool,
        markets: [MarketPick]
    ) {
        self.firm = firm
        self.readiness = readiness
        self.procurementExcellent = procurementExcellent
        self.homeShoppingBestseller = homeShoppingBestseller
        self.markets = markets
    }
}

/// Private selection (contracts matched by the cumulative offer process with the emerging-market
/// reserve), consortia, channels and the new-export-source track for one ecosystem
/// (docs/MATCHING.md).
public struct EcosystemEngine: Sendable {
    public let model: PotentialModel
    public var configuration: ProgramConfiguration { model.configuration }

    public init(markets: MarketTable, configuration: ProgramConfiguration) {
        model = PotentialModel(markets: markets, configuration: configuration)
    }

    public func preferences(_ input: EcosystemInput) -> EcosystemPreferences {
        EcosystemPreferences(input, model: model, quotaPermille: configuration.emergingQuotaPermille)
    }

    /// The lists the configured rule runs on: computed lists cut to `preference_list_length`
    /// when it is set (own lists are never cut).
    public func lists(_ prefs: EcosystemPreferences) -> ContractProblem {
        let k = configuration.preferenceListLength
        return k > 0 ? prefs.problem.cut(to: k, keep: { prefs.ownList[$0] }) : prefs.problem
    }

    /// The quota's trade-off on the same lists: no quota, the soft reserve, the hard reserve; and
    /// the outcome of the configured rule among them.
    public func solveVariants(_ p: ContractProblem) -> (variants: [MatchingVariant], configured: MatchingOutcome) {
        let off = CumulativeOffers.solve(p.withoutReserves, rule: .soft)
        let quota = configuration.emergingQuotaPermille > 0
        let soft = quota ? CumulativeOffers.solve(p, rule: .soft) : off
        let hard = quota ? CumulativeOffers.solve(p, rule: .hard) : off
        let variants = [(MatchingVariant.Rule.no_quota, off), (.soft, soft), (.hard, hard)].map { rule, o in
            Self.variant(rule, o, p)
        }
        return (variants, configuration.emergingReserve == .hard ? hard : soft)
    }

    static func variant(_ rule: MatchingVariant.Rule, _ o: MatchingOutcome, _ p: ContractProblem) -> MatchingVariant {
        var counts: [Int] = []
        var matched = 0
        var emerging = 0
        for f in 0..<p.firmCount where o.matchedContract[f] >= 0 {
            let position = o.matchedContract[f] - p.listStart[f]
            if position >= counts.count { counts += [Int](repeating: 0, count: position + 1 - counts.count) }
            counts[position] += 1
            matched += 1
            if p.contracts[o.matchedContract[f]].emerging { emerging += 1 }
        }
        return MatchingVariant(
            rule: rule, seats: p.capacities.reduce(0, +), matched: matched, emergingMatched: emerging,
            choiceCounts: counts)
    }

    public func run(_ input: EcosystemInput) -> EcosystemResult {
        let prefs = preferences(input)
        let p = lists(prefs)
        let (variants, outcome) = solveVariants(p)
        var emptyWithoutCap: Int?
        if configuration.preferenceListLength > 0 {
            let whole = CumulativeOffers.solve(prefs.problem, rule: configuration.emergingReserve)
            emptyWithoutCap = p.capacities.reduce(0, +) - whole.held.reduce(0) { $0 + $1.count }
        }
        let markets = model.markets

        var matches: [Match] = []
        var unmatched: [PoolCandidate] = []
        var matchedDesk = [Int](repeating: -1, count: prefs.firms.count)
        for f in 0..<prefs.firms.count {
            let x = outcome.matchedContract[f]
            guard x >= 0 else {
                unmatched.append(prefs.firms[f])
                continue
            }
            let c = p.contracts[x]
            let d = Int(c.desk)
            matchedDesk[f] = d
            matches.append(
                Match(
                    firm: prefs.firms[f].firm.id, company: prefs.desks[d].company.id, industry: input.industry,
                    targetMarket: c.market, emerging: c.emerging, firmChoice: x - p.listStart[f] + 1,
                    deskRank: Int(c.deskRank) + 1))
        }
        let emergingHeld = outcome.emergingHeld(in: p)
        let desks = prefs.desks.enumerated().map { d, desk in
            DeskReport(
                company: desk.company.id, industry: input.industry, capacity: desk.capacity, reserved: p.reserves[d],
                matched: outcome.held[d].count, emergingMatched: emergingHeld[d], applicants: outcome.applicants[d],
                emergingApplicants: outcome.emergingApplicants[d], ownRanking: prefs.ownRanking[d])
        }

        let (consortia, unplaced) = ConsortiumBuilder(configuration: configuration, markets: markets).build(
            industry: input.industry, firms: unmatched, leaders: input.leaders,
            institutions: input.institutions.sorted { $0.id < $1.id }, model: model)

        var channels: [ChannelRecommendation] = []
        for (f, c) in prefs.firms.enumerated() {
            let company = matchedDesk[f] >= 0 ? prefs.desks[matchedDesk[f]].company : nil
            channels += Self.channels(
                c.firm, company: company,
                potential: prefs.potential[(f * prefs.marketCount)..<((f + 1) * prefs.marketCount)],
                markets: markets)
        }

        var scratch: [Double] = []
        let sources = input.newExportSources.filter { $0.firm.industry == input.industry }
            .sorted { $0.firm.id < $1.firm.id }
            .map { c in
                NewExportSource(
                    firm: c.firm.id, readiness: c.readiness, procurementExcellent: c.firm.procurementExcellent,
                    homeShoppingBestseller: c.firm.homeShoppingBestseller,
                    markets: MarketPick.untapped(c.firm, k: configuration.topMarkets, model: model, scratch: &scratch))
            }

        return EcosystemResult(
            industry: input.industry, poolFirms: prefs.firms.count, matches: matches, desks: desks,
            consortia: consortia,
            unplaced: unplaced, channels: channels, newExportSources: sources,
            firmsWithApplications: prefs.firmsWithApplications, desksWithRankings: prefs.desksWithRankings,
            contracts: p.contracts.count, offers: outcome.offers, variants: variants,
            emptySeatsWithoutCap: emptyWithoutCap,
            consortiumLeaders: unmatched.filter { Leaders.isEligible($0.firm) }.count
                + Set(input.leaders.filter { Leaders.isEligible($0.firm) }.map(\.firm.id))
                .subtracting(prefs.firms.map(\.firm.id)).count)
    }

    /// Open-market channels for one pool firm (docs/MATCHING.md, "Channels"): each open market the
    /// matched company sells through and that serves a market the company covers (the firm's best
    /// such market by potential), else that serves a market the firm already exports to (its
    /// largest such market); a firm left with none opens its own storefront on the open market
    /// serving its best market by potential. The malls' excellent-SME stores are national
    /// (`ExcellentStore`).
    public static func channels(
        _ firm: Firm, company: TradingCompany?, potential: ArraySlice<Int64>, markets: MarketTable
    ) -> [ChannelRecommendation] {
        var out: [ChannelRecommendation] = []
        let base = potential.startIndex
        for ch in Channel.openMarkets {
            if let c = company, c.channels & ch.bit != 0 {
                var best: UInt8?
                for m in c.markets where Int(m) < markets.count && ch.serves(markets[m]) {
                    if best == nil || potential[base + Int(m)] > potential[base + Int(best!)] { best = m }
                }
                if let best {
                    out.append(ChannelRecommendation(firm: firm.id, channel: ch, route: .MATCHED_COMPANY, market: best))
                    continue
                }
            }
            var own: MarketExport?
            for e in firm.exportMarkets
            where e.usdK > 0 && Int(e.market) < markets.count && ch.serves(markets[e.market]) {
                if own == nil || e.usdK > own!.usdK { own = e }
            }
            if let own {
                out.append(ChannelRecommendation(firm: firm.id, channel: ch, route: .OWN_PRESENCE, market: own.market))
            }
        }
        if out.isEmpty {
            var best: (market: Int, channel: Channel)?
            for m in 0..<min(markets.count, potential.count) {
                guard let ch = Channel.openMarkets.first(where: { $0.serves(markets[UInt8(m)]) }) else { continue }
                if best == nil || potential[base + m] > potential[base + best!.market] { best = (m, ch) }
            }
            if let best {
                out.append(
                    ChannelRecommendation(
                        firm: firm.id, channel: best.channel, route: .NEW_STOREFRONT, market: UInt8(best.market)))
            }
        }
        return out
    }
}

/// The excellent-SME stores of the domestic cross-border malls (GLOBAL_11ST, GLOBAL_LOTTE): each
/// admits up to `places` consumer-industry pool firms, the best-rated first. National, since the
/// four consumer industries are ecosystems of their own.
public enum ExcellentStore {
    public static let malls: [Channel] = [.GLOBAL_11ST, .GLOBAL_LOTTE]

    /// Consumer-industry pool firms in order of readiness (higher first), then business number;
    /// the first 2 x `places` are admitted, alternately to GLOBAL_11ST and GLOBAL_LOTTE, so each
    /// store holds at most `places` and no firm is in both. Sorted by firm.
    public static func admit(_ pool: [PoolCandidate], places: Int) -> [ChannelRecommendation] {
        let ranked = pool.filter { $0.firm.industry.isConsumer }
            .sorted { ($0.readiness, $1.firm.id) > ($1.readiness, $0.firm.id) }
        return ranked.prefix(places * malls.count).enumerated()
            .map { i, c in
                ChannelRecommendation(
                    firm: c.firm.id, channel: malls[i % malls.count], route: .CROSS_BORDER_MALL, market: nil)
            }
            .sorted { $0.firm < $1.firm }
    }
}
