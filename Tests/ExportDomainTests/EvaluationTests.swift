import ExportDomain
import Foundation
import Testing

@Suite("Market potential and readiness: factors by hand")
struct FactorTests {
    /// Two markets with round numbers: A (500 km, FTA, LPI 4.00, growth 0, demand 300 for
    /// every industry) and B (500 x e km, no FTA, LPI 2.00, growth 100 permille, demand 100,
    /// Muslim-majority).
    static let table = MarketTable([
        Market(
            code: "AA", name: "A", bloc: .ASEAN, emerging: true, fta: true, distanceKm: 500, logisticsIndex: 400,
            importGrowthPermille: 0, muslimMajority: false, demand: Array(repeating: 300, count: 13)),
        Market(
            code: "BB", name: "B", bloc: .MENA, emerging: true, fta: false, distanceKm: Int((500 * M_E).rounded()),
            logisticsIndex: 200, importGrowthPermille: 100, muslimMajority: true,
            demand: Array(repeating: 100, count: 13)),
    ])

    func firm(
        industry: Industry = .MACHINERY, exports: Int64 = 1_000, revenue: Int64 = 11_600, certs: UInt16 = 0,
        markets: [MarketExport] = []
    ) -> Firm {
        Firm(
            id: BusinessNumber.completing(123_456_789), name: "x", region: .SEOUL, sizeClass: .SMALL,
            industry: industry,
            role: .COMPONENTS, revenueKRWm: revenue, exportUSDk: exports, exportPrevUSDk: 1_000, exportMarkets: markets,
            certifications: certs)
    }

    @Test func potentialIsSupplyTimesDemandTimesEase() {
        var c = ProgramConfiguration()
        c.fxKRWPerUSD = 1160
        let model = PotentialModel(markets: Self.table, configuration: c)
        // revenue 11,600 KRW m = 10,000 USD k; supply = 1,000 + 0.05 x 10,000 = 1,500.
        let f = firm()
        #expect(model.supply(f) == 1_500)
        var p: [Double] = []
        model.potentials(f, into: &p)
        // A: share 0.75, growth 1, distance 1, FTA 1.15, logistics 1, scale 3.
        #expect(abs(p[0] - 1_500 * 0.75 * 1 * 1 * 1.15 * 1 * 3) < 1e-6)
        // B: share 0.25, growth 1.1, distance 1/(1+1) = 0.5, no FTA, logistics 0.5.
        let distanceB = 1 / (1 + log(Double(Int((500 * M_E).rounded())) / 500))
        #expect(abs(p[1] - 1_500 * 0.25 * 1.1 * distanceB * 1 * 0.5 * 3) < 1e-6)
        // HALAL gates food in B: a quarter without it, full with it.
        let food = firm(industry: .FOOD_AGRI)
        model.potentials(food, into: &p)
        let gated = p[1]
        model.potentials(firm(industry: .FOOD_AGRI, certs: Certification.HALAL.bit), into: &p)
        #expect(abs(gated * 4 - p[1]) < 1e-6)
        // Presence multiplies by 1.5, and the explanation carries every factor.
        let present = firm(markets: [MarketExport(market: 1, usdK: 100)])
        let e = model.explain(present, market: 1)
        #expect(e.presence && e.actualUSDk == 100)
        #expect(e.potentialUSDk == Int64((1_500 * 0.25 * 1.1 * distanceB * 0.5 * 3 * 1.5).rounded()))
        #expect(e.untappedUSDk == max(0, e.potentialUSDk - 100))
        #expect(e.fta == 1 && abs(e.logistics - 0.5) < 1e-12 && abs(e.demandShare - 0.25) < 1e-12)
    }

