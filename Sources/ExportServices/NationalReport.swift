import ExportData
import ExportDomain

/// The national report of a run: every stage's results merged, in a fixed order, as values.
/// `ReportFiles` renders it; the same input and configuration give the same value whatever
/// the number of workers, their failures or the chunking (every list is sorted by ids, every
/// figure is an integer sum of chunk results).
public struct NationalReport: Sendable {
    public let runID: String
    public let tables: RunTables
    public let input: RunInputReport
    public let national: ChunkResult
    public let ecosystems: [EcosystemResult]

    /// One summary per office (empty for an office without firms), in office order.
    public let regions: [RegionSummary]
    /// The last period with an export record anywhere (-1: none): the period monitoring reached.
    public let periodReached: Int
    public let attainment: [Attainment]
    public let matches: [Match]
    public let desks: [DeskReport]
    public let consortia: [Consortium]
    public let unplaced: [UnplacedFirm]
    public let newExportSources: [NewExportSource]
    /// Places in the malls' excellent-SME stores (`ExcellentStore`), by firm.
    public let storeAdmissions: [ChannelRecommendation]
    public let channelCounts: [Int]
    public let routeCounts: [Int]
    /// The quota's trade-off nationally: every ecosystem's column for each rule, added up.
    public let variants: [MatchingVariant]
    /// The firms the program supports (matched firms and consortium members), in id order.
    public let supportedFirms: [BusinessNumber]
    /// The supported firms followed against comparable unsupported firms, at `periodReached`.
    public let followUp: SupportedFollowUp
    /// The three mid-sized groups' tailored tracks.
    public let midsizeTracks: MidsizeTracks

    /// Throws `RunError` when a supported firm is not among the national candidates, or its
    /// figures are not part of its office's (the stages' results do not belong together).
    public init(
        runID: String, tables: RunTables, input: RunInputReport, national: ChunkResult, ecosystems: [EcosystemResult]
    ) throws {
        self.runID = runID
        self.tables = tables
        self.input = input
        self.national = national
        self.ecosystems = ecosystems
        regions = Office.allCases.map { o in national.summaries.first { $0.region == o } ?? RegionSummary(region: o) }
        var reached = -1
        for p in 0..<ProgramConfiguration.periods where regions.contains(where: { $0.periodExportingFirms[p] > 0 }) {
            reached = p
        }
        periodReached = reached
        let year = tables.configuration.programYear
        attainment = regions.map { s in
            Attainment(s, target: tables.targets.first { $0.region == s.region && $0.year == year }, period: reached)
        }
        matches = ecosystems.flatMap(\.matches).sorted { $0.firm < $1.firm }
        desks = ecosystems.flatMap(\.desks).sorted { ($0.company, $0.industry.index) < ($1.company, $1.industry.index) }
        consortia = ecosystems.flatMap(\.consortia).sorted { $0.id < $1.id }
        unplaced = ecosystems.flatMap(\.unplaced).sorted { $0.firm < $1.firm }
        var sources: [BusinessNumber: NewExportSource] = [:]
        for e in ecosystems { for s in e.newExportSources { sources[s.firm] = s } }
        newExportSources = national.newExportSources.compactMap { sources[$0.firm.id] }
        storeAdmissions = ExcellentStore.admit(national.pool, places: tables.configuration.excellentStorePlaces)
        var cc = [Int](repeating: 0, count: Channel.allCases.count)
        var rc = [Int](repeating: 0, count: ChannelRecommendation.Route.allCases.count)
        for c in ecosystems.flatMap(\.channels) + storeAdmissions {
            cc[Channel.allCases.firstIndex(of: c.channel)!] += 1
            rc[ChannelRecommendation.Route.allCases.firstIndex(of: c.route)!] += 1
        }
        channelCounts = cc
        routeCounts = rc
        variants = MatchingVariant.national(ecosystems)
        supportedFirms = SupportedFollowUp.supportedIDs(matches: matches, consortia: consortia)
        let (found, missing) = SupportedFollowUp.candidates(
            supportedFirms, among: national.candidateLists)
        if let first = missing.first {
            throw RunError(
                "\(missing.count) supported firms are not among the national candidates (the first: \(first))")
        }
        guard
            let f = SupportedFollowUp(
                periodReached: reached, all: SupportedFollowUp.cells(of: regions),
                supported: SupportedFollowUp.cells(of: found))
        else { throw RunError("the supported firms' figures are not part of their offices' figures") }
        followUp = f
        midsizeTracks = MidsizeTracks(
            entries: national.midsize, pool: national.pool, leaders: national.leaders, ecosystems: ecosystems,
            companies: tables.companies, markets: tables.markets, configuration: tables.configuration)
    }

    /// Pool firms without any recommended channel (the storefront route leaves none).
    public var poolFirmsWithoutChannel: Int {
        let reached = Set(ecosystems.flatMap(\.channels).map(\.firm) + storeAdmissions.map(\.firm))
        return national.pool.filter { !reached.contains($0.firm.id) }.count
    }

