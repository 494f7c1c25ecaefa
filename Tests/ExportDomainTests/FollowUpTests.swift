import ExportDomain
import Testing

/// Supported firms followed (docs/EVALUATION.md, "Supported firms followed"): the cells against
/// direct counts, any chunking, the reweighted expectation against a second computation written
/// from the rule, and a case worked by hand.
@Suite("Supported firms followed")
struct FollowUpTests {
    /// A firm's figures counted straight from its records.
    struct Direct {
        var firms: Int64 = 0
        var exporting: Int64 = 0
        var lastYear: Int64 = 0
        var toDate: Int64 = 0

        mutating func add(_ f: Firm, _ records: [ExportRecord]) {
            let positive = records.filter { $0.usdK > 0 }
            firms += 1
            if !positive.isEmpty { exporting += 1 }
            lastYear += f.exportUSDk
            toDate += positive.reduce(0) { $0 + $1.usdK }
        }

        func matches(_ c: FollowUpCell) -> Bool {
            c.firms == firms && c.exportingFirms == exporting && c.lastYearUSDk == lastYear && c.toDateUSDk == toDate
        }
    }

    /// The tier by the bounds of docs/EVALUATION.md, written out again.
    static func tierName(_ exports: Int64) -> String {
        exports < 100 ? "DOMESTIC" : exports < 1_000 ? "PROMISING" : exports < 5_000 ? "GROWTH" : "STRONG"
    }

    static func evaluate(
        _ firms: [Firm], _ records: [ExportRecord], chunks: Int, pool: Int, nation: inout RandomNation
    ) -> ChunkResult {
        var c = ProgramConfiguration()
        c.poolSize = pool
        let evaluator = Evaluator(markets: .builtin, configuration: c)
        let order = chunks == 1 ? firms : nation.shuffled(firms)
        let size = (order.count + chunks - 1) / chunks
        var parts: [ChunkResult] = []
        for start in stride(from: 0, to: order.count, by: size) {
            let part = Array(order[start..<min(start + size, order.count)])
            let ids = Set(part.map(\.id))
            parts.append(evaluator.evaluate(part, records: nation.shuffled(records.filter { ids.contains($0.firm) })))
        }
        return ChunkResult.merge(nation.shuffled(parts), poolSize: pool)
    }

