/// What one per-ecosystem job works on: the pool firms of one industry, the desks of that
/// industry, its institutions, and the operators' own preference files where they exist.
public struct EcosystemInput: Sendable, Equatable {
    public var industry: Industry
    /// Pool firms of this industry (any order).
    public var firms: [PoolCandidate]
    /// Firms of this industry on the new-export-source track (any order).
    public var newExportSources: [PoolCandidate]
    /// Companies with a desk in this industry (any order; other desks are ignored).
    public var companies: [TradingCompany]
    /// Institutions serving this industry and every support institution (they serve offices), any order.
    public var institutions: [Institution]
    /// `applications.csv` rows of these firms (any order).
    public var applications: [Application]
    /// `desk_rankings.csv` rows of this industry's desks (any order).
    public var deskRankings: [DeskRanking]
    /// Firms of this industry outside the pool able to lead a consortium (`Leaders`), any order.
    public var leaders: [PoolCandidate]

    public init(
        industry: Industry, firms: [PoolCandidate], newExportSources: [PoolCandidate] = [],
        companies: [TradingCompany], institutions: [Institution] = [], applications: [Application] = [],
        deskRankings: [DeskRanking] = [], leaders: [PoolCandidate] = []
    ) {
        self.leaders = leaders
        self.industry = industry
        self.firms = firms
        self.newExportSources = newExportSources
        self.companies = companies
        self.institutions = institutions
        self.applications = applications
        self.deskRankings = deskRankings
    }
}

/// Both sides' preferences over the contracts of one ecosystem, in the index form the
/// cumulative offer process runs on (docs/MATCHING.md, "Preferences").
///
/// - A firm's own list (`applications.csv`) is its contracts in rank order; a row without a
///   market stands for the firm's best market among those the company covers. Otherwise the
///   firm's list is computed: for every desk, the contract for its best covered market and, when
///   different, for its best covered emerging market, ranked by value = the company's success
///   rate x the firm's potential in that market, ties by company id then market. Contracts of
///   value 0 are not acceptable. No cap: `ContractProblem.cut` applies `preference_list_length`.
/// - A desk with rows in `desk_rankings.csv` orders contracts by its rank of the firm, then the
///   firm's own order; firms it does not rank are unacceptable to it. Any other desk orders them
///   by the firm's potential in the contract's market x its selection readiness, higher first,
///   ties by firm id, then the firm's own order. The selection readiness is the readiness, plus
///   `rnd_selection_band` points for a firm with a government R&D success (R&D priority in
///   selection: it goes ahead of firms up to that much readier in the same market).
/// - Reserved slots: `EmergingReserve.allocate`, from capacities and market coverage only.
public struct EcosystemPreferences: Sendable {
    /// Firms in id order.
    public let firms: [PoolCandidate]
    /// (company, desk) of this industry, in company id order.
    public let desks: [(company: TradingCompany, capacity: Int)]
    /// Uncapped lists with the configured reserves.
    public let problem: ContractProblem
    /// Per firm: its list is its own (`applications.csv`).
    public let ownList: [Bool]
    /// Per desk: its order is its own (`desk_rankings.csv`).
    public let ownRanking: [Bool]
    /// Per desk: it covers at least one emerging market.
    public let coversEmerging: [Bool]
    /// Potentials of every firm in every market, in whole USD (so that small firms' modest
    /// markets still count): `potential[f * marketCount + m]`.
    public let potential: [Int64]
    public let marketCount: Int

    public var firmsWithApplications: Int { ownList.reduce(0) { $0 + ($1 ? 1 : 0) } }
    public var desksWithRankings: Int { ownRanking.reduce(0) { $0 + ($1 ? 1 : 0) } }

    public init(_ input: EcosystemInput, model: PotentialModel, quotaPermille: Int) {
        let markets = model.markets
        let nm = markets.count
        let firms = input.firms.filter { $0.firm.industry == input.industry }.sorted { $0.firm.id < $1.firm.id }
        let desks = input.companies.sorted { $0.id < $1.id }.compactMap {
            c -> (company: TradingCompany, capacity: Int)? in
            guard let d = c.desks.first(where: { $0.industry == input.industry }) else { return nil }
            return (c, d.capacity)
        }
        self.firms = firms
        self.desks = desks
        marketCount = nm

        var potential = [Int64](repeating: 0, count: firms.count * nm)
        var scratch: [Double] = []
        for (f, c) in firms.enumerated() {
            model.potentials(c.firm, into: &scratch)
            for m in 0..<nm { potential[f * nm + m] = Int64((scratch[m] * 1_000).rounded()) }
        }
        self.potential = potential

        let covered = desks.map { d in
            d.company.markets.isEmpty ? (0..<UInt8(nm)).map { $0 } : d.company.markets.filter { Int($0) < nm }
        }
        let coveredEmerging = covered.map { $0.filter { markets[$0].emerging } }
        coversEmerging = coveredEmerging.map { !$0.isEmpty }
        var deskIndex: [String: Int] = [:]
        for (i, d) in desks.enumerated() { deskIndex[d.company.id] = i }
        var firmIndex: [BusinessNumber: Int] = [:]
        for (i, c) in firms.enumerated() { firmIndex[c.firm.id] = i }
        let lists = Self.firmLists(
            input, firms: firms, desks: desks, firmIndex: firmIndex, deskIndex: deskIndex, covered: covered,
            coveredEmerging: coveredEmerging, potential: potential, markets: markets)
        ownList = lists.own
        let (ranked, ownRanking) = Self.deskOrders(
            input, desks: desks.count, firmIndex: firmIndex, deskIndex: deskIndex)
        self.ownRanking = ownRanking

        let band = Int64(model.configuration.rndSelectionBand) * 100  // readiness is in hundredths
        let selection = firms.map { Int64($0.readiness) + ($0.firm.rndSuccess ? band : 0) }
        // Each desk's order over the contracts that reach it: (key, firm, position in its list).
        var byDesk = [[(key: Int64, firm: Int32, slot: Int32, contract: Int)]](repeating: [], count: desks.count)
        var contracts: [[ContractProblem.Contract]] = []
        contracts.reserveCapacity(firms.count)
        for (f, l) in lists.lists.enumerated() {
            var out: [ContractProblem.Contract] = []
            for (desk, market) in l {
                let key: Int64
                if ownRanking[desk] {
                    guard let r = ranked[desk][f] else { continue }
                    key = Int64(r)
                } else {
                    key = -potential[f * nm + Int(market)] * selection[f]
                }
                byDesk[desk].append((key, Int32(f), Int32(out.count), contracts.count << 20 | out.count))
                out.append(
                    ContractProblem.Contract(
                        desk: Int32(desk), market: market, emerging: markets[market].emerging, deskRank: 0))
            }
            contracts.append(out)
        }
        for d in byDesk.indices {
            byDesk[d].sort { ($0.key, $0.firm, $0.slot) < ($1.key, $1.firm, $1.slot) }
            for (r, e) in byDesk[d].enumerated() {
                contracts[e.contract >> 20][e.contract & 0xFFFFF].deskRank = Int32(r)
            }
        }
        let caps = desks.map(\.capacity)
        problem = ContractProblem(
            capacities: caps,
            reserves: EmergingReserve.allocate(
                capacities: caps, coversEmerging: coversEmerging, quotaPermille: quotaPermille),
            lists: contracts)
    }

