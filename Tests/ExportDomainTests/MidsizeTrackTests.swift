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

    /// Companies with one to three desks of random industries, covering a few random markets
    /// (some list none, so cover every market), success rates drawn from few values (ties).
    mutating func companies(_ n: Int) -> [TradingCompany] {
        (0..<n).map { c in
            var industries = Set<Int>()
            for _ in 0..<(1 + rng.below(3)) { industries.insert(rng.below(Industry.allCases.count)) }
            var covered = Set<UInt8>()
            if !rng.chance(0.15) {
                for _ in 0..<(1 + rng.below(8)) { covered.insert(UInt8(rng.below(markets.count))) }
            }
            return TradingCompany(
                id: "TC\(1_000 + c)", name: "C\(c)",
                desks: industries.sorted().map { Desk(industry: Industry.at($0), capacity: 1 + rng.below(4)) },
                markets: covered.sorted(), channels: 0, successRatePermille: 100 * rng.below(8))
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

    /// Ecosystems run on a random nation as the pipeline runs them; then each LARGE firm either
    /// leads exactly the consortium that names it as leader, or has a reason that holds (computed
    /// again from the firms, the pool, the matches and the consortia) while every reason before
    /// it in the documented order does not. Each first-export market lists the best desks of the
    /// firm's industry that cover it, recounted from the companies. Nations with pools of
    /// different sizes, one with consortia of at least 8 and few desks (so pool firms are left
    /// out), which between them reach every outcome.
    @Test func largeFirmsLeadOrSayWhyAndDesksCoverTheirMarkets() throws {
        var reasons = Set<String>()
        let instances = [
            (111 as UInt64, 90, 3, 40), (112, 240, 3, 40), (113, 600, 3, 40), (114, 1_500, 3, 40), (115, 90, 8, 3),
        ]
        for (seed, poolSize, minSize, companies) in instances {
            try largeFirmsAndDesks(
                seed: seed, poolSize: poolSize, minSize: minSize, companies: companies, reasons: &reasons)
        }
        // Every reason, and a desk of a company that lists no markets (so covers every market).
        #expect(
            reasons == Set(["leads", "every-market desk"] + LargeFirmTrack.Reason.allCases.map(\.rawValue)),
            "\(reasons)")
    }

    func largeFirmsAndDesks(
        seed: UInt64, poolSize: Int, minSize: Int, companies nc: Int, reasons: inout Set<String>
    ) throws {
        var nation = RandomNation(seed: seed)
        let firms = nation.midsizedNation(3_000)
        var c = ProgramConfiguration()
        c.poolSize = poolSize
        c.consortiumMin = minSize
        c.consortiumMax = max(minSize, c.consortiumMax)
        let evaluator = Evaluator(markets: markets, configuration: c)
        let national = chunked(firms, [], evaluator, size: 700, pool: poolSize)
        let companies = nation.companies(nc)
        let outside = Leaders.outsideThePool(national.leaders, pool: national.pool, consortiumMin: c.consortiumMin)
        let engine = EcosystemEngine(markets: markets, configuration: c)
        let ecosystems = Industry.allCases.map { ind in
            engine.run(
                EcosystemInput(
                    industry: ind, firms: national.pool.filter { $0.firm.industry == ind },
                    companies: companies.filter { $0.desks.contains { $0.industry == ind } },
                    leaders: outside[ind.index]))
        }
        let tracks = MidsizeTracks(
            entries: national.midsize, pool: national.pool, leaders: national.leaders, ecosystems: ecosystems,
            companies: companies, markets: markets, configuration: c)
        #expect(tracks.large.map(\.entry.firm) == national.midsize.filter { $0.group == .LARGE }.map(\.firm))
        #expect(tracks.exportOriented == national.midsize.filter { $0.group == .EXPORT_ORIENTED })
        #expect(tracks.domesticOriented.map(\.entry) == national.midsize.filter { $0.group == .DOMESTIC_ORIENTED })

        // Independently: pool, matches, consortia; leader ranks and what each industry was given.
        let byID = Dictionary(uniqueKeysWithValues: firms.map { ($0.id, $0) })
        let pool = Set(national.pool.map(\.firm.id))
        let matches = ecosystems.flatMap(\.matches)
        let consortia = ecosystems.flatMap(\.consortia)
        let unplaced = Set(ecosystems.flatMap(\.unplaced).map(\.firm))
        let limit = (poolSize + 2) / 3
        for t in tracks.large {
            let f = byID[t.entry.firm]!
            #expect(t.inPool == pool.contains(f.id))
            let leads = consortia.filter { $0.leader == f.id }
            #expect(leads.count <= 1)
            #expect(t.consortium == leads.first)
            if let k = t.consortium {
                #expect(t.reason == nil && k.members.contains(f.id))
                reasons.insert("leads")
                continue
            }
            let reason = try #require(t.reason)
            reasons.insert(reason.rawValue)
            let industry = firms.filter { $0.industry == f.industry }
            let poolFirms = national.pool.filter { $0.firm.industry == f.industry }.count
            let unmatched = poolFirms - matches.filter { $0.industry == f.industry }.count
            let eligible = industry.filter { $0.sizeClass == .MIDSIZE || $0.exportUSDk >= 1_000 }
                .sorted { ($1.exportUSDk, $0.id.value) < ($0.exportUSDk, $1.id.value) }
            let rank = eligible.firstIndex { $0.id == f.id }!
            let cutOutside = eligible.prefix(limit).filter { !pool.contains($0.id) }
            let given = cutOutside.prefix((poolFirms + c.consortiumMin - 2) / (c.consortiumMin - 1))
            let holds: [(LargeFirmTrack.Reason, Bool)] = [
                (.member_of_another_consortium, consortia.contains { $0.members.contains(f.id) && $0.leader != f.id }),
                (.matched, matches.contains { $0.firm == f.id }),
                (.unplaced, pool.contains(f.id)),
                (.too_few_unmatched_pool_firms, !pool.contains(f.id) && unmatched < c.consortiumMin - 1),
                (.outside_leader_cut, rank >= limit),
                (.beyond_leaders_needed, !given.contains { $0.id == f.id }),
                (.not_used_by_search, true),
            ]
            let first = holds.first { $0.1 }!.0
            #expect(reason == first, "\(f.id): \(reason), expected \(first)")
            if reason == .unplaced { #expect(unplaced.contains(f.id) && !t.detail.isEmpty) }
        }
        // Every consortium a LARGE firm leads is on its row.
        let large = Set(tracks.large.map(\.entry.firm))
        for k in consortia where large.contains(k.leader) {
            #expect(tracks.large.first { $0.entry.firm == k.leader }?.consortium == k)
        }
        #expect(tracks.largeLeading == consortia.filter { large.contains($0.leader) }.count)
        #expect(tracks.largeReasons.reduce(0) { $0 + $1.firms } + tracks.largeLeading == tracks.large.count)

        for d in tracks.domesticOriented {
            #expect(d.markets.map(\.pick) == d.entry.markets)
            for m in d.markets {
                let covering = companies.filter { co in
                    co.desks.contains { $0.industry == d.entry.industry }
                        && (co.markets.isEmpty || co.markets.contains(m.pick.market))
                }
                .sorted { a, b in
                    a.successRatePermille != b.successRatePermille
                        ? a.successRatePermille > b.successRatePermille : a.id < b.id
                }
                #expect(m.desks.map(\.company) == covering.prefix(MidsizeTracks.desksPerMarket).map(\.id))
                #expect(
                    m.desks.map(\.successRatePermille)
                        == covering.prefix(MidsizeTracks.desksPerMarket).map(\.successRatePermille))
                if m.desks.contains(where: { id in companies.first { $0.id == id.company }!.markets.isEmpty }) {
                    reasons.insert("every-market desk")
                }
            }
        }
        #expect(
            tracks.domesticWithDesk
                == tracks.domesticOriented.filter { d in d.markets.contains { !$0.desks.isEmpty } }.count)
    }
}
