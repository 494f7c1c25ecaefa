/// One match: a pool firm's contract with a trading company's desk.
public struct Match: Sendable, Equatable {
    public var firm: BusinessNumber
    public var company: String
    public var industry: Industry
    /// The contract's market.
    public var targetMarket: UInt8
    public var emerging: Bool
    /// Position of the contract on the firm's list (1 = first choice).
    public var firmChoice: Int
    /// Position of the contract in the desk's order over every contract it could receive (1 = best).
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
    /// Why a desk's reserved slots do not all hold emerging-market contracts.
    public enum UnfilledReason: String, DomainCode {
        /// No firm offered the desk any contract.
        case no_applicants
        /// Fewer firms offered it an emerging-market contract than it has reserved slots.
        case too_few_emerging_offers
        /// Enough emerging offers arrived and still a reserved slot went without one: the
        /// process guarantees this never happens; the report would show it rather than hide it.
        case unexplained
    }

    public var company: String
    public var industry: Industry
    public var capacity: Int
    /// Reserved slots: the desk's share of the ecosystem's emerging-market reserve.
    public var reserved: Int
    public var matched: Int
    public var emergingMatched: Int
    /// Firms that offered the desk a contract, and those that offered it an emerging-market one.
    public var applicants: Int
    public var emergingApplicants: Int
    /// The desk ordered firms by its own ranking (`desk_rankings.csv`).
    public var ownRanking: Bool

    public var reserveUnfilled: Bool { emergingMatched < reserved }

    /// Nil when every reserved slot holds an emerging-market contract.
    public var unfilledReason: UnfilledReason? {
        guard reserveUnfilled else { return nil }
        if applicants == 0 { return .no_applicants }
        return emergingApplicants < reserved ? .too_few_emerging_offers : .unexplained
    }

    public init(
        company: String, industry: Industry, capacity: Int, reserved: Int, matched: Int, emergingMatched: Int,
        applicants: Int, emergingApplicants: Int, ownRanking: Bool
    ) {
        self.company = company
        self.industry = industry
        self.capacity = capacity
        self.reserved = reserved
        self.matched = matched
        self.emergingMatched = emergingMatched
        self.applicants = applicants
        self.emergingApplicants = emergingApplicants
        self.ownRanking = ownRanking
    }
}

/// The same lists matched under one reserve rule: one column of the quota's trade-off.
public struct MatchingVariant: Sendable, Equatable {
    /// The three rules the report sets side by side.
    public enum Rule: String, DomainCode {
        /// q = 0: no reserved slot.
        case no_quota
        /// The configured q, reserved slots soft.
        case soft
        /// The configured q, reserved slots hard.
        case hard
    }

    public var rule: Rule
    public var seats: Int
    public var matched: Int
    public var emergingMatched: Int
    /// `choiceCounts[i]`: matched firms whose contract is the (i + 1)-th on their list.
    public var choiceCounts: [Int]

    public var emptySeats: Int { seats - matched }

    public init(rule: Rule, seats: Int, matched: Int, emergingMatched: Int, choiceCounts: [Int]) {
        self.rule = rule
        self.seats = seats
        self.matched = matched
        self.emergingMatched = emergingMatched
        self.choiceCounts = choiceCounts
    }

    /// Twice the median choice position of the matched firms (an integer; nil with no match).
    public var doubledMedianChoice: Int? {
        guard matched > 0 else { return nil }
        func position(_ k: Int) -> Int {
            var seen = 0
            for (i, n) in choiceCounts.enumerated() {
                seen += n
                if seen > k { return i + 1 }
            }
            return choiceCounts.count
        }
        return position((matched - 1) / 2) + position(matched / 2)
    }

    /// The national trade-off: every ecosystem's column for each rule, added up.
    public static func national(_ results: [EcosystemResult]) -> [MatchingVariant] {
        var sum = results.first?.variants ?? []
        for r in results.dropFirst() where r.variants.count == sum.count {
            sum = zip(sum, r.variants).map { $0.adding($1) }
        }
        return sum
    }

    /// The sum of two ecosystems' columns for the same rule.
    public func adding(_ o: MatchingVariant) -> MatchingVariant {
        var counts = choiceCounts
        if o.choiceCounts.count > counts.count {
            counts += [Int](repeating: 0, count: o.choiceCounts.count - counts.count)
        }
        for (i, n) in o.choiceCounts.enumerated() { counts[i] += n }
        return MatchingVariant(
            rule: rule, seats: seats + o.seats, matched: matched + o.matched,
            emergingMatched: emergingMatched + o.emergingMatched, choiceCounts: counts)
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
    /// Contracts acceptable to both sides, and contracts offered under the configured rule.
    public var contracts: Int
    public var offers: Int
    /// The quota's trade-off: the same lists under no quota, the soft and the hard reserve.
    public var variants: [MatchingVariant]
    /// With `preference_list_length` set: the seats the configured rule leaves empty on uncut lists.
    public var emptySeatsWithoutCap: Int?
    /// Firms available to lead this industry's consortia: unmatched leader-eligible pool firms
    /// and the leaders from outside the pool the job was given.
    public var consortiumLeaders: Int

    public init(
        industry: Industry, poolFirms: Int, matches: [Match], desks: [DeskReport], consortia: [Consortium],
        unplaced: [UnplacedFirm], channels: [ChannelRecommendation], newExportSources: [NewExportSource],
        firmsWithApplications: Int, desksWithRankings: Int, contracts: Int = 0, offers: Int = 0,
        variants: [MatchingVariant] = [], emptySeatsWithoutCap: Int? = nil, consortiumLeaders: Int = 0
    ) {
        self.consortiumLeaders = consortiumLeaders
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
        self.contracts = contracts
        self.offers = offers
        self.variants = variants
        self.emptySeatsWithoutCap = emptySeatsWithoutCap
    }

    /// Seats of the ecosystem's desks.
    public var seats: Int { desks.reduce(0) { $0 + $1.capacity } }
}
