import ExportData
import ExportDomain
import Foundation
import Testing

@Suite("Synthetic nation")
struct GeneratorTests {
    @Test(arguments: [1 as UInt64, 42, 2016])
    func generatedDatasetsValidateWithZeroRejections(seed: UInt64) throws {
        let d = ScratchDir()
        _ = try NationGenerator(firms: 3_000, seed: seed).write(to: d.path)
        let (ds, rej, reader) = d.load()
        #expect(rej.isEmpty, "\(rej.prefix(5))")
        #expect(reader.usable)
        #expect(ds.firms.count == 3_000)
        #expect(ds.companies.count == 216)
        #expect(Set(ds.targets.map(\.region)) == Set(Office.allCases))
        for r in reader.reports { #expect(r.accepted + r.rejected == r.rowsRead) }
    }

    @Test func sameSeedSameBytesOtherSeedOtherBytes() throws {
        let a = ScratchDir()
        let b = ScratchDir()
        let c = ScratchDir()
        _ = try NationGenerator(firms: 2_000, seed: 9).write(to: a.path)
        _ = try NationGenerator(firms: 2_000, seed: 9).write(to: b.path)
        _ = try NationGenerator(firms: 2_000, seed: 10).write(to: c.path)
        for f in [
            "firms.csv", "trading_companies.csv", "institutions.csv", "targets.csv", "exports.csv", "config.toml",
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
