/// Binary forms of the domain values that travel through Redis.
extension Firm {
    public func encode(into w: inout BinaryWriter) {
        w.varint(id.value)
        w.string(name)
        w.code(region)
        w.code(sizeClass)
        w.code(industry)
        w.code(role)
        w.int(revenueKRWm)
        w.int(exportUSDk)
        w.int(exportPrevUSDk)
        w.optionalInt(employees)
        w.bytes(hsChapters)
        w.varint(UInt64(exportMarkets.count))
        for e in exportMarkets {
            w.u8(e.market)
            w.int(e.usdK)
        }
        w.varint(UInt64(certifications))
        w.u8((rndSuccess ? 1 : 0) | (procurementExcellent ? 2 : 0) | (homeShoppingBestseller ? 4 : 0))
        w.u8(onlineChannels)
        w.u8(recommendedBy)
        w.optionalInt(debtRatioPct)
        w.optionalInt(patents)
    }

    public static func decode(_ r: inout BinaryReader, markets: Int) throws(DecodeError) -> Firm {
        let id = try r.varint()
        guard id < 10_000_000_000 else { throw DecodeError("firm id out of range") }
        let name = try r.string()
        let region = try r.code(Office.self)
        let size = try r.code(SizeClass.self)
        let industry = try r.code(Industry.self)
        let role = try r.code(ValueChainRole.self)
        let revenue = try r.int()
        let exports = try r.int()
        let prev = try r.int()
        guard revenue >= 0, exports >= 0, prev >= 0 else { throw DecodeError("negative amount") }
        let employees = try r.optionalInt()
        let hs = try r.bytes()
        let n = try r.count(minElementBytes: 2)
        var em: [MarketExport] = []
        em.reserveCapacity(n)
        for _ in 0..<n {
            let m = try r.u8()
            guard Int(m) < markets else { throw DecodeError("market index \(m) out of range") }
            let v = try r.int()
            guard v >= 0 else { throw DecodeError("negative amount") }
            em.append(MarketExport(market: m, usdK: v))
        }
        let certs = try r.varint()
        guard certs < 1 << 16 else { throw DecodeError("certification bits out of range") }
        let flags = try r.u8()
        let channels = try r.u8()
        let recommenders = try r.u8()
        return Firm(
            id: BusinessNumber(unchecked: id), name: name, region: region, sizeClass: size, industry: industry,
            role: role,
            revenueKRWm: revenue, exportUSDk: exports, exportPrevUSDk: prev, employees: employees, hsChapters: hs,
            exportMarkets: em, certifications: UInt16(certs), rndSuccess: flags & 1 != 0,
            procurementExcellent: flags & 2 != 0,
            homeShoppingBestseller: flags & 4 != 0, onlineChannels: channels, recommendedBy: recommenders,
            debtRatioPct: try r.optionalInt(), patents: try r.optionalInt())
    }
}

extension PoolCandidate {
    public func encode(into w: inout BinaryWriter) {
        firm.encode(into: &w)
        w.int(readiness)
        w.bool(priority)
        w.int(exportsToDate)
    }

    public static func decode(_ r: inout BinaryReader, markets: Int) throws(DecodeError) -> PoolCandidate {
        let f = try Firm.decode(&r, markets: markets)
        let readiness = try r.intValue()
        guard (0...10_000).contains(readiness) else { throw DecodeError("readiness out of range") }
        let priority = try r.bool()
        let toDate = try r.int()
        guard toDate >= 0 else { throw DecodeError("negative exports to date") }
        return PoolCandidate(firm: f, readiness: readiness, priority: priority, exportsToDate: toDate)
    }
}

extension RegionSummary {
    public func encode(into w: inout BinaryWriter) {
        w.code(region)
        for v in [firms, exportingFirms, exportUSDk, exportPrevUSDk] { w.int(v) }
        for v in tiers + midsizeGroups + periodExportUSDk + periodExportingFirms + firstExportPeriod { w.int(v) }
        // The follow-up cells, every one in `FollowUpCells` order (most are small or zero).
        for c in followUp.cells {
            for v in [c.firms, c.exportingFirms, c.lastYearUSDk, c.toDateUSDk] { w.int(v) }
        }
    }

