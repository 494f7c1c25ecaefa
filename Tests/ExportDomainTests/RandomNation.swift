import ExportDomain

/// Seeded random firms and export records for property tests: wide enough to reach every rule
/// (zero and huge exports, every size class, missing optional fields, duplicates of readiness).
struct RandomNation {
    var rng: SeededRandom
    let markets = MarketTable.builtin

    init(seed: UInt64) { rng = SeededRandom(seed: seed) }

    mutating func firm(_ i: Int) -> Firm {
        let industry = Industry.allCases[rng.below(Industry.allCases.count)]
        let size = SizeClass.allCases[rng.below(3)]
        let exporting = rng.chance(0.4)
        let exports: Int64 = exporting ? Int64(rng.below(rng.chance(0.2) ? 20_000 : 2_000)) + 1 : 0
        var em: [MarketExport] = []
        if exporting {
            var left = exports
            for _ in 0..<(1 + rng.below(3)) {
                let m = UInt8(rng.below(markets.count))
                if em.contains(where: { $0.market == m }) { continue }
                let v = Int64(rng.below(Int(left) + 1))
                em.append(MarketExport(market: m, usdK: v))
                left -= v
            }
            em.sort { $0.market < $1.market }
        }
        var certs: UInt16 = 0
        for c in Certification.allCases where rng.chance(0.2) { certs |= c.bit }
        var recs: UInt8 = 0
        for r in Recommender.allCases where rng.chance(0.25) { recs |= r.bit }
        var chans: UInt8 = 0
        for c in Channel.allCases where rng.chance(0.1) { chans |= c.bit }
        return Firm(
            id: BusinessNumber.completing(UInt64(100_000_000 + i * 7 + rng.below(7))), name: "F\(i)",
            region: Office.allCases[rng.below(12)], sizeClass: size, industry: industry,
            role: ValueChainRole.allCases[rng.below(5)],
            revenueKRWm: Int64(rng.below(rng.chance(0.05) ? 2_000_000 : 50_000)) + 1, exportUSDk: exports,
            exportPrevUSDk: rng.chance(0.3) ? 0 : Int64(rng.below(3_000)),
            employees: rng.chance(0.8) ? rng.below(2_000) : nil,
            hsChapters: [UInt8(1 + rng.below(97))], exportMarkets: em, certifications: certs,
            rndSuccess: rng.chance(0.15),
            procurementExcellent: rng.chance(0.05), homeShoppingBestseller: rng.chance(0.05), onlineChannels: chans,
            recommendedBy: recs, debtRatioPct: rng.chance(0.9) ? rng.below(600) : nil,
            patents: rng.chance(0.7) ? rng.below(30) : nil)
    }

    mutating func firms(_ n: Int) -> [Firm] { (0..<n).map { firm($0) } }

    mutating func records(for firms: [Firm]) -> [ExportRecord] {
        var out: [ExportRecord] = []
        for f in firms where f.isExporting {
            for p in 0..<ProgramConfiguration.periods where rng.chance(0.3) {
                out.append(
                    ExportRecord(
                        firm: f.id, period: p, market: UInt8(rng.below(markets.count)), usdK: Int64(rng.below(500))))
            }
        }
        return out
    }

    mutating func shuffled<T>(_ a: [T]) -> [T] {
        var a = a
        for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, rng.below(i + 1)) }
        return a
    }
}