    /// Pool firms with and without a government R&D success, and how many of each were matched.
    public var rndMatching: (rnd: Int, rndMatched: Int, other: Int, otherMatched: Int) {
        let matched = Set(matches.map(\.firm))
        var out = (rnd: 0, rndMatched: 0, other: 0, otherMatched: 0)
        for c in national.pool {
            let m = matched.contains(c.firm.id) ? 1 : 0
            if c.firm.rndSuccess {
                out.rnd += 1
                out.rndMatched += m
            } else {
                out.other += 1
                out.otherMatched += m
            }
        }
        return out
    }

    /// Pool firms in a consortium (leaders from outside the pool are not pool firms).
    public var consortiumPoolMembers: Int { consortia.reduce(0) { $0 + $1.poolMembers.count } }
    /// Pool firms matched or in a consortium.
    public var poolServed: Int { matchedCount + consortiumPoolMembers }
    public var consortiaLedFromOutside: Int { consortia.filter(\.leaderFromOutside).count }
    public func targetsEmerging(_ k: Consortium) -> Bool { tables.markets[k.targetMarket].emerging }
    public var emergingConsortia: Int { consortia.filter(targetsEmerging).count }

    /// One industry's consortia at a glance.
    public struct IndustryConsortia: Sendable {
        public var industry: Industry
        public var unmatched: Int
        public var leaders: Int
        public var consortia: Int
        public var poolMembers: Int
        public var ledFromOutside: Int
        public var emerging: Int
        public var unplaced: Int
    }

    /// Per industry, in `Industry` order.
    public var consortiaByIndustry: [IndustryConsortia] {
        ecosystems.map { e in
            IndustryConsortia(
                industry: e.industry, unmatched: e.poolFirms - e.matches.count, leaders: e.consortiumLeaders,
                consortia: e.consortia.count, poolMembers: e.consortia.reduce(0) { $0 + $1.poolMembers.count },
                ledFromOutside: e.consortia.filter(\.leaderFromOutside).count,
                emerging: e.consortia.filter(targetsEmerging).count, unplaced: e.unplaced.count)
        }
    }

    public var seats: Int { desks.reduce(0) { $0 + $1.capacity } }
    public var reservedSeats: Int { desks.reduce(0) { $0 + $1.reserved } }
    public var contracts: Int { ecosystems.reduce(0) { $0 + $1.contracts } }
    public var offers: Int { ecosystems.reduce(0) { $0 + $1.offers } }
    public var firmsWithOwnLists: Int { ecosystems.reduce(0) { $0 + $1.firmsWithApplications } }
    public var desksWithOwnRankings: Int { ecosystems.reduce(0) { $0 + $1.desksWithRankings } }
    /// With `preference_list_length` set: the seats the configured rule leaves empty on uncut lists.
    public var emptySeatsWithoutCap: Int? {
        configuration.preferenceListLength > 0 ? ecosystems.reduce(0) { $0 + ($1.emptySeatsWithoutCap ?? 0) } : nil
    }

    /// Desks whose reserve is not all emerging contracts, per reason, in reason order.
    public var unfilledReserves: [(reason: DeskReport.UnfilledReason, desks: Int)] {
        DeskReport.UnfilledReason.allCases.map { r in (r, desks.filter { $0.unfilledReason == r }.count) }
    }

    /// The trade-off column of the configured rule.
    public var configuredVariant: MatchingVariant? {
        variants.first { $0.rule == (configuration.emergingReserve == .hard ? .hard : .soft) }
    }

    public var matchedCount: Int { matches.count }
    public var emergingMatches: Int { matches.filter(\.emerging).count }
    public var configuration: ProgramConfiguration { tables.configuration }

    public var totalFirms: Int64 { regions.reduce(0) { $0 + $1.firms } }
    public var exportingFirms: Int64 { regions.reduce(0) { $0 + $1.exportingFirms } }
    /// Last year's exports (firms.csv).
    public var exportUSDk: Int64 { regions.reduce(0) { $0 + $1.exportUSDk } }
    /// The program year's monitored exports through `periodReached` (export records).
    public var exportsToDate: Int64 { attainment.reduce(0) { $0 + $1.exportsToDate } }
    /// Distinct firms with an export record this year through `periodReached`.
    public var exportingFirmsToDate: Int64 { attainment.reduce(0) { $0 + $1.exportingFirmsToDate } }
    /// The year's exports projected to its end at the pace so far (`projectedToYearEnd`).
    public var projectedExportUSDk: Int64? { projectedToYearEnd(exportsToDate, periodReached: periodReached) }
    public var midsizeGroups: [Int64] {
        (0..<MidsizeGroup.allCases.count).map { i in regions.reduce(0) { $0 + $1.midsizeGroups[i] } }
    }
    public var tiers: [Int64] {
        (0..<ExportTier.allCases.count).map { i in regions.reduce(0) { $0 + $1.tiers[i] } }
    }

    /// Matches per bloc of their target market, in `Bloc` order.
    public var matchesByBloc: [Int] {
        var out = [Int](repeating: 0, count: Bloc.allCases.count)
        for m in matches { out[Bloc.allCases.firstIndex(of: tables.markets[m.targetMarket].bloc)!] += 1 }
        return out
    }

    public func marketCode(_ m: UInt8) -> String { tables.markets[m].code }

    /// Target figures of an office for the program year.
    public func target(_ o: Office) -> RegionalTarget? {
        tables.targets.first { $0.region == o && $0.year == configuration.programYear }
    }
}
