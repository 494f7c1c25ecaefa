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
    /// Institutions serving this industry (any order).
    public var institutions: [Institution]
    /// `applications.csv` rows of these firms (any order).
    public var applications: [Application]
    /// `desk_rankings.csv` rows of this industry's desks (any order).
    public var deskRankings: [DeskRanking]

    public init(
        industry: Industry, firms: [PoolCandidate], newExportSources: [PoolCandidate] = [],
        companies: [TradingCompany], institutions: [Institution] = [], applications: [Application] = [],
        deskRankings: [DeskRanking] = []
    ) {
        self.industry = industry
        self.firms = firms
        self.newExportSources = newExportSources
        self.companies = companies
        self.institutions = institutions
        self.applications = applications
        self.deskRankings = deskRankings
    }
}

/// Both sides' preferences for one ecosystem, in the index form deferred acceptance runs on.
///
/// - A firm ranks the desks of its industry by **fit**: the company's success rate (permille)
///   times the firm's potential summed over the markets the company covers (whole USD per
///   market); it keeps its best K (`preference_list_length`), ties by company id. A desk of fit
///   0 is not acceptable.
/// - The **target market** of a pair is the firm's market of highest potential among those the
///   company covers (ties by market table order); for a company covering no market, the firm's
///   best market overall.
/// - A desk ranks firms by its **own evaluation**: the firm's potential in the pair's target
///   market times its readiness (hundredths), higher first, ties by firm id.
/// - A firm in `applications.csv` ranks exactly the companies it listed, in its order; a desk in
///   `desk_rankings.csv` accepts exactly the firms it listed, in its order. A pair absent from a
///   list that replaces a side's ranking is unacceptable to that side.
public struct EcosystemPreferences: Sendable {
    /// Firms in id order.
    public let firms: [PoolCandidate]
    /// (company, desk) of this industry, in company id order.
    public let desks: [(company: TradingCompany, capacity: Int)]
    public let problem: MatchingProblem
    /// Per pair in `problem.pairs`: its target market.
    public let targets: [UInt8]
    /// Firms whose list came from `applications.csv`, desks whose from `desk_rankings.csv`.
    public let firmsWithApplications: Int
    public let desksWithRankings: Int
    /// Potentials of every firm in every market, in whole USD (so that small firms' modest
    /// markets still count): `potential[f * markets + m]`.
    public let potential: [Int64]
    public let marketCount: Int

    public init(_ input: EcosystemInput, model: PotentialModel, quotaPermille: Int, listLength k: Int) {
        let markets = model.markets
        let nm = markets.count
        let firms = input.firms.filter { $0.firm.industry == input.industry }.sorted { $0.firm.id < $1.firm.id }
        let desks = input.companies.sorted { $0.id < $1.id }.compactMap { c -> (TradingCompany, Int)? in
            guard let d = c.desks.first(where: { $0.industry == input.industry }) else { return nil }
            return (c, d.capacity)
        }
        self.firms = firms
        self.desks = desks.map { (company: $0.0, capacity: $0.1) }
        marketCount = nm

        var potential = [Int64](repeating: 0, count: firms.count * nm)
        var scratch: [Double] = []
        for (f, c) in firms.enumerated() {
            model.potentials(c.firm, into: &scratch)
            for m in 0..<nm { potential[f * nm + m] = Int64((scratch[m] * 1_000).rounded()) }
        }
        self.potential = potential

        var deskIndex: [String: Int] = [:]
        for (i, d) in desks.enumerated() { deskIndex[d.0.id] = i }
        var firmIndex: [BusinessNumber: Int] = [:]
        for (i, c) in firms.enumerated() { firmIndex[c.firm.id] = i }

        func target(_ f: Int, _ d: Int) -> UInt8 {
            let covered = desks[d].0.markets
            var best = -1
            for m in covered.isEmpty ? Array(0..<UInt8(nm)) : covered where Int(m) < nm {
                if best < 0 || potential[f * nm + Int(m)] > potential[f * nm + best] { best = Int(m) }
            }
            return UInt8(max(best, 0))
        }

        // Operators' lists.
        var applied: [Int: [(rank: Int, desk: Int)]] = [:]
        for a in input.applications {
            guard let f = firmIndex[a.firm], let d = deskIndex[a.company] else { continue }
            applied[f, default: []].append((a.rank, d))
        }
        var deskListed: [Int: [Int: Int]] = [:]  // desk -> firm -> rank
        for r in input.deskRankings where r.industry == input.industry {
            guard let d = deskIndex[r.company] else { continue }
            // The desk has a list of its own even when none of its firms made the pool.
            if deskListed[d] == nil { deskListed[d] = [:] }
            if let f = firmIndex[r.firm] { deskListed[d]![f] = r.rank }
        }
        firmsWithApplications = applied.count
        desksWithRankings = deskListed.count

        // Firm lists: (desk, target).
        var lists: [[(desk: Int, target: UInt8)]] = []
        lists.reserveCapacity(firms.count)
        var fits: [(fit: Int64, desk: Int)] = []
        for f in 0..<firms.count {
            if let own = applied[f] {
                lists.append(own.sorted { $0.rank < $1.rank }.map { ($0.desk, target(f, $0.desk)) })
                continue
            }
            fits.removeAll(keepingCapacity: true)
            for (d, desk) in desks.enumerated() {
                var sum: Int64 = 0
                for m in desk.0.markets where Int(m) < nm { sum += potential[f * nm + Int(m)] }
                let fit = sum * Int64(desk.0.successRatePermille)
                if fit > 0 { fits.append((fit, d)) }
            }
            // Desks are in company id order, so a stable sort by fit breaks ties by id.
            fits.sort { $0.fit > $1.fit || ($0.fit == $1.fit && $0.desk < $1.desk) }
            lists.append(fits.prefix(k == 0 ? Int.max : k).map { ($0.desk, target(f, $0.desk)) })
        }

        // Desk ranks over the pairs that reach them: (key, firm, position in the firm's list).
        var byDesk = [[(key: Int64, firm: Int, slot: Int)]](repeating: [], count: desks.count)
        for (f, l) in lists.enumerated() {
            for (j, (desk, t)) in l.enumerated() {
                if let own = deskListed[desk] {
                    guard let r = own[f] else { continue }
                    byDesk[desk].append((Int64(r), f, j))
                } else {
                    // Higher evaluation first (negated); ties by firm index, which is id order.
                    let eval = potential[f * nm + Int(t)] * Int64(firms[f].readiness)
                    byDesk[desk].append((-eval, f, j))
                }
            }
        }
        var rank = lists.map { [Int32](repeating: -1, count: $0.count) }
        for d in byDesk.indices {
            byDesk[d].sort { $0.key < $1.key || ($0.key == $1.key && $0.firm < $1.firm) }
            for (r, e) in byDesk[d].enumerated() { rank[e.firm][e.slot] = Int32(r) }
        }

        var pairLists: [[MatchingProblem.Pair]] = []
        var targets: [UInt8] = []
        for (f, l) in lists.enumerated() {
            var out: [MatchingProblem.Pair] = []
            for (j, (desk, t)) in l.enumerated() where rank[f][j] >= 0 {
                out.append(MatchingProblem.Pair(desk: Int32(desk), deskRank: rank[f][j], emerging: markets[t].emerging))
                targets.append(t)
            }
            pairLists.append(out)
        }
        self.targets = targets
        let caps = desks.map(\.1)
        problem = MatchingProblem(
            capacities: caps,
            reserves: caps.map { MatchingProblem.reserve(capacity: $0, quotaPermille: quotaPermille) },
            lists: pairLists)
    }
}