    @Test func readinessComponentsOnFixedScales() {
        let c = ProgramConfiguration()
        var f = firm(exports: 0)
        f.exportPrevUSDk = 0
        f.debtRatioPct = nil
        f.revenueKRWm = 0
        let r0 = Readiness(f, untappedTop: 0, revenueKRWm: 0)
        // Nothing exported either year: growth 0.3 x 0.5; finance 0.5 x 0.7 (unknown debt).
        #expect(abs(r0.growth - 0.15) < 1e-12)
        #expect(r0.capability == 0 && r0.service == 0 && r0.innovation == 0)
        #expect(abs(r0.finance - 0.35) < 1e-12)
        let expected0: Double = (45.0 * 0.15 + 20.0 * 0.35) * 100
        #expect(r0.score == Int(expected0.rounded()))
        // Everything at full scale: 100 points.
        var top = firm(exports: 10_000, revenue: 1_000_000, certs: 0b111)
        top.exportPrevUSDk = 5_000
        top.exportMarkets = (0..<2).map { MarketExport(market: UInt8($0), usdK: 10) }
        top.onlineChannels = 0b11
        top.recommendedBy = 0b11
        top.employees = 1_000
        top.debtRatioPct = 50
        top.rndSuccess = true
        top.patents = 20
        let r1 = Readiness(top, untappedTop: 10_000, revenueKRWm: 1_000_000)
        // Two markets of five: capability 0.6 + 0.2 x 2/5 + 0.2.
        #expect(abs(r1.capability - (0.6 + 0.08 + 0.2)) < 1e-12)
        #expect(r1.growth == 1 && r1.service == 1 && r1.finance == 1 && r1.innovation == 1)
        // Services weigh service capability 25 instead of 15 and growth 35 instead of 45.
        var svc = top
        svc.industry = .ICT_SOFTWARE
        let r2 = Readiness(svc, untappedTop: 10_000, revenueKRWm: 1_000_000)
        #expect(r2.score == r1.score)  // full growth and service: the 10-point shift cancels
        // Full growth, no service capability: manufacturing weighs growth 45 (services 35) and
        // service 15 (services 25), so the manufacturer scores exactly 10 points more.
        var lean = top
        lean.onlineChannels = 0
        lean.recommendedBy = 0
        lean.employees = nil
        var leanService = lean
        leanService.industry = .CONTENT_CULTURE
        let m = Readiness(lean, untappedTop: 10_000, revenueKRWm: 1_000_000)
        let s = Readiness(leanService, untappedTop: 10_000, revenueKRWm: 1_000_000)
        #expect(m.service == 0 && m.growth == 1)
        #expect(m.score - s.score == 1_000)
        _ = c
    }

    @Test func growthAndDebtBands() {
        var f = firm(exports: 150)
        f.exportPrevUSDk = 100
        #expect(Readiness(f, untappedTop: 0, revenueKRWm: 0).growth == 0.5)  // +50%: growth 1.0, potential 0
        f.exportUSDk = 100
        #expect(abs(Readiness(f, untappedTop: 0, revenueKRWm: 0).growth - 0.3) < 1e-12)  // flat: 0.6
        f.exportUSDk = 79
        #expect(abs(Readiness(f, untappedTop: 0, revenueKRWm: 0).growth - 0.05) < 1e-12)  // fell more than 20%: 0.1
        for (debt, score) in [(0, 1.0), (100, 1.0), (101, 0.75), (300, 0.5), (400, 0.3), (401, 0.1)] {
            var g = firm()
            g.debtRatioPct = debt
            g.revenueKRWm = 0
            #expect(abs(Readiness(g, untappedTop: 0, revenueKRWm: 0).finance - 0.7 * score) < 1e-12, "debt \(debt)")
        }
    }