    public static func decode(_ r: inout BinaryReader) throws(DecodeError) -> RegionSummary {
        var s = RegionSummary(region: try r.code(Office.self))
        s.firms = try r.int()
        s.exportingFirms = try r.int()
        s.exportUSDk = try r.int()
        s.exportPrevUSDk = try r.int()
        for i in 0..<4 { s.tiers[i] = try r.int() }
        for i in 0..<3 { s.midsizeGroups[i] = try r.int() }
        for i in 0..<ProgramConfiguration.periods { s.periodExportUSDk[i] = try r.int() }
        for i in 0..<ProgramConfiguration.periods { s.periodExportingFirms[i] = try r.int() }
        for i in 0..<ProgramConfiguration.periods { s.firstExportPeriod[i] = try r.int() }
        for i in 0..<FollowUpCells.count {
            let c = FollowUpCell(
                firms: try r.int(), exportingFirms: try r.int(), lastYearUSDk: try r.int(), toDateUSDk: try r.int())
            guard c.isNonNegative, c.exportingFirms <= c.firms else {
                throw DecodeError("follow-up cell \(i) out of range")
            }
            s.followUp.cells[i] = c
        }
        return s
    }
}

extension ChunkResult {
    /// 4: the mid-sized firms' entries after the candidate lists (3: region summaries carry
    /// their follow-up cells, candidates their exports to date; 2: the leaders list).
    public static let version: UInt8 = 4

    /// Candidates travel as (priority, readiness, firm id, exports to date, length-prefixed firm),
    /// so a merge can rank them without decoding the firms that do not make the cut
    /// (`mergeEncoded`); the mid-sized firms' entries follow the three candidate lists.
    public func encoded() -> [UInt8] {
        var w = BinaryWriter()
        w.envelope(kind: PayloadKind.chunkResult, version: Self.version)
        w.int(evaluatedFirms)
        w.varint(UInt64(summaries.count))
        for s in summaries { s.encode(into: &w) }
        var firm = BinaryWriter()
        for list in [pool, newExportSources, leaders] {
            w.varint(UInt64(list.count))
            for c in list {
                w.bool(c.priority)
                w.int(c.readiness)
                w.firmID(c.firm.id)
                w.int(c.exportsToDate)
                firm.reset()
                c.firm.encode(into: &firm)
                w.bytes(firm.bytes)
            }
        }
        w.list(midsize) { w, e in e.encode(into: &w) }
        return w.bytes
    }

    /// A candidate's rank key and where its firm's bytes are.
    struct EncodedCandidate {
        var priority: Bool
        var readiness: Int
        var id: BusinessNumber
        var exportsToDate: Int64
        var payload: Int
        var firm: Range<Int>

        static func ranksBefore(_ a: Self, _ b: Self) -> Bool {
            if a.priority != b.priority { return a.priority }
            if a.readiness != b.readiness { return a.readiness > b.readiness }
            return a.id < b.id
        }
    }

    /// Reads the envelope, the summaries, the three candidate lists' keys and the mid-sized
    /// firms' entries of one payload.
    static func scan(
        _ bytes: [UInt8], payload: Int, markets: Int
    ) throws(DecodeError) -> (
        evaluated: Int, summaries: [RegionSummary], lists: [[EncodedCandidate]], midsize: [MidsizeEntry]
    ) {
        var r = BinaryReader(bytes)
        try r.envelope(kind: PayloadKind.chunkResult, version: version)
        let evaluated = try r.intValue()
        let ns = try r.count(minElementBytes: 10)
        var summaries: [RegionSummary] = []
        for _ in 0..<ns { summaries.append(try RegionSummary.decode(&r)) }
        var lists: [[EncodedCandidate]] = []
        for _ in 0..<3 {
            let n = try r.count(minElementBytes: 16)
            var l: [EncodedCandidate] = []
            l.reserveCapacity(n)
            for _ in 0..<n {
                let priority = try r.bool()
                let readiness = try r.intValue()
                guard (0...10_000).contains(readiness) else { throw DecodeError("readiness out of range") }
                let id = try r.firmID()
                let toDate = try r.int()
                guard toDate >= 0 else { throw DecodeError("negative exports to date") }
                l.append(
                    EncodedCandidate(
                        priority: priority, readiness: readiness, id: id, exportsToDate: toDate, payload: payload,
                        firm: try r.byteRange()))
            }
            lists.append(l)
        }
        let midsize = try r.list(minElementBytes: MidsizeEntry.minBytes) {
            (r: inout BinaryReader) throws(DecodeError) in
            try MidsizeEntry.decode(&r, markets: markets)
        }
        try r.expectEnd()
        return (evaluated, summaries, lists, midsize)
    }