    /// The collector's path: the evaluation's cells of every firm, the supported firms' cells from
    /// their pool candidates; the supported and unsupported figures of every office and cell equal
    /// what the firms and their records add up to, and the two make up every firm.
    @Test(arguments: [101 as UInt64, 102, 103, 104, 105, 106])
    func supportedAndUnsupportedCellsMakeUpAllCells(seed: UInt64) throws {
        var nation = RandomNation(seed: seed)
        let firms = nation.firms(1_500)
        let records = nation.records(for: firms)
        let merged = Self.evaluate(firms, records, chunks: 9, pool: 600, nation: &nation)
        // A random half of the pool is supported.
        let supported = merged.pool.filter { _ in nation.rng.chance(0.5) }
        let supportedIDs = Set(supported.map(\.firm.id))
        #expect(!supported.isEmpty && supported.count < merged.pool.count)
        let followUp = try #require(
            SupportedFollowUp(
                periodReached: 19, all: SupportedFollowUp.cells(of: merged.summaries),
                supported: SupportedFollowUp.cells(of: supported)))
        var recordsByFirm: [BusinessNumber: [ExportRecord]] = [:]
        for r in records { recordsByFirm[r.firm, default: []].append(r) }
        var sawExportsToDate = false
        for c in supported where c.exportsToDate > 0 { sawExportsToDate = true }
        #expect(sawExportsToDate, "no supported firm exported: the test would not see exports to date")
        var national = (supported: Direct(), unsupported: Direct())
        for row in followUp.regions {
            let office = try #require(row.region)
            var s = Direct()
            var u = Direct()
            var allByCell: [String: Direct] = [:]
            for f in firms where f.region == office {
                let recs = recordsByFirm[f.id] ?? []
                if supportedIDs.contains(f.id) { s.add(f, recs) } else { u.add(f, recs) }
                allByCell["\(f.industry.rawValue)/\(Self.tierName(f.exportUSDk))", default: Direct()].add(f, recs)
                if supportedIDs.contains(f.id) {
                    national.supported.add(f, recs)
                } else {
                    national.unsupported.add(f, recs)
                }
            }
            #expect(s.matches(row.supported), "\(office) supported")
            #expect(u.matches(row.unsupported), "\(office) unsupported")
            // Every cell of the office's summary against the direct count.
            let cells = merged.summaries.first { $0.region == office }?.followUp ?? FollowUpCells()
            for industry in Industry.allCases {
                for tier in ExportTier.allCases {
                    let direct = allByCell["\(industry.rawValue)/\(tier.rawValue)"] ?? Direct()
                    #expect(
                        direct.matches(cells.cells[FollowUpCells.index(industry, tier)]),
                        "\(office) \(industry) \(tier)")
                }
            }
            // Compared firms and those without comparison are the supported firms.
            #expect(row.compared.firms + row.firmsWithoutComparison == row.supported.firms)
            #expect(row.expected.firms == row.compared.firms)
        }
        #expect(national.supported.matches(followUp.national.supported))
        #expect(national.unsupported.matches(followUp.national.unsupported))
        #expect(followUp.national.supported.firms == Int64(supported.count))
    }

    /// Any chunking, merged in any order, gives the same follow-up; each candidate's exports to
    /// date do not depend on the chunk it was evaluated in.
    @Test(arguments: [111 as UInt64, 112, 113, 114])
    func anyChunkingGivesTheSameFollowUp(seed: UInt64) throws {
        var nation = RandomNation(seed: seed)
        let firms = nation.firms(1_200)
        let records = nation.records(for: firms)
        let whole = Self.evaluate(firms, records, chunks: 1, pool: 400, nation: &nation)
        let chosen = Set(whole.pool.filter { _ in nation.rng.chance(0.4) }.map(\.firm.id))
        func followUp(_ r: ChunkResult) throws -> SupportedFollowUp {
            try #require(
                SupportedFollowUp(
                    periodReached: 12, all: SupportedFollowUp.cells(of: r.summaries),
                    supported: SupportedFollowUp.cells(of: r.pool.filter { chosen.contains($0.firm.id) })))
        }
        let expected = try followUp(whole)
        for chunks in [2, 7, 50, 300] {
            let merged = Self.evaluate(firms, records, chunks: chunks, pool: 400, nation: &nation)
            #expect(merged.pool == whole.pool, "\(chunks) chunks: candidates")
            #expect(try followUp(merged) == expected, "\(chunks) chunks")
        }
    }

    /// The expectation against a second computation written from the rule: per office, group the
    /// firms by industry and tier; in each group with supported firms and unsupported ones,
    /// supported x unsupported total / unsupported firms, rounded half up (quotient, and one more
    /// when twice the remainder reaches the divisor); a group without unsupported firms is
    /// counted aside. Whole cells are made supported so that such groups occur.
    @Test(arguments: [121 as UInt64, 122, 123, 124, 125, 126, 127, 128])
    func reweightedExpectationEqualsAStraightforwardComputation(seed: UInt64) throws {
        var nation = RandomNation(seed: seed)
        let firms = nation.firms(1_000)
        let records = nation.records(for: firms)
        var toDate: [BusinessNumber: Int64] = [:]
        for r in records where r.usdK > 0 { toDate[r.firm, default: 0] += r.usdK }
        let fullySupported = Set((0..<40).map { _ in "\(nation.rng.below(12))/\(nation.rng.below(13))/DOMESTIC" })
        var supportedIDs = Set<BusinessNumber>()
        for f in firms {
            let key = "\(f.region.index)/\(f.industry.index)/\(Self.tierName(f.exportUSDk))"
            if fullySupported.contains(key) || nation.rng.chance(0.25) { supportedIDs.insert(f.id) }
        }
        let candidates = firms.filter { supportedIDs.contains($0.id) }.map {
            PoolCandidate(firm: $0, readiness: 0, priority: false, exportsToDate: toDate[$0.id] ?? 0)
        }
        let summaries = Evaluator(markets: .builtin, configuration: ProgramConfiguration()).evaluate(
            firms, records: records
        ).summaries
        let followUp = try #require(
            SupportedFollowUp(
                periodReached: 7, all: SupportedFollowUp.cells(of: summaries),
                supported: SupportedFollowUp.cells(of: candidates)))

        func roundHalfUp(_ n: Int64, _ d: Int64) -> (value: Int64, inexact: Bool) {
            let q = n / d
            let rem = n % d
            return (2 * rem >= d ? q + 1 : q, rem != 0)
        }
        var national = (expLastYear: Int64(0), expToDate: Int64(0), expExporting: Int64(0), cellsWithout: Int64(0))
        var inexact = 0
        for office in Office.allCases {
            struct Group {
                var s: [Firm] = []
                var u: [Firm] = []
            }
            var groups: [String: Group] = [:]
            for f in firms where f.region == office {
                let key = "\(f.industry.rawValue) \(Self.tierName(f.exportUSDk))"
                if supportedIDs.contains(f.id) {
                    groups[key, default: Group()].s.append(f)
                } else {
                    groups[key, default: Group()].u.append(f)
                }
            }
            var expLastYear: Int64 = 0
            var expToDate: Int64 = 0
            var expExporting: Int64 = 0
            var comparedToDate: Int64 = 0
            var cellsWithout: Int64 = 0
            var firmsWithout: Int64 = 0
            for (_, g) in groups where !g.s.isEmpty {
                guard !g.u.isEmpty else {
                    cellsWithout += 1
                    firmsWithout += Int64(g.s.count)
                    continue
                }
                let sn = Int64(g.s.count)
                let un = Int64(g.u.count)
                let uLastYear = g.u.reduce(Int64(0)) { $0 + $1.exportUSDk }
                let uToDate = g.u.reduce(Int64(0)) { $0 + (toDate[$1.id] ?? 0) }
                let uExporting = Int64(g.u.filter { (toDate[$0.id] ?? 0) > 0 }.count)
                let a = roundHalfUp(sn * uLastYear, un)
                let b = roundHalfUp(sn * uToDate, un)
                expLastYear += a.value
                expToDate += b.value
                expExporting += roundHalfUp(sn * uExporting, un).value
                if a.inexact || b.inexact { inexact += 1 }
                comparedToDate += g.s.reduce(Int64(0)) { $0 + (toDate[$1.id] ?? 0) }
            }
            let row = try #require(followUp.regions.first { $0.region == office })
            #expect(row.expected.lastYearUSDk == expLastYear, "\(office) last year")
            #expect(row.expected.toDateUSDk == expToDate, "\(office) to date")
            #expect(row.expected.exportingFirms == expExporting, "\(office) exporting")
            #expect(row.compared.toDateUSDk == comparedToDate, "\(office) compared")
            #expect(row.cellsWithoutComparison == cellsWithout && row.firmsWithoutComparison == firmsWithout)
            national.expLastYear += expLastYear
            national.expToDate += expToDate
            national.expExporting += expExporting
            national.cellsWithout += cellsWithout
        }
        #expect(followUp.national.expected.lastYearUSDk == national.expLastYear)
        #expect(followUp.national.expected.toDateUSDk == national.expToDate)
        #expect(followUp.national.expected.exportingFirms == national.expExporting)
        #expect(followUp.national.cellsWithoutComparison == national.cellsWithout)
        // The instances reach both branches: cells without comparison, and rounding that matters.
        #expect(national.cellsWithout > 0)
        #expect(inexact > 0)
    }

    /// Worked by hand. SEOUL, MACHINERY:
    /// - DOMESTIC: unsupported A (last year 0, to date 10), B (50, 0: its one record is zero),
    ///   C (99, 5); supported S1 (0, 7), S2 (0, 0). Expected to date 2 x 15 / 3 = 10; exporting
    ///   2 x 2 / 3 = 1.33 -> 1; last year 2 x 149 / 3 = 99.33 -> 99.
    /// - PROMISING: unsupported D (last year 150, to date 100), E (250, 1); supported S3 (500, 300).
    ///   Expected to date 1 x 101 / 2 = 50.5 -> 51 (half up); last year 200; exporting 1.
    /// - GROWTH: supported S4 (2,000, 900) alone: no comparison.
    /// BUSAN: one unsupported firm, nothing supported. Period 9 reached (10 of 26).
    @Test func aSmallCaseByHand() throws {
        var n = 0
        func firm(_ region: Office, _ lastYear: Int64) -> Firm {
            n += 1
            return Firm(
                id: BusinessNumber.completing(UInt64(200_000_000 + n * 10)), name: "H\(n)", region: region,
                sizeClass: .SMALL, industry: .MACHINERY, role: .COMPONENTS, revenueKRWm: 1_000, exportUSDk: lastYear,
                exportPrevUSDk: 0)
        }
        let a = firm(.SEOUL, 0)
        let b = firm(.SEOUL, 50)
        let c = firm(.SEOUL, 99)
        let s1 = firm(.SEOUL, 0)
        let s2 = firm(.SEOUL, 0)
        let d = firm(.SEOUL, 150)
        let e = firm(.SEOUL, 250)
        let s3 = firm(.SEOUL, 500)
        let s4 = firm(.SEOUL, 2_000)
        let z = firm(.BUSAN, 40)
        func rec(_ f: Firm, _ period: Int, _ usdK: Int64) -> ExportRecord {
            ExportRecord(firm: f.id, period: period, market: 0, usdK: usdK)
        }
        let records = [
            rec(a, 0, 4), rec(a, 9, 6), rec(b, 3, 0), rec(c, 2, 5), rec(s1, 1, 7), rec(d, 5, 100), rec(e, 9, 1),
            rec(s3, 0, 300), rec(s4, 4, 900), rec(z, 2, 8),
        ]
        let all = [a, b, c, s1, s2, d, e, s3, s4, z]
        let result = Evaluator(markets: .builtin, configuration: ProgramConfiguration()).evaluate(all, records: records)
        let toDate: [BusinessNumber: Int64] = [s1.id: 7, s2.id: 0, s3.id: 300, s4.id: 900]
        let supported = [s1, s2, s3, s4].map {
            PoolCandidate(firm: $0, readiness: 0, priority: false, exportsToDate: toDate[$0.id]!)
        }
        let f = try #require(
            SupportedFollowUp(
                periodReached: 9, all: SupportedFollowUp.cells(of: result.summaries),
                supported: SupportedFollowUp.cells(of: supported)))
        let seoul = try #require(f.regions.first { $0.region == .SEOUL })
        #expect(seoul.supported == FollowUpCell(firms: 4, exportingFirms: 3, lastYearUSDk: 2_500, toDateUSDk: 1_207))
        #expect(seoul.unsupported == FollowUpCell(firms: 5, exportingFirms: 4, lastYearUSDk: 549, toDateUSDk: 116))
        #expect(seoul.compared == FollowUpCell(firms: 3, exportingFirms: 2, lastYearUSDk: 500, toDateUSDk: 307))
        #expect(
            seoul.expected == FollowUpCell(firms: 3, exportingFirms: 2, lastYearUSDk: 99 + 200, toDateUSDk: 10 + 51))
        #expect(seoul.cellsWithoutComparison == 1 && seoul.firmsWithoutComparison == 1)
        let busan = try #require(f.regions.first { $0.region == .BUSAN })
        #expect(busan.supported == FollowUpCell())
        #expect(busan.unsupported == FollowUpCell(firms: 1, exportingFirms: 1, lastYearUSDk: 40, toDateUSDk: 8))
        #expect(busan.expected == FollowUpCell() && busan.cellsWithoutComparison == 0)
        // The nation is the offices added up; offices without firms have empty rows.
        #expect(f.regions.count == 12)
        #expect(f.national.supported == seoul.supported)
        #expect(f.national.unsupported.firms == 6 && f.national.unsupported.toDateUSDk == 124)
        #expect(f.national.expected == seoul.expected)
        // The pace: 1,207 to date after 10 of 26 periods projects to 3,138.2 -> 3,138; the
        // expectation's 61 to 158.6 -> 159.
        #expect(projectedToYearEnd(f.national.supported.toDateUSDk, periodReached: f.periodReached) == 3_138)
        #expect(projectedToYearEnd(f.national.expected.toDateUSDk, periodReached: f.periodReached) == 159)
        // The evaluation's candidates carry the same exports to date (S3 and S4 are not eligible
        // without a recommendation: give every firm one).
        let recommended = all.map { x -> Firm in
            var y = x
            y.recommendedBy = 1
            return y
        }
        let pool = Evaluator(markets: .builtin, configuration: ProgramConfiguration()).evaluate(
            recommended, records: records
        ).pool
        for s in [s1, s2, s3, s4] { #expect(pool.first { $0.firm.id == s.id }?.exportsToDate == toDate[s.id]) }
        #expect(pool.first { $0.firm.id == a.id }?.exportsToDate == 10)
    }

    /// Supported cells that are not part of the all-firm cells are refused; a rounding at the
    /// Int64 edge does not overflow.
    @Test func inconsistentCellsAreRefusedAndRoundingIsExact() {
        var all = FollowUpCells()
        var supported = FollowUpCells()
        let f = Firm(
            id: BusinessNumber.completing(300_000_000), name: "X", region: .ULSAN, sizeClass: .SMALL,
            industry: .FOOD_AGRI, role: .SERVICES, revenueKRWm: 1, exportUSDk: 10, exportPrevUSDk: 0)
        supported.add(f, exportsToDate: 5)
        #expect(SupportedFollowUp(periodReached: 0, all: [.ULSAN: all], supported: [.ULSAN: supported]) == nil)
        all.add(f, exportsToDate: 4)
        #expect(SupportedFollowUp(periodReached: 0, all: [.ULSAN: all], supported: [.ULSAN: supported]) == nil)
        all = FollowUpCells()
        all.add(f, exportsToDate: 5)
        #expect(SupportedFollowUp(periodReached: 0, all: [.ULSAN: all], supported: [.ULSAN: supported]) != nil)
        #expect(roundedHalfUp(3, times: 1, over: 2) == 2)
        #expect(roundedHalfUp(5, times: 1, over: 4) == 1)
        #expect(roundedHalfUp(0, times: 7, over: 3) == 0)
        #expect(roundedHalfUp(Int64.max / 2, times: 4, over: 4) == Int64.max / 2)
        #expect(roundedHalfUp(3_000_000_000, times: 3_000_000_000, over: 3_000_000_000) == 3_000_000_000)
    }
}