    @Test func tiersAndMidsizeGroupsAtTheirBoundaries() {
        #expect(
            [0, 99, 100, 999, 1_000, 4_999, 5_000].map { ExportTier(exportUSDk: $0) } == [
                .DOMESTIC, .DOMESTIC, .PROMISING, .PROMISING, .GROWTH, .GROWTH, .STRONG,
            ])
        let c = ProgramConfiguration()  // 1160 KRW/USD, 30%
        var f = firm()
        #expect(MidsizeGroup(f, configuration: c) == nil)
        f.sizeClass = .MIDSIZE
        f.revenueKRWm = 1_000_000
        f.exportUSDk = 0
        #expect(MidsizeGroup(f, configuration: c) == .LARGE)
        // Revenue 116,000 KRW m; 30% is 34,800 KRW m = exactly USD 30,000 k.
        f.revenueKRWm = 116_000
        f.exportUSDk = 30_000
        #expect(MidsizeGroup(f, configuration: c) == .EXPORT_ORIENTED)
        f.exportUSDk = 29_999
        #expect(MidsizeGroup(f, configuration: c) == .DOMESTIC_ORIENTED)
    }

    @Test func attainmentAndBehindPace() {
        var s = RegionSummary(region: .BUSAN)
        s.firstExportPeriod[0] = 10
        s.firstExportPeriod[3] = 3
        s.periodExportUSDk[0] = 1_000
        s.periodExportUSDk[3] = 301
        let t = RegionalTarget(region: .BUSAN, year: 2016, exportingFirms: 26 * 3, avgExportUSDk: 52)
        // Period 3 (four periods): pace needs 78 x 4 / 26 = 12 firms and an average of
        // 52 x 4 / 26 = 8 (13 firms x 8 = 104 <= 1,301).
        let a = Attainment(s, target: t, period: 3)
        #expect(a.exportingFirmsToDate == 13 && a.exportsToDate == 1_301)
        #expect(a.averageExportToDate == 100)  // 1301 / 13 = 100.08
        #expect(!a.behindPace && a.behindOn.isEmpty)
        // Period 5: 78 x 6 / 26 = 18 firms needed, 13 exported: behind on firms only.
        #expect(Attainment(s, target: t, period: 5).behindOn == [.exportingFirms])
        // A target average of 2,600: at period 3 the pace is 400 per firm, 100 reached; firms on pace.
        let rich = RegionalTarget(region: .BUSAN, year: 2016, exportingFirms: 26 * 3, avgExportUSDk: 2_600)
        #expect(Attainment(s, target: rich, period: 3).behindOn == [.averageExport])
        #expect(Attainment(s, target: rich, period: 5).behindOn == [.exportingFirms, .averageExport])
        // Exactly on the average's pace is on pace: 1,301 x 26 = 13 x A x 4 has no integer A, so
        // check the boundary with a region of its own: 2 firms, 8 to date, A = 52, period 3.
        var edge = RegionSummary(region: .BUSAN)
        edge.firstExportPeriod[0] = 2
        edge.periodExportUSDk[0] = 16
        let small = RegionalTarget(region: .BUSAN, year: 2016, exportingFirms: 13, avgExportUSDk: 52)
        #expect(Attainment(edge, target: small, period: 3).behindOn == [])  // 16 x 26 = 2 x 52 x 4
        edge.periodExportUSDk[0] = 15
        #expect(Attainment(edge, target: small, period: 3).behindOn == [.averageExport])
        // No target: never behind; before any record: no average and nothing behind.
        #expect(!Attainment(s, target: nil, period: 5).behindPace)
        #expect(Attainment(RegionSummary(region: .BUSAN), target: t, period: -1).averageExportToDate == nil)
        #expect(Attainment(RegionSummary(region: .BUSAN), target: t, period: -1).behindOn == [])
    }

}

@Suite("Evaluation properties on seeded random nations")
struct EvaluationPropertyTests {
    func config(pool: Int) -> ProgramConfiguration {
        var c = ProgramConfiguration()
        c.poolSize = pool
        return c
    }

    @Test func projectionToTheYearsEndByHand() {
        #expect(projectedToYearEnd(100, periodReached: -1) == nil)
        #expect(projectedToYearEnd(100, periodReached: 0) == 2_600)  // one period of 26
        #expect(projectedToYearEnd(100, periodReached: 25) == 100)  // the whole year
        #expect(projectedToYearEnd(100, periodReached: 2) == 867)  // 2600 / 3 = 866.67
        #expect(projectedToYearEnd(1, periodReached: 3) == 7)  // 26 / 4 = 6.5, half up
        #expect(projectedToYearEnd(0, periodReached: 7) == 0)
        #expect(projectedToYearEnd(20_554_473, periodReached: 12) == 41_108_946)  // half a year, doubled
    }