    static func firm(_ c: EncodedCandidate, in payloads: [[UInt8]], markets: Int) throws(DecodeError) -> PoolCandidate {
        var fr = BinaryReader(Array(payloads[c.payload][c.firm]))
        let f = try Firm.decode(&fr, markets: markets)
        try fr.expectEnd()
        guard f.id == c.id else { throw DecodeError("candidate \(c.id) carries firm \(f.id)") }
        return PoolCandidate(firm: f, readiness: c.readiness, priority: c.priority, exportsToDate: c.exportsToDate)
    }

    public static func decode(_ bytes: [UInt8], markets: Int) throws(DecodeError) -> ChunkResult {
        let s = try scan(bytes, payload: 0, markets: markets)
        var lists: [[PoolCandidate]] = []
        for l in s.lists {
            var out: [PoolCandidate] = []
            out.reserveCapacity(l.count)
            for c in l { out.append(try firm(c, in: [bytes], markets: markets)) }
            lists.append(out)
        }
        return ChunkResult(
            summaries: s.summaries, pool: lists[0], newExportSources: lists[1], leaders: lists[2],
            midsize: s.midsize, evaluatedFirms: s.evaluated)
    }

    /// The merge of encoded chunk results (`merge` of their decoded values, the same value),
    /// decoding only the firms that make the first `poolSize` of each list (leaders: the first
    /// `Leaders.limit` of each industry; mid-sized firms: every entry, by firm id).
    public static func mergeEncoded(_ payloads: [[UInt8]], markets: Int, poolSize: Int) throws(DecodeError)
        -> ChunkResult
    {
        var byRegion: [Office: RegionSummary] = [:]
        var evaluated = 0
        var keys: [[EncodedCandidate]] = [[], [], []]
        var midsize: [MidsizeEntry] = []
        for (i, p) in payloads.enumerated() {
            let s = try scan(p, payload: i, markets: markets)
            evaluated += s.evaluated
            for summary in s.summaries {
                if byRegion[summary.region] == nil {
                    byRegion[summary.region] = summary
                } else {
                    byRegion[summary.region]!.merge(summary)
                }
            }
            for l in 0..<3 { keys[l] += s.lists[l] }
            midsize += s.midsize
        }
        var lists: [[PoolCandidate]] = []
        for l in 0..<2 {
            keys[l].sort(by: EncodedCandidate.ranksBefore)
            var out: [PoolCandidate] = []
            for c in keys[l].prefix(poolSize) { out.append(try firm(c, in: payloads, markets: markets)) }
            lists.append(out)
        }
        // Leaders rank on their firms (industry, exports): decoded all, then cut per industry.
        var leaders: [PoolCandidate] = []
        for c in keys[2] { leaders.append(try firm(c, in: payloads, markets: markets)) }
        return ChunkResult(
            summaries: Office.allCases.compactMap { byRegion[$0] }, pool: lists[0], newExportSources: lists[1],
            leaders: Leaders.top(leaders, limit: Leaders.limit(poolSize: poolSize)),
            midsize: midsize.sorted { $0.firm < $1.firm }, evaluatedFirms: evaluated)
    }
}