    /// The firm's best market among `candidates` by potential (ties: market table order).
    static func best(_ candidates: [UInt8], firm f: Int, potential: [Int64], markets nm: Int) -> UInt8? {
        var best: UInt8?
        for m in candidates where best == nil || potential[f * nm + Int(m)] > potential[f * nm + Int(best!)] {
            best = m
        }
        return best
    }

    /// Every firm's list of (desk, market), best first, and whether it is the firm's own.
    static func firmLists(
        _ input: EcosystemInput, firms: [PoolCandidate], desks: [(company: TradingCompany, capacity: Int)],
        firmIndex: [BusinessNumber: Int], deskIndex: [String: Int], covered: [[UInt8]], coveredEmerging: [[UInt8]],
        potential: [Int64], markets: MarketTable
    ) -> (lists: [[(desk: Int, market: UInt8)]], own: [Bool]) {
        let nm = markets.count
        var applied = [[Application]](repeating: [], count: firms.count)
        var own = [Bool](repeating: false, count: firms.count)
        for a in input.applications {
            guard let f = firmIndex[a.firm] else { continue }
            own[f] = true
            if deskIndex[a.company] != nil { applied[f].append(a) }
        }

        var lists: [[(desk: Int, market: UInt8)]] = []
        lists.reserveCapacity(firms.count)
        var valued: [(value: Int64, desk: Int, market: UInt8)] = []
        for f in 0..<firms.count {
            if own[f] {
                // Rank order; a contract named twice (a row without a market resolving to one
                // named explicitly) counts once, at its better rank; markets the company does
                // not cover are not contracts.
                var l: [(desk: Int, market: UInt8)] = []
                for a in applied[f].sorted(by: { $0.rank < $1.rank }) {
                    let d = deskIndex[a.company]!
                    guard let m = a.targetMarket ?? best(covered[d], firm: f, potential: potential, markets: nm),
                        covered[d].contains(m), !l.contains(where: { $0.desk == d && $0.market == m })
                    else { continue }
                    l.append((d, m))
                }
                lists.append(l)
                continue
            }
            valued.removeAll(keepingCapacity: true)
            for d in desks.indices {
                let rate = Int64(desks[d].company.successRatePermille)
                guard let top = best(covered[d], firm: f, potential: potential, markets: nm) else { continue }
                if rate * potential[f * nm + Int(top)] > 0 {
                    valued.append((rate * potential[f * nm + Int(top)], d, top))
                }
                if let e = best(coveredEmerging[d], firm: f, potential: potential, markets: nm), e != top,
                    rate * potential[f * nm + Int(e)] > 0
                {
                    valued.append((rate * potential[f * nm + Int(e)], d, e))
                }
            }
            valued.sort { ($0.value, -$0.desk, -Int($0.market)) > ($1.value, -$1.desk, -Int($1.market)) }
            lists.append(valued.map { ($0.desk, $0.market) })
        }
        return (lists, own)
    }

    /// Per desk: its rank of each firm (by firm index) when it has a ranking of its own.
    static func deskOrders(
        _ input: EcosystemInput, desks: Int, firmIndex: [BusinessNumber: Int], deskIndex: [String: Int]
    ) -> (ranks: [[Int: Int]], own: [Bool]) {
        var ranks = [[Int: Int]](repeating: [:], count: desks)
        var own = [Bool](repeating: false, count: desks)
        for r in input.deskRankings where r.industry == input.industry {
            guard let d = deskIndex[r.company] else { continue }
            // The desk has a ranking of its own even when none of its firms made the pool.
            own[d] = true
            if let f = firmIndex[r.firm] { ranks[d][f] = r.rank }
        }
        return (ranks, own)
    }
}
