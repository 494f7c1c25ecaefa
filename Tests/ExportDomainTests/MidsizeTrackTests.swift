import ExportDomain
import Foundation
import Testing

extension RandomNation {
    /// `n` firms of which about a third are mid-sized, some of them above 1 trillion KRW, so
    /// that every mid-sized group is well populated.
    mutating func midsizedNation(_ n: Int) -> [Firm] {
        firms(n).map { f in
            var f = f
            if rng.chance(0.3) { f.sizeClass = .MIDSIZE }
            if f.sizeClass == .MIDSIZE && rng.chance(0.15) { f.revenueKRWm = 1_000_000 + Int64(rng.below(2_000_000)) }
            return f
        }
    }
}

@Suite("Tailored mid-sized tracks")
struct MidsizeTrackTests {
    let markets = MarketTable.builtin

    /// The exact group rule of docs/EVALUATION.md, written out again (default configuration).
    func group(_ f: Firm) -> MidsizeGroup? {
        guard f.sizeClass == .MIDSIZE else { return nil }
        if f.revenueKRWm >= 1_000_000 { return .LARGE }
        return f.exportUSDk * 1160 * 10 >= 3 * f.revenueKRWm * 1000 ? .EXPORT_ORIENTED : .DOMESTIC_ORIENTED
    }

    func chunked(_ firms: [Firm], _ records: [ExportRecord], _ evaluator: Evaluator, size: Int, pool: Int)
        -> ChunkResult
    {
        ChunkResult.merge(
            stride(from: 0, to: firms.count, by: size).map { s in
                let part = Array(firms[s..<min(s + size, firms.count)])
                let ids = Set(part.map(\.id))
                return evaluator.evaluate(part, records: records.filter { ids.contains($0.firm) })
            }, poolSize: pool)
    }

