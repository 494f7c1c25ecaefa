/// One match of a pool firm to a trading company's desk.
public struct Match: Sendable, Equatable {
    public var firm: BusinessNumber
    public var company: String
    public var industry: Industry
    public var targetMarket: UInt8
    public var emerging: Bool
    /// Position of the desk on the firm's list (1 = first choice).
    public var firmChoice: Int
    /// Position of the firm in the desk's order among its applicants' pairs (1 = best).
    public var deskRank: Int

    public init(
        firm: BusinessNumber, company: String, industry: Industry, targetMarket: UInt8, emerging: Bool,
        firmChoice: Int, deskRank: Int
    ) {
        self.firm = firm
        self.company = company
        self.industry = industry
        self.targetMarket = targetMarket
        self.emerging = emerging
        self.firmChoice = firmChoice
        self.deskRank = deskRank
    }
}

/// A desk's outcome.
public struct DeskReport: Sendable, Equatable {
    public var company: String
    public var industry: Industry
    public var capacity: Int
    /// Seats reserved for emerging-market pairs: ceil(q x capacity).
    public var reserved: Int
    public var matched: Int
    public var emergingMatched: Int
    /// Firms that applied (proposed) and were acceptable, and how many of those pairs were
    /// emerging-market pairs.
    public var applicants: Int
    public var emergingApplicants: Int

    /// The reserve stayed unfilled; under the choice rule that happens only when fewer
    /// emerging-market applicants than reserved seats ever applied.
    public var reserveUnfilled: Bool { emergingMatched < reserved }

    public init(
        company: String, industry: Industry, capacity: Int, reserved: Int, matched: Int, emergingMatched: Int,
        applicants: Int, emergingApplicants: Int
    ) {
        self.company = company
        self.industry = industry
        self.capacity = capacity
        self.reserved = reserved
        self.matched = matched
        self.emergingMatched = emergingMatched
        self.applicants = applicants
        self.emergingApplicants = emergingApplicants
    }
}

/// An online channel recommended to a pool firm, with the route that opens it.
public struct ChannelRecommendation: Sendable, Equatable {
    public enum Route: String, DomainCode {
        /// An open market the matched company sells through, in a market it covers.
        case MATCHED_COMPANY
        /// An open market serving a market the firm already exports to.
        case OWN_PRESENCE
        /// A domestic cross-border mall (consumer industries).
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

/// A market with the firm's potential and untapped potential there (USD k).
public struct MarketPick: Sendable, Equatable {
    public var market: UInt8
    public var potentialUSDk: Int64
    public var untappedUSDk: Int64

