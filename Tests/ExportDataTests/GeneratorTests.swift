import ExportData
import ExportDomain
import Foundation
import Testing

@Suite("Synthetic nation")
struct GeneratorTests {
    @Test(arguments: [1 as UInt64, 42, 2016])
    func generatedDatasetsValidateWithZeroRejections(seed: UInt64) throws {
        let d = ScratchDir()
        let summary = try NationGenerator(firms: 3_000, seed: seed).write(to: d.path)
        let (ds, rej, reader) = d.load()
        #expect(rej.isEmpty, "\(rej.prefix(5))")
        #expect(reader.usable)
        #expect(ds.firms.count == 3_000)
        #expect(ds.companies.count == 216)
        #expect(Set(ds.targets.map(\.region)) == Set(Office.allCases))
        for r in reader.reports { #expect(r.accepted + r.rejected == r.rowsRead) }
        #expect(!ds.applications.isEmpty && !ds.deskRankings.isEmpty)
        #expect(reader.report(.applications)?.accepted == summary.applicationRows)
        #expect(reader.report(.deskRankings)?.accepted == summary.deskRankingRows)
        // The lists are drawn from the pool the evaluation builds from the files.
        let pool = Set(
            Evaluator(markets: ds.markets, configuration: ds.configuration).evaluate(ds.firms, records: []).pool.map(
                \.firm.id))
        #expect(pool.count == summary.poolFirms)
        #expect(ds.applications.allSatisfy { pool.contains($0.firm) })
        #expect(ds.deskRankings.allSatisfy { pool.contains($0.firm) })
        #expect(Set(ds.applications.map(\.firm)).count == summary.applyingFirms)
    }

    /// Monitoring must see the year move: firms without last year's exports start exporting
    /// during it, and a dataset cut at a period has no record after it.
    @Test(arguments: [26, 14, 1])
    func newExportersAppearAndRecordsStopAtTheRecordedPeriod(periods: Int) throws {
        let d = ScratchDir()
        var g = NationGenerator(firms: 6_000, seed: 77)
        g.recordedPeriods = periods
        let summary = try g.write(to: d.path)
        let (ds, rej, _) = d.load()
        #expect(rej.isEmpty)
        let lastYear = Set(ds.firms.filter { $0.exportUSDk > 0 }.map(\.id))
        let withRecords = Set(ds.exports.map(\.firm))
        let newcomers = withRecords.subtracting(lastYear)
        #expect(newcomers.count == summary.newExporters)
        #expect(ds.exports.allSatisfy { $0.period < periods })
        if periods == 26 {
            // NationGenerator.newExporterShare of the firms without exports, binomially spread.
            let expected = Double(ds.firms.count - lastYear.count) * NationGenerator.newExporterShare
            #expect(
                Double(newcomers.count) > expected * 0.6 && Double(newcomers.count) < expected * 1.4,
                "\(newcomers.count)")
            #expect(Set(ds.exports.map(\.period)).count == 26)
        }
        if periods >= 14 { #expect(!newcomers.isEmpty) }
    }

    @Test func sameSeedSameBytesOtherSeedOtherBytes() throws {
        let a = ScratchDir()
        let b = ScratchDir()
        let c = ScratchDir()
        _ = try NationGenerator(firms: 2_000, seed: 9).write(to: a.path)
        _ = try NationGenerator(firms: 2_000, seed: 9).write(to: b.path)
        _ = try NationGenerator(firms: 2_000, seed: 10).write(to: c.path)
        for f in [
            "firms.csv", "trading_companies.csv", "institutions.csv", "targets.csv", "exports.csv",
            "applications.csv", "desk_rankings.csv", "config.toml",
        ] {
            #expect(
                FileManager.default.contents(atPath: a.path + "/" + f)
                    == FileManager.default.contents(atPath: b.path + "/" + f), "\(f)")
        }
        #expect(
            FileManager.default.contents(atPath: a.path + "/firms.csv")
                != FileManager.default.contents(atPath: c.path + "/firms.csv"))
        #expect(a.load().reader.digest.finalize() == b.load().reader.digest.finalize())
        #expect(a.load().reader.digest.finalize() != c.load().reader.digest.finalize())
    }

    @Test func distributionsAreRealistic() throws {
        let d = ScratchDir()
        _ = try NationGenerator(firms: 60_000, seed: 3).write(to: d.path)
        let ds = d.load().dataset
        let exporters = ds.firms.filter(\.isExporting)
        let share = Double(exporters.count) / Double(ds.firms.count)
        #expect(share > 0.07 && share < 0.12, "exporting share \(share)")
        let underMillion = Double(exporters.filter { $0.exportUSDk < 1_000 }.count) / Double(exporters.count)
        #expect(underMillion > 0.76 && underMillion < 0.88, "share under USD 1M: \(underMillion)")
        let gyeonggi = Double(ds.firms.filter { $0.region == .GYEONGGI }.count) / Double(ds.firms.count)
        #expect(gyeonggi > 0.28 && gyeonggi < 0.36)
        let midsize = ds.firms.filter { $0.sizeClass == .MIDSIZE }
        #expect(Double(midsize.count) / Double(ds.firms.count) < 0.05)
        #expect(midsize.contains { $0.revenueKRWm >= 1_000_000 })
        // Main markets: China and the US lead.
        var byMarket: [String: Int] = [:]
        for f in exporters { for e in f.exportMarkets { byMarket[ds.markets[e.market].code, default: 0] += 1 } }
        let top = byMarket.sorted { $0.value > $1.value }.prefix(2).map(\.key)
        #expect(Set(top) == ["CN", "US"])
        for f in ds.firms { #expect(f.exportMarkets.reduce(0) { $0 + $1.usdK } <= f.exportUSDk) }
        #expect(
            ds.firms.contains { $0.name.contains(",") }
                && ds.firms.contains { $0.name.unicodeScalars.contains { $0.value >= 0xAC00 } })
    }

    @Test func firmsAndDesksSendListsOfTheirOwnThatDisagree() throws {
        let d = ScratchDir()
        let summary = try NationGenerator(firms: 40_000, seed: 12).write(to: d.path)
        let (ds, rej, _) = d.load()
        #expect(rej.isEmpty)
        let pool = Evaluator(markets: ds.markets, configuration: ds.configuration).evaluate(ds.firms, records: []).pool
        // The pool is cut from more eligible firms than it holds, and the lists name its firms only.
        #expect(pool.count == ds.configuration.poolSize && summary.poolFirms == pool.count)
        #expect(ds.firms.filter(CandidatePool.isEligible).count > pool.count + 1_000)
        let members = Set(pool.map(\.firm.id))
        #expect(ds.applications.allSatisfy { members.contains($0.firm) })
        #expect(ds.deskRankings.allSatisfy { members.contains($0.firm) })

        // About two thirds of the pool firms apply, each to 2 to 6 companies with a desk in its
        // industry, some offering one company two markets, some naming companies only.
        var lists: [BusinessNumber: [Application]] = [:]
        for a in ds.applications { lists[a.firm, default: []].append(a) }
        let applying = Double(lists.count) / Double(pool.count)
        #expect(applying >= 0.55 && applying <= 0.75, "share of pool firms applying: \(applying)")
        let companies = lists.values.map { Set($0.map(\.company)).count }
        #expect(companies.allSatisfy { (1...6).contains($0) })
        #expect(companies.filter { $0 >= 2 }.count * 10 > lists.count * 9)
        let twoMarkets = lists.values.filter { Set($0.map(\.company)).count < $0.count }.count
        #expect(twoMarkets * 10 > lists.count, "firms offering one company two markets: \(twoMarkets)")
        let implicit =
            Double(lists.values.filter { $0.allSatisfy { $0.targetMarket == nil } }.count) / Double(lists.count)
        #expect(implicit > 0.10 && implicit < 0.20, "firms naming companies only: \(implicit)")
        #expect(
            lists.values.allSatisfy {
                $0.allSatisfy { $0.targetMarket == nil } || $0.allSatisfy { $0.targetMarket != nil }
            })
        let emerging = ds.applications.filter { $0.targetMarket.map { ds.markets[$0].emerging } ?? false }.count
        #expect(emerging * 5 > ds.applications.count, "emerging contracts: \(emerging) of \(ds.applications.count)")

        // About 80% of desks rank on their own, each dropping its bottom tenth to third.
        var desks: [String: [BusinessNumber: Int]] = [:]
        for r in ds.deskRankings { desks["\(r.company)/\(r.industry.rawValue)", default: [:]][r.firm] = r.rank }
        let allDesks = ds.companies.reduce(0) { $0 + $1.desks.count }
        let ranking = Double(desks.count) / Double(allDesks)
        #expect(desks.count == summary.rankingDesks && allDesks == summary.desks)
        #expect(ranking >= 0.70 && ranking <= 0.90, "share of desks ranking: \(ranking)")
        var poolByIndustry: [Industry: Int] = [:]
        for c in pool { poolByIndustry[c.firm.industry, default: 0] += 1 }
        for r in ds.deskRankings where r.rank == 1 {
            let kept = Double(desks["\(r.company)/\(r.industry.rawValue)"]!.count) / Double(poolByIndustry[r.industry]!)
            #expect(kept >= 0.64 && kept <= 0.91, "desk \(r.company)/\(r.industry.rawValue) keeps \(kept)")
        }

        // Desks of one industry order the firms they both rank differently: each desk against
        // the next of its industry (in id order).
        var byIndustry: [String: [String]] = [:]
        for k in desks.keys.sorted() { byIndustry[String(k.split(separator: "/")[1]), default: []].append(k) }
        var correlations: [Double] = []
        for keys in byIndustry.values where keys.count >= 2 {
            for (a, b) in zip(keys, keys.dropFirst()) {
                let common = desks[a]!.keys.filter { desks[b]![$0] != nil }
                guard common.count >= 20 else { continue }
                correlations.append(spearman(common.map { desks[a]![$0]! }, common.map { desks[b]![$0]! }))
            }
        }
        correlations.sort()
        let differing = correlations.filter { $0 < 0.95 }.count
        #expect(correlations.count > 100)
        #expect(
            differing * 10 >= correlations.count * 9,
            "\(differing) of \(correlations.count) pairs disagree; median \(correlations[correlations.count / 2])")
    }

    /// Spearman's rank correlation of two lists of distinct values.
    func spearman(_ x: [Int], _ y: [Int]) -> Double {
        func ranks(_ v: [Int]) -> [Double] {
            var r = [Double](repeating: 0, count: v.count)
            for (k, i) in v.indices.sorted(by: { v[$0] < v[$1] }).enumerated() { r[i] = Double(k) }
            return r
        }
        let (rx, ry) = (ranks(x), ranks(y))
        let n = Double(x.count)
        let d2 = zip(rx, ry).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
        return 1 - 6 * d2 / (n * (n * n - 1))
    }

    @Test func exportValueGoesMostlyToChinaAndTheUSAndAboutAThirdToEmergingMarkets() throws {
        // The demo's nation: a heavy-tailed export size makes a few large exporters weigh in
        // every market's share, so the check uses a full-size nation rather than a small one.
        let d = ScratchDir()
        _ = try NationGenerator(firms: 100_000, seed: 2016).write(to: d.path)
        let ds = d.load().dataset
        var value = [Int64](repeating: 0, count: ds.markets.count)
        for f in ds.firms { for e in f.exportMarkets { value[Int(e.market)] += e.usdK } }
        let total = Double(value.reduce(0, +))
        let emerging =
            Double(
                ds.markets.markets.indices.filter { ds.markets.markets[$0].emerging }.map { value[$0] }
                    .reduce(0, +)) / total
        #expect(emerging >= 0.25 && emerging <= 0.34, "emerging share of export value \(emerging)")
        let top = value.indices.sorted { value[$0] > value[$1] }.prefix(4).map { ds.markets.markets[$0].code }
        #expect(Array(top.prefix(2)) == ["CN", "US"], "\(top)")
        #expect(top.contains("VN"), "\(top)")
    }

    @Test(arguments: [5 as UInt64, 6])
    func dirtyDatasetsAreRejectedExactlyWhereTheManifestSays(seed: UInt64) throws {
        let d = ScratchDir()
        _ = try NationGenerator(firms: 4_000, seed: seed, dirtyShare: 0.05).write(to: d.path)
        let (_, rej, reader) = d.load()
        let manifest = try String(contentsOfFile: d.path + "/dirty_manifest.csv", encoding: .utf8)
            .split(separator: "\n").dropFirst().map { line -> String in
                let f = line.split(separator: ",", omittingEmptySubsequences: false)
                return "\(f[0]):\(f[1]):\(f[2])"
            }
        let got = rej.map { "\($0.file):\($0.line):\($0.column ?? "")" }
        #expect(manifest.count > 100)
        #expect(Set(got) == Set(manifest))
        #expect(got.count == manifest.count)
        #expect(reader.report(.institutions)!.encoding == "cp949")
        for r in reader.reports { #expect(r.accepted + r.rejected == r.rowsRead) }
    }
}