    /// Each mid-sized firm's entry against the rules computed again from each market's
    /// explanation: EXPORT_ORIENTED firms get emerging markets only, with untapped potential left,
    /// largest untapped first, ties by market order; DOMESTIC_ORIENTED firms get markets they
    /// export to neither last year nor this year, largest potential first; LARGE firms none;
    /// every pick with the gate its market sets for the industry and whether the firm holds it.
    @Test(arguments: [(101 as UInt64, 5), (102, 3), (103, 8), (104, 1)])
    func entriesFollowTheRules(seed: UInt64, k: Int) throws {
        var nation = RandomNation(seed: seed)
        let firms = nation.midsizedNation(1_500)
        let records = nation.records(for: firms)
        var c = ProgramConfiguration()
        c.topMarkets = k
        let model = PotentialModel(markets: markets, configuration: c)
        let merged = chunked(firms, records, Evaluator(markets: markets, configuration: c), size: 211, pool: 50)
        let mid = firms.filter { $0.sizeClass == .MIDSIZE }
        #expect(merged.midsize.map(\.firm) == mid.map(\.id).sorted())
        var counts: [MidsizeGroup: Int] = [:]
        var heldSeen = Set<Bool>()
        var recordsMattered = 0
        var shortLists = 0
        for f in mid {
            let e = try #require(merged.midsize.first { $0.firm == f.id })
            let g = try #require(group(f))
            counts[g, default: 0] += 1
            #expect(e.group == g && e.region == f.region && e.industry == f.industry)
            #expect(e.revenueKRWm == f.revenueKRWm && e.exportUSDk == f.exportUSDk)
            #expect(e.marketExportUSDk == f.exportMarkets.reduce(0) { $0 + $1.usdK })
            #expect(
                e.emergingExportUSDk
                    == f.exportMarkets.filter { markets[$0.market].emerging }.reduce(0) { $0 + $1.usdK })
            let all = (0..<markets.count).map { model.explain(f, market: UInt8($0)) }
            func ranked(_ ps: [MarketPotential], _ key: (MarketPotential) -> Int64) -> [UInt8] {
                var out: [MarketPotential] = []
                for p in ps {
                    // Insertion after every market with a larger key, or an equal key and a lower index.
                    let at = out.firstIndex { key($0) < key(p) } ?? out.count
                    out.insert(p, at: at)
                }
                return out.prefix(k).map(\.market)
            }
            let expected: [UInt8]
            switch g {
            case .LARGE:
                expected = []
            case .EXPORT_ORIENTED:
                expected = ranked(all.filter { markets[$0.market].emerging && $0.untappedUSDk > 0 }, \.untappedUSDk)
            case .DOMESTIC_ORIENTED:
                let thisYear = Set(records.filter { $0.firm == f.id && $0.usdK > 0 }.map(\.market))
                let fresh = all.filter { $0.actualUSDk == 0 && $0.potentialUSDk > 0 }
                expected = ranked(fresh.filter { !thisYear.contains($0.market) }, \.potentialUSDk)
                if ranked(fresh, \.potentialUSDk) != expected { recordsMattered += 1 }
                for m in e.markets { #expect(f.exports(to: m.market) == 0 && !thisYear.contains(m.market)) }
            }
            #expect(e.markets.map(\.market) == expected, "\(f.id) \(g)")
            if e.markets.count < k && g != .LARGE { shortLists += 1 }
            for m in e.markets {
                let p = all[Int(m.market)]
                #expect(m.potentialUSDk == p.potentialUSDk && m.untappedUSDk == p.untappedUSDk)
                let gate = markets[m.market].requiredCertification(for: f.industry)
                #expect(m.gate == gate)
                #expect(m.gateHeld == (gate.map { f.certifications & $0.bit != 0 } ?? false))
                if gate != nil { heldSeen.insert(m.gateHeld) }
            }
        }
        // The instances reach every group, both gate outcomes, and a market left out because the
        // firm exported there this year.
        #expect(counts.count == 3 && counts.values.allSatisfy { $0 >= 10 }, "\(counts)")
        if k >= 3 { #expect(heldSeen == [true, false]) }
        #expect(recordsMattered > 0)
        // The region summaries count the same groups.
        for g in MidsizeGroup.allCases {
            #expect(merged.summaries.reduce(0) { $0 + $1.midsizeGroups[g.index] } == Int64(counts[g] ?? 0))
        }
        _ = shortLists
    }

    /// Hand-made entries that break what the encoder guarantees are refused when decoded, and a
    /// good one survives; every cut of a payload's mid-sized list is refused.
    @Test func entryDecodingRefusesWhatTheEncoderNeverWrites() throws {
        let good = MidsizeEntry(
            firm: BusinessNumber.completing(123_456_789), region: .BUSAN, industry: .FOOD_AGRI,
            group: .EXPORT_ORIENTED, revenueKRWm: 200_000, exportUSDk: 90_000, marketExportUSDk: 80_000,
            emergingExportUSDk: 20_000,
            markets: [
                MarketPick(market: 5, potentialUSDk: 900, untappedUSDk: 400, gate: .HALAL, gateHeld: true),
                MarketPick(market: 7, potentialUSDk: 300, untappedUSDk: 300),
            ])
        func payload(_ e: MidsizeEntry) -> [UInt8] {
            ChunkResult(summaries: [], pool: [], newExportSources: [], midsize: [e], evaluatedFirms: 1).encoded()
        }
        let bytes = payload(good)
        #expect(try ChunkResult.decode(bytes, markets: markets.count).midsize == [good])
        // Every truncation inside the entry is refused.
        for cut in (bytes.count - 20)..<bytes.count {
            #expect(throws: DecodeError.self) { try ChunkResult.decode(Array(bytes[0..<cut]), markets: markets.count) }
        }
        var bad: [MidsizeEntry] = []
        var e = good
        e.emergingExportUSDk = 80_001  // more to emerging markets than to known markets
        bad.append(e)
        e = good
        e.group = .LARGE  // LARGE firms carry no markets
        bad.append(e)
        e = good
        e.markets[0].untappedUSDk = 901  // more untapped than potential
        bad.append(e)
        e = good
        e.revenueKRWm = -1
        bad.append(e)
        for b in bad {
            #expect(throws: DecodeError.self) { try ChunkResult.decode(payload(b), markets: markets.count) }
        }
        // A market index beyond the table.
        #expect(throws: DecodeError.self) { try ChunkResult.decode(bytes, markets: 6) }
        // A gate byte held without a certification (128) and one past the last certification.
        for g: UInt8 in [128, UInt8(Certification.allCases.count + 1)] {
            var w = BinaryWriter()
            MarketPick(market: 7, potentialUSDk: 300, untappedUSDk: 300).encode(into: &w)
            var pick = w.bytes
            pick[pick.count - 1] = g
            var r = BinaryReader(pick)
            #expect(throws: DecodeError.self) { try MarketPick.decode(&r, markets: markets.count) }
        }
    }
}