    public init(market: UInt8, potentialUSDk: Int64, untappedUSDk: Int64) {
        self.market = market
        self.potentialUSDk = potentialUSDk
        self.untappedUSDk = untappedUSDk
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

/// What one per-ecosystem job computes. Every list is sorted by its ids, so the same input in
/// any order gives the same value (and the same bytes).
public struct EcosystemResult: Sendable, Equatable {
    public var industry: Industry
    public var poolFirms: Int
    /// By firm id.
    public var matches: [Match]
    /// By company id.
    public var desks: [DeskReport]
    /// By consortium id (leader id order).
    public var consortia: [Consortium]
    /// By firm id.
    public var unplaced: [UnplacedFirm]
    /// By firm id, then channel order.
    public var channels: [ChannelRecommendation]
    /// By firm id.
    public var newExportSources: [NewExportSource]
    public var firmsWithApplications: Int
    public var desksWithRankings: Int

    public init(
        industry: Industry, poolFirms: Int, matches: [Match], desks: [DeskReport], consortia: [Consortium],
        unplaced: [UnplacedFirm], channels: [ChannelRecommendation], newExportSources: [NewExportSource],
        firmsWithApplications: Int, desksWithRankings: Int
    ) {
        self.industry = industry
        self.poolFirms = poolFirms
        self.matches = matches
        self.desks = desks
        self.consortia = consortia
        self.unplaced = unplaced
        self.channels = channels
        self.newExportSources = newExportSources
        self.firmsWithApplications = firmsWithApplications
        self.desksWithRankings = desksWithRankings
    }
}

/// Matching with reserves, consortia, channels and the new-export-source track for one
/// ecosystem (DOMAIN.md sections 6 to 8; docs/MATCHING.md).
public struct EcosystemEngine: Sendable {
    public let model: PotentialModel
    public var configuration: ProgramConfiguration { model.configuration }

    public init(markets: MarketTable, configuration: ProgramConfiguration) {
        model = PotentialModel(markets: markets, configuration: configuration)
    }

    public func preferences(_ input: EcosystemInput) -> EcosystemPreferences {
        EcosystemPreferences(
            input, model: model, quotaPermille: configuration.emergingQuotaPermille,
            listLength: configuration.preferenceListLength)
    }

    public func run(_ input: EcosystemInput) -> EcosystemResult {
        let prefs = preferences(input)
        let p = prefs.problem
        let outcome = DeferredAcceptance.solve(p)
        let markets = model.markets

        var matches: [Match] = []
        var unmatched: [PoolCandidate] = []
        var matchedDesk = [Int](repeating: -1, count: prefs.firms.count)
        var matchedTarget = [UInt8](repeating: 0, count: prefs.firms.count)
        var emergingMatched = [Int](repeating: 0, count: p.deskCount)
        for f in 0..<prefs.firms.count {
            let pi = outcome.matchedPair[f]
            guard pi >= 0 else {
                unmatched.append(prefs.firms[f])
                continue
            }
            let pair = p.pairs[pi]
            let d = Int(pair.desk)
            matchedDesk[f] = d
            matchedTarget[f] = prefs.targets[pi]
            if pair.emerging { emergingMatched[d] += 1 }
            matches.append(
                Match(
                    firm: prefs.firms[f].firm.id, company: prefs.desks[d].company.id, industry: input.industry,
                    targetMarket: prefs.targets[pi], emerging: pair.emerging, firmChoice: pi - p.listStart[f] + 1,
                    deskRank: Int(pair.deskRank) + 1))
        }
        let desks = prefs.desks.enumerated().map { d, desk in
            DeskReport(
                company: desk.company.id, industry: input.industry, capacity: desk.capacity, reserved: p.reserves[d],
                matched: outcome.held[d].count, emergingMatched: emergingMatched[d], applicants: outcome.applicants[d],
                emergingApplicants: outcome.emergingApplicants[d])
        }

        let (consortia, unplaced) = ConsortiumBuilder(configuration: configuration, markets: markets).build(
            industry: input.industry, firms: unmatched,
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
                    markets: model.topMarkets(c.firm, k: configuration.topMarkets, scratch: &scratch).map {
                        MarketPick(market: $0.market, potentialUSDk: $0.potentialUSDk, untappedUSDk: $0.untappedUSDk)
                    })
            }

        return EcosystemResult(
            industry: input.industry, poolFirms: prefs.firms.count, matches: matches, desks: desks,
            consortia: consortia,
            unplaced: unplaced, channels: channels, newExportSources: sources,
            firmsWithApplications: prefs.firmsWithApplications, desksWithRankings: prefs.desksWithRankings)
    }

    /// Channels for one pool firm (DOMAIN.md section 8): each open market the matched company
    /// sells through and that serves a market the company covers (the firm's best such market
    /// by potential), else that serves a market the firm already exports to (its largest such
    /// market); and the cross-border malls for consumer industries.
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
        if firm.industry.isConsumer {
            for ch in [Channel.GLOBAL_11ST, .GLOBAL_LOTTE] {
                out.append(ChannelRecommendation(firm: firm.id, channel: ch, route: .CROSS_BORDER_MALL, market: nil))
            }
        }
        return out
    }
}