    /// Attainment of random nations against random targets, each figure recounted straight from
    /// the firms' records and the pace judged in floating point away from its boundaries.
    @Test(arguments: [71 as UInt64, 72, 73, 74])
    func attainmentMatchesARecountFromTheRecords(seed: UInt64) {
        var nation = RandomNation(seed: seed)
        let firms = nation.firms(800)
        let records = nation.records(for: firms)
        let c = config(pool: 100)
        var outcomes = Set<[PaceTarget]>()
        for office in Office.allCases {
            let mine = firms.filter { $0.region == office }.sorted { $0.id < $1.id }
            var s = RegionSummary(region: office)
            for f in mine { s.add(f, records: ArraySlice(records.filter { $0.firm == f.id }), configuration: c) }
            let target = RegionalTarget(
                region: office, year: 2016, exportingFirms: 1 + nation.rng.below(60),
                avgExportUSDk: Int64(1 + nation.rng.below(4_000)))
            for p in [0, 3, 12, 25] {
                let a = Attainment(s, target: target, period: p)
                outcomes.insert(a.behindOn)
                let ids = Set(mine.map(\.id))
                let upTo = records.filter { ids.contains($0.firm) && $0.period <= p && $0.usdK > 0 }
                let firmsToDate = Set(upTo.map(\.firm)).count
                let exportsToDate = upTo.reduce(Int64(0)) { $0 + $1.usdK }
                #expect(a.exportingFirmsToDate == Int64(firmsToDate))
                #expect(a.exportsToDate == exportsToDate)
                let share = Double(p + 1) / 26
                let firmPace = Double(target.exportingFirms) * share
                if abs(Double(firmsToDate) - firmPace) > 1e-6 {
                    #expect(a.behindOn.contains(.exportingFirms) == (Double(firmsToDate) < firmPace), "\(office) \(p)")
                }
                if firmsToDate > 0 {
                    let average = Double(exportsToDate) / Double(firmsToDate)
                    let averagePace = Double(target.avgExportUSDk) * share
                    if abs(average - averagePace) > 1e-6 {
                        #expect(a.behindOn.contains(.averageExport) == (average < averagePace), "\(office) \(p)")
                    }
                } else {
                    #expect(!a.behindOn.contains(.averageExport))
                }
            }
        }
        // The instances reach every verdict.
        #expect(outcomes.count == 4, "\(outcomes)")
    }

    @Test(arguments: [1 as UInt64, 2, 3, 4, 5])
    func anyChunkingAndMergeOrderGivesTheSameBytes(seed: UInt64) {
        var nation = RandomNation(seed: seed)
        let firms = nation.firms(1_500)
        let records = nation.records(for: firms)
        let evaluator = Evaluator(markets: .builtin, configuration: config(pool: 300))
        let wholeResult = ChunkResult.merge([evaluator.evaluate(firms, records: records)], poolSize: 300)
        let whole = wholeResult.encoded()
        // The mid-sized firms' entries travel too: every one of them, by firm id, some with markets.
        #expect(wholeResult.midsize.map(\.firm) == firms.filter { $0.sizeClass == .MIDSIZE }.map(\.id).sorted())
        #expect(wholeResult.midsize.contains { !$0.markets.isEmpty })
        for chunks in [2, 7, 100] {
            let order = nation.shuffled(firms)
            var parts: [ChunkResult] = []
            let size = (order.count + chunks - 1) / chunks
            for start in stride(from: 0, to: order.count, by: size) {
                let part = Array(order[start..<min(start + size, order.count)])
                let ids = Set(part.map(\.id))
                parts.append(
                    evaluator.evaluate(part, records: nation.shuffled(records.filter { ids.contains($0.firm) })))
            }
            // Merged in a random order, and as a random tree of merges.
            let flat = ChunkResult.merge(nation.shuffled(parts), poolSize: 300).encoded()
            #expect(flat == whole, "\(chunks) chunks")
            var tree = nation.shuffled(parts)
            while tree.count > 1 {
                let i = nation.rng.below(tree.count - 1)
                let merged = ChunkResult.merge([tree[i], tree[i + 1]], poolSize: 300)
                tree.replaceSubrange(i...i + 1, with: [merged])
            }
            #expect(tree[0].encoded() == whole, "\(chunks) chunks, tree")
        }
    }

