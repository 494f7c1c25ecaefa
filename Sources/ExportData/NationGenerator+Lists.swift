import ExportDomain

#if canImport(Glibc)
    import Glibc
#endif

/// The private lists of the synthetic nation: `desk_rankings.csv` (desks ranking the pool firms
/// of their industry by their own taste) and `applications.csv` (pool firms' own lists of
/// contracts). Both are drawn after the pool is known: the pool is published, then firms apply
/// and desks rank. Every share and distribution here is in docs/DATASETS.md.
extension NationGenerator {
    /// Share of desks that send a ranking of their own.
    static let rankingDeskShare = 0.8
    /// Share of pool firms that send a list of their own.
    static let applyingFirmShare = 0.65
    /// Share of applying firms that name companies only ("my best market among yours").
    static let implicitListShare = 0.15
    /// With dirty data, a desk's list is broken (once) with this many times the dirty share, at
    /// most one half.
    static let brokenDeskListsPerDirtyShare = 10.0
    /// Market codes people write that are not in the table: alpha-3 codes, the UK, the EU.
    static let wrongMarketCodes = ["UK", "EU", "KO", "VNM", "CHN", "USA", "JPN", "IDN"]

    /// What the lists need of one pool firm.
    struct ListFirm {
        var id: String
        var industry: Int
        /// Points, 0 to 100.
        var readiness: Double
        var exportUSDk: Int64
        var sizeClass: SizeClass
        var rndSuccess: Bool
        var patents: Int
        /// Markets it exports to.
        var sells: [UInt8]
        /// Export potential per market (USD k), and their sum.
        var potential: [Double]
        var totalPotential: Double
    }

    /// A row as written: its line, its rank and, when broken on its own, (column, kind).
    typealias WrittenRow = (line: Int, rank: Int, broken: (column: String, kind: String)?)

    /// One row of a list as it will be written, with the rejection it is meant to get.
    struct ListRow {
        var fields: [String]
        var rank: Int
        /// (column, kind) when the row is broken on purpose on its own.
        var broken: (column: String, kind: String)?
    }

    func generateLists(
        _ dir: String, pool: [PoolCandidate], companies: [GeneratedCompany], _ markets: MarketTable,
        _ rng: inout SeededRandom, _ s: inout Summary, _ expected: inout [Expected]
    ) throws(FileProblem) {
        let model = PotentialModel(markets: markets, configuration: configuration)
        var scratch: [Double] = []
        // Pool firms in id order (files are written in that order).
        let firms = pool.sorted { $0.firm.id < $1.firm.id }.map { c -> ListFirm in
            model.potentials(c.firm, into: &scratch)
            return ListFirm(
                id: "\(c.firm.id)", industry: c.firm.industry.index, readiness: Double(c.readiness) / 100,
                exportUSDk: c.firm.exportUSDk, sizeClass: c.firm.sizeClass, rndSuccess: c.firm.rndSuccess,
                patents: c.firm.patents ?? 0, sells: c.firm.exportMarkets.map(\.market), potential: scratch,
                totalPotential: scratch.reduce(0, +))
        }
        s.poolFirms = firms.count
        // Firms only know the companies the program published: those whose rows are valid.
        let known = companies.filter(\.accepted)
        s.desks = known.reduce(0) { $0 + $1.desks.count }
        try generateDeskRankings(dir, firms, known, markets, &rng, &s, &expected)
        try generateApplications(dir, firms, known, markets, &rng, &s, &expected)
    }

    // MARK: - desk_rankings.csv

    private func generateDeskRankings(
        _ dir: String, _ firms: [ListFirm], _ companies: [GeneratedCompany], _ markets: MarketTable,
        _ rng: inout SeededRandom, _ s: inout Summary, _ expected: inout [Expected]
    ) throws(FileProblem) {
        let file = DatasetFile.deskRankings.rawValue
        let w = try CSVWriter(path: dir + "/" + file)
        try w.row(["company_id", "industry", "firm_id", "rank"])
        var byIndustry = [[Int]](repeating: [], count: Industry.allCases.count)
        for (i, f) in firms.enumerated() { byIndustry[f.industry].append(i) }
        // How much the industry's pool firms differ in (log) readiness: a desk's misjudgement
        // is a share of that, so desks agree about as much in a pool of close firms as in a
        // spread-out one.
        let readinessDispersion = byIndustry.map { ids in
            Self.meanAndDeviation(ids.map { log(max(firms[$0].readiness, 0.01)) })
        }
        var line = 1
        var scores: [(score: Double, firm: Int)] = []
        var focus: [Double] = []
        var lean: [Double] = []
        for c in companies {
            for desk in c.desks {
                guard rng.chance(Self.rankingDeskShare) else { continue }
                // This desk's taste: how well it judges readiness, how much it weighs its own
                // markets and its leaning, how erratic it is, and how many firms it refuses.
                let misjudgement = 0.3 + 0.5 * rng.unit()
                let focusWeight = 0.2 + 0.6 * rng.unit()
                let leaning = rng.below(4)  // none, experienced exporters, small firms, R&D
                let leaningWeight = 0.2 + 0.5 * rng.unit()
                let noise = 0.2 + 0.3 * rng.unit()
                let dropShare = 0.10 + 0.25 * rng.unit()
                let candidates = byIndustry[desk.industry.index]
                focus.removeAll(keepingCapacity: true)
                lean.removeAll(keepingCapacity: true)
                for i in candidates {
                    let f = firms[i]
                    // Market focus: the share of the firm's potential in the markets it covers.
                    var covered = 0.0
                    if c.markets.isEmpty {
                        covered = f.totalPotential
                    } else {
                        for m in c.markets { covered += f.potential[Int(m)] }
                    }
                    focus.append(f.totalPotential > 0 ? covered / f.totalPotential : 0)
                    switch leaning {
                    case 1: lean.append(min(1, log10(1 + Double(f.exportUSDk)) / log10(5_001)))
                    case 2: lean.append(f.sizeClass == .SMALL ? 1 : f.sizeClass == .MEDIUM ? 0.4 : 0)
                    case 3: lean.append(f.rndSuccess ? 1 : 0.6 * Double(min(f.patents, 20)) / 20)
                    default: lean.append(0)
                    }
                }
                // Each part in standard units over the desk's candidates, then weighed.
                let (rMean, rDev) = readinessDispersion[desk.industry.index]
                let (fMean, fDev) = Self.meanAndDeviation(focus)
                let (lMean, lDev) = Self.meanAndDeviation(lean)
                scores.removeAll(keepingCapacity: true)
                for (k, i) in candidates.enumerated() {
                    // Its view of the firm's readiness: readiness x lognormal noise.
                    let view = max(firms[i].readiness, 0.01) * exp(misjudgement * rDev * Self.normal(&rng))
                    let score =
                        (log(view) - rMean) / rDev + focusWeight * (focus[k] - fMean) / fDev
                        + leaningWeight * (lean[k] - lMean) / lDev + noise * Self.normal(&rng)
                    scores.append((score, i))
                }
                // Best first; ties by firm id (firms are in id order).
                scores.sort { $0.score != $1.score ? $0.score > $1.score : $0.firm < $1.firm }
                let keep = scores.count - Int(Double(scores.count) * dropShare)
                guard keep > 0 else { continue }
                s.rankingDesks += 1
                var rows = scores.prefix(keep).enumerated().map { r, e in
                    ListRow(fields: [c.id, desk.industry.rawValue, firms[e.firm].id, "\(r + 1)"], rank: r + 1)
                }
                // Dirty: a desk's list is one spreadsheet, where one bad row stops the list (every
                // later rank is rejected), so lists rather than rows are broken: at most once each.
                var copies = Set<Int>()
                if dirtyShare > 0 && rng.chance(min(0.5, Self.brokenDeskListsPerDirtyShare * dirtyShare)) {
                    let r = rng.below(rows.count)
                    switch rng.below(4) {
                    case 0:
                        rows[r].fields[2] = "\(Self.businessNumber(self.firms + 20_000_000 + rng.below(1_000_000)))"
                        rows[r].broken = ("firm_id", "unknown firm")
                    case 1:
                        let others = firms.indices.filter { firms[$0].industry != desk.industry.index }
                        if others.isEmpty {
                            rows[r].fields[2] = "\(Self.businessNumber(self.firms + 20_000_000 + rng.below(1_000_000)))"
                            rows[r].broken = ("firm_id", "unknown firm")
                        } else {
                            rows[r].fields[2] = firms[others[rng.below(others.count)]].id
                            rows[r].broken = ("firm_id", "firm of another industry")
                        }
                    case 2:
                        copies.insert(r)
                    default:
                        // A skipped rank: this firm and every later one move down.
                        Self.skipRank(&rows, from: r, field: 3)
                    }
                }
                let written = try write(rows, repeating: copies, as: ("firm_id", "duplicate firm"), w, line: &line)
                s.deskRankingRows += written.count
                Self.expectRanks(written, file: file, into: &expected)
            }
        }
        try w.flush()
    }