    @Test(arguments: [41 as UInt64, 42, 43])
    func summariesEqualFiguresCountedDirectly(seed: UInt64) {
        var nation = RandomNation(seed: seed)
        let firms = nation.firms(1_200)
        let records = nation.records(for: firms)
        let c = ProgramConfiguration()
        let merged = ChunkResult.merge(
            stride(from: 0, to: firms.count, by: 97).map { s in
                let part = Array(firms[s..<min(s + 97, firms.count)])
                let ids = Set(part.map(\.id))
                return Evaluator(markets: .builtin, configuration: c).evaluate(
                    part, records: records.filter { ids.contains($0.firm) })
            }, poolSize: 10)
        // Independently, region by region, from the rules of docs/EVALUATION.md written out again.
        for region in Office.allCases {
            let mine = firms.filter { $0.region == region }
            guard let s = merged.summaries.first(where: { $0.region == region }) else {
                #expect(mine.isEmpty)
                continue
            }
            let ids = Set(mine.map(\.id))
            let recs = records.filter { ids.contains($0.firm) && $0.usdK > 0 }
            #expect(s.firms == Int64(mine.count))
            #expect(s.exportingFirms == Int64(mine.filter { $0.exportUSDk > 0 }.count))
            #expect(s.exportUSDk == mine.reduce(0) { $0 + $1.exportUSDk })
            let bounds: [Int64] = [0, 100, 1_000, 5_000, .max]
            for t in 0..<4 {
                #expect(
                    s.tiers[t]
                        == Int64(mine.filter { $0.exportUSDk >= bounds[t] && $0.exportUSDk < bounds[t + 1] }.count))
            }
            let mid = mine.filter { $0.sizeClass == .MIDSIZE }
            let large = mid.filter { $0.revenueKRWm >= 1_000_000 }
            // Export ratio in exact rationals: exports x rate / (revenue x 1000) >= 0.3.
            let oriented = mid.filter {
                $0.revenueKRWm < 1_000_000 && $0.exportUSDk * 1160 * 10 >= 3 * $0.revenueKRWm * 1000
            }
            #expect(
                s.midsizeGroups == [
                    Int64(large.count), Int64(oriented.count), Int64(mid.count - large.count - oriented.count),
                ])
            for p in 0..<ProgramConfiguration.periods {
                let upTo = recs.filter { $0.period <= p }
                #expect(s.exportingFirmsToDate(through: p) == Int64(Set(upTo.map(\.firm)).count), "period \(p)")
                #expect(s.exportsToDate(through: p) == upTo.reduce(0) { $0 + $1.usdK })
                let at = recs.filter { $0.period == p }
                #expect(s.periodExportingFirms[p] == Int64(Set(at.map(\.firm)).count))
            }
        }
    }

    @Test(arguments: [11 as UInt64, 12, 13])
    func poolEqualsABruteForceSortOfEligibleFirms(seed: UInt64) {
        var nation = RandomNation(seed: seed)
        let firms = nation.firms(2_000)
        var c = config(pool: 250)
        c.rndPriorityFloor = 40
        let evaluator = Evaluator(markets: .builtin, configuration: c)
        let pool = ChunkResult.merge(
            (0..<4).map { k in
                evaluator.evaluate(Array(firms[(k * 500)..<((k + 1) * 500)]), records: [])
            }, poolSize: 250
        ).pool
        // Independently: eligibility and order written out again.
        var scratch: [Double] = []
        var keyed: [(priority: Bool, score: Int, id: UInt64)] = []
        for f in firms
        where f.exportUSDk < 5_000 && (f.recommendedBy != 0 || f.procurementExcellent || f.homeShoppingBestseller) {
            let score = evaluator.readiness(f, scratch: &scratch).score
            keyed.append((f.rndSuccess && score >= 4_000, score, f.id.value))
        }
        keyed.sort { a, b in
            if a.priority != b.priority { return a.priority }
            if a.score != b.score { return a.score > b.score }
            return a.id < b.id
        }
        let expected = keyed.prefix(250).map(\.id)
        #expect(pool.map(\.firm.id.value) == Array(expected))
        // The priority tier comes first, and priority means an R&D success at the floor.
        let firstOther = pool.firstIndex { !$0.priority } ?? pool.count
        #expect(pool[firstOther...].allSatisfy { !$0.priority })
        for cand in pool { #expect(cand.priority == (cand.firm.rndSuccess && cand.readiness >= 4_000)) }
    }

    /// The leaders any chunking merges to: every mid-sized firm and exporter of USD 1M or more,
    /// in or out of the pool, the first of each industry by exports (then id), as many as the
    /// pool could fill consortia of three.
    @Test(arguments: [61 as UInt64, 62, 63])
    func leadersEqualABruteForceSortOfEligibleFirms(seed: UInt64) {
        var nation = RandomNation(seed: seed)
        let firms = nation.firms(3_000)
        let poolSize = 90 + Int(seed % 3) * 60
        let evaluator = Evaluator(markets: .builtin, configuration: config(pool: poolSize))
        let parts = [0, 700, 1_900, 3_000]
        let leaders = ChunkResult.merge(
            (0..<3).map { k in evaluator.evaluate(Array(firms[parts[k]..<parts[k + 1]]), records: []) },
            poolSize: poolSize
        ).leaders
        let limit = (poolSize + 2) / 3
        var expected: [UInt64] = []
        for ind in Industry.allCases {
            let eligible = firms.filter { $0.industry == ind && ($0.sizeClass == .MIDSIZE || $0.exportUSDk >= 1_000) }
                .sorted { ($1.exportUSDk, $0.id.value) < ($0.exportUSDk, $1.id.value) }
            expected += eligible.prefix(limit).map(\.id.value)
        }
        #expect(leaders.map(\.firm.id.value) == expected)
        #expect(
            Industry.allCases.contains { ind in leaders.filter { $0.firm.industry == ind }.count == limit },
            "some industry must reach its limit in this test")
    }

    @Test func scoresStayInBoundsAndPotentialIsMonotoneInExports() {
        var nation = RandomNation(seed: 21)
        let model = PotentialModel(markets: .builtin, configuration: ProgramConfiguration())
        let evaluator = Evaluator(markets: .builtin, configuration: ProgramConfiguration())
        var a: [Double] = []
        var b: [Double] = []
        for i in 0..<3_000 {
            let f = nation.firm(i)
            let r = evaluator.readiness(f, scratch: &a)
            #expect((0...10_000).contains(r.score))
            for v in [r.growth, r.capability, r.service, r.finance, r.innovation] { #expect(v >= 0 && v <= 1) }
            // More exports to one market (and so in total) never lowers potential there.
            let m = UInt8(nation.rng.below(MarketTable.builtin.count))
            var g = f
            let extra = Int64(1 + nation.rng.below(1_000))
            g.exportUSDk += extra
            if let k = g.exportMarkets.firstIndex(where: { $0.market == m }) {
                g.exportMarkets[k].usdK += extra
            } else {
                g.exportMarkets.append(MarketExport(market: m, usdK: extra))
                g.exportMarkets.sort { $0.market < $1.market }
            }
            model.potentials(f, into: &a)
            model.potentials(g, into: &b)
            #expect(b[Int(m)] >= a[Int(m)])
        }
    }

    @Test(arguments: [61 as UInt64, 62, 63, 64])
    func mergingEncodedResultsEqualsMergingDecodedOnes(seed: UInt64) throws {
        var nation = RandomNation(seed: seed)
        let firms = nation.firms(600)
        let pool = 20 + nation.rng.below(200)
        let evaluator = Evaluator(markets: .builtin, configuration: config(pool: pool))
        var results: [ChunkResult] = []
        var start = 0
        while start < firms.count {
            let part = Array(firms[start..<min(firms.count, start + 1 + nation.rng.below(150))])
            results.append(evaluator.evaluate(part, records: nation.records(for: part)))
            start += part.count
        }
        let n = MarketTable.builtin.count
        let expected = ChunkResult.merge(results, poolSize: pool)
        #expect(try ChunkResult.mergeEncoded(results.map { $0.encoded() }, markets: n, poolSize: pool) == expected)
        // Any order of the payloads gives the same value.
        let shuffled = results.map { $0.encoded() }.shuffled(using: &nation.rng)
        #expect(try ChunkResult.mergeEncoded(shuffled, markets: n, poolSize: pool) == expected)
        // A corrupt payload is an error, not a crash.
        var bad = results[0].encoded()
        bad.removeLast()
        #expect(throws: DecodeError.self) { try ChunkResult.mergeEncoded([bad], markets: n, poolSize: pool) }
    }

    @Test func chunkResultsSurviveTheirBinaryForm() throws {
        var nation = RandomNation(seed: 31)
        let firms = nation.firms(400)
        let r = Evaluator(markets: .builtin, configuration: config(pool: 100)).evaluate(
            firms, records: nation.records(for: firms))
        let bytes = r.encoded()
        #expect(try ChunkResult.decode(bytes, markets: MarketTable.builtin.count) == r)
        #expect(r.midsize.contains { !$0.markets.isEmpty } && r.midsize.contains { $0.markets.isEmpty })
        // Every truncation fails cleanly; a wrong version or kind is named.
        for cut in stride(from: 0, to: bytes.count - 1, by: max(1, bytes.count / 300)) {
            #expect(throws: DecodeError.self) { try ChunkResult.decode(Array(bytes[0..<cut]), markets: 44) }
        }
        var wrong = bytes
        wrong[3] = 9
        #expect(throws: DecodeError("payload version 9; this program reads version \(ChunkResult.version)")) {
            try ChunkResult.decode(wrong, markets: 44)
        }
        // A hostile count is refused before anything is allocated.
        var w = BinaryWriter()
        w.envelope(kind: PayloadKind.chunkResult, version: ChunkResult.version)
        w.int(0)
        w.varint(UInt64.max >> 1)
        #expect(throws: DecodeError.self) { try ChunkResult.decode(w.bytes, markets: 44) }
        #expect(throws: DecodeError.self) { try ChunkResult.decode(bytes + [0], markets: 44) }
    }
}