    // MARK: - applications.csv

    private func generateApplications(
        _ dir: String, _ firms: [ListFirm], _ companies: [GeneratedCompany], _ markets: MarketTable,
        _ rng: inout SeededRandom, _ s: inout Summary, _ expected: inout [Expected]
    ) throws(FileProblem) {
        let file = DatasetFile.applications.rawValue
        let w = try CSVWriter(path: dir + "/" + file)
        try w.row(["firm_id", "company_id", "rank", "target_market"])
        var withDesk = [[Int]](repeating: [], count: Industry.allCases.count)
        for (i, c) in companies.enumerated() { for d in c.desks { withDesk[d.industry.index].append(i) } }
        let everyMarket = (0..<markets.count).map { UInt8($0) }
        var line = 1
        for f in firms {
            guard rng.chance(Self.applyingFirmShare) else { continue }
            let candidates = withDesk[f.industry]
            guard !candidates.isEmpty else { continue }
            // The companies this firm knows: 2 to 6, drawn without replacement with weights
            // (covering a market it already sells to, a better success rate) and noise
            // (exponential keys: the smallest k are a weighted sample).
            let want = min(2 + rng.below(5), candidates.count)
            var keys: [(key: Double, company: Int)] = []
            for ci in candidates {
                let c = companies[ci]
                let sellsThere = f.sells.contains { c.markets.isEmpty || c.markets.contains($0) }
                let weight = (sellsThere ? 3.0 : 1.0) * (0.3 + Double(c.successPermille) / 1000)
                keys.append((-log(max(rng.unit(), 1e-12)) / weight, ci))
            }
            keys.sort { $0.key != $1.key ? $0.key < $1.key : $0.company < $1.company }
            let chosen = keys.prefix(want).map(\.company).sorted()
            let implicit = rng.chance(Self.implicitListShare)

            // Its contracts and its own utility for each.
            var contracts: [(utility: Double, company: Int, market: UInt8?)] = []
            for ci in chosen {
                let c = companies[ci]
                let covered = c.markets.isEmpty ? everyMarket : c.markets
                var best = covered[0]
                for m in covered where f.potential[Int(m)] > f.potential[Int(best)] { best = m }
                func utility(_ m: UInt8) -> Double {
                    f.potential[Int(m)] * Double(c.successPermille) / 1000 * (f.sells.contains(m) ? 1.5 : 1)
                        * exp(0.4 * Self.normal(&rng))
                }
                if implicit {
                    contracts.append((utility(best), ci, nil))
                    continue
                }
                // Interests: where it already sells (its largest such market), an emerging market
                // of high potential (at least a fifth of its best here); else its best market here.
                var interests: [UInt8] = []
                if let sold = f.sells.filter({ covered.contains($0) }).max(by: {
                    f.potential[Int($0)] < f.potential[Int($1)]
                }) {
                    interests.append(sold)
                }
                var emerging: UInt8?
                for m in covered where markets[m].emerging {
                    if emerging == nil || f.potential[Int(m)] > f.potential[Int(emerging!)] { emerging = m }
                }
                if let e = emerging, f.potential[Int(e)] >= 0.2 * f.potential[Int(best)], !interests.contains(e) {
                    interests.append(e)
                }
                if interests.isEmpty { interests.append(best) }
                if interests.count == 1 && interests[0] != best && rng.chance(0.35) { interests.append(best) }
                for m in interests.prefix(2) { contracts.append((utility(m), ci, m)) }
            }
            contracts.sort {
                $0.utility != $1.utility
                    ? $0.utility > $1.utility : ($0.company, $0.market ?? 0) < ($1.company, $1.market ?? 0)
            }
            s.applyingFirms += 1

            var rows = contracts.enumerated().map { r, k in
                ListRow(
                    fields: [f.id, companies[k.company].id, "\(r + 1)", k.market.map { markets[$0].code } ?? ""],
                    rank: r + 1)
            }
            // Dirty: each row on its own, in one of five ways.
            var copies = Set<Int>()
            if dirtyShare > 0 {
                for r in rows.indices where rng.chance(dirtyShare) {
                    let c = companies[contracts[r].company]
                    var kind = rng.below(5)
                    let uncovered = everyMarket.filter { !c.markets.isEmpty && !c.markets.contains($0) }
                    if kind == 1 && uncovered.isEmpty { kind = 2 }
                    switch kind {
                    case 0:
                        rows[r].fields[1] = "TC\(1000 + self.companies + rng.below(9000))"
                        rows[r].broken = ("company_id", "unknown company")
                    case 1:
                        rows[r].fields[3] = markets[uncovered[rng.below(uncovered.count)]].code
                        rows[r].broken = ("target_market", "market the company does not cover")
                    case 2:
                        rows[r].fields[3] = Self.wrongMarketCodes[rng.below(Self.wrongMarketCodes.count)]
                        rows[r].broken = ("target_market", "unknown market")
                    case 3:
                        // Sent twice; only a row that is itself fine is repeated.
                        if rows[r].broken == nil { copies.insert(r) }
                    default:
                        // A skipped rank: this contract and every later one move down.
                        Self.skipRank(&rows, from: r, field: 2)
                    }
                }
            }
            let written = try write(rows, repeating: copies, as: ("company_id", "duplicate contract"), w, line: &line)
            s.applicationRows += written.count
            Self.expectRanks(written, file: file, into: &expected)
        }
        try w.flush()
    }

    // MARK: - Helpers

    /// Mean and standard deviation (a tiny one when the values are all equal).
    static func meanAndDeviation(_ v: [Double]) -> (Double, Double) {
        guard !v.isEmpty else { return (0, 1) }
        let mean = v.reduce(0, +) / Double(v.count)
        let variance = v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(v.count)
        return (mean, max(variance.squareRoot(), 1e-9))
    }

    /// Rank `r` is skipped: that row and every later one move down one rank (the rank is in
    /// `fields[field]`).
    static func skipRank(_ rows: inout [ListRow], from r: Int, field: Int) {
        for k in r..<rows.count {
            rows[k].rank += 1
            rows[k].fields[field] = "\(rows[k].rank)"
        }
    }

    /// Writes a list's rows, each of `repeating` twice (the copy rejected as `duplicate`), counting
    /// lines; returns what was written for the manifest.
    private func write(
        _ rows: [ListRow], repeating: Set<Int>, as duplicate: (column: String, kind: String), _ w: CSVWriter,
        line: inout Int
    ) throws(FileProblem) -> [WrittenRow] {
        var written: [WrittenRow] = []
        for (k, row) in rows.enumerated() {
            line += 1
            try write(row, w)
            written.append((line, row.rank, row.broken))
            if repeating.contains(k) {
                line += 1
                try write(row, w)
                written.append((line, row.rank, duplicate))
            }
        }
        return written
    }

    private func write(_ row: ListRow, _ w: CSVWriter) throws(FileProblem) {
        for v in row.fields { w.field(v) }
        try w.endRow()
    }

    /// The rejections validation gives one list: a row broken on its own is rejected for that;
    /// the others must be ranked 1, 2, 3, ... (earliest line first for a rank), and from the
    /// first missing rank on, every row is rejected, as is a rank that repeats.
    static func expectRanks(
        _ rows: [WrittenRow], file: String,
        into expected: inout [Expected]
    ) {
        var ranked: [(rank: Int, line: Int)] = []
        for r in rows {
            if let b = r.broken {
                expected.append(Expected(file: file, line: r.line, column: b.column, kind: b.kind))
            } else {
                ranked.append((r.rank, r.line))
            }
        }
        ranked.sort { ($0.rank, $0.line) < ($1.rank, $1.line) }
        var next = 1
        var gap = false
        for r in ranked {
            if !gap && r.rank == next {
                next += 1
                continue
            }
            if r.rank > next { gap = true }
            let kind = r.rank < next ? "duplicate rank" : "rank after a missing rank"
            expected.append(Expected(file: file, line: r.line, column: "rank", kind: kind))
        }
    }
}
