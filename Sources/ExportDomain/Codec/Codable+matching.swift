/// Binary forms of the per-ecosystem job's input and result.
extension TradingCompany {
    public func encode(into w: inout BinaryWriter) {
        w.string(id)
        w.string(name)
        w.list(desks) { w, d in
            w.code(d.industry)
            w.int(d.capacity)
        }
        w.bytes(markets)
        w.u8(channels)
        w.int(successRatePermille)
    }

    public static func decode(_ r: inout BinaryReader, markets n: Int) throws(DecodeError) -> TradingCompany {
        let id = try r.string()
        let name = try r.string()
        let desks = try r.list(minElementBytes: 2) { (r: inout BinaryReader) throws(DecodeError) in
            Desk(industry: try r.code(Industry.self), capacity: try r.int(in: 1...1_000_000, "capacity"))
        }
        let markets = try r.bytes()
        guard markets.allSatisfy({ Int($0) < n }) else { throw DecodeError("company \(id): market index out of range") }
        return TradingCompany(
            id: id, name: name, desks: desks, markets: markets, channels: try r.u8(),
            successRatePermille: try r.int(in: 0...1000, "success rate"))
    }
}

extension Institution {
    public func encode(into w: inout BinaryWriter) {
        w.string(id)
        w.string(name)
        w.code(kind)
        w.code(region)
        w.list(industries) { w, i in w.code(i) }
    }

    public static func decode(_ r: inout BinaryReader) throws(DecodeError) -> Institution {
        Institution(
            id: try r.string(), name: try r.string(), kind: try r.code(InstitutionKind.self),
            region: try r.code(Office.self),
            industries: try r.list(minElementBytes: 1) { (r: inout BinaryReader) throws(DecodeError) in
                try r.code(Industry.self)
            })
    }
}

extension Application {
    public func encode(into w: inout BinaryWriter) {
        w.firmID(firm)
        w.string(company)
        w.int(rank)
        w.optionalInt(targetMarket.map(Int.init))
    }

    public static func decode(_ r: inout BinaryReader, markets n: Int) throws(DecodeError) -> Application {
        let firm = try r.firmID()
        let company = try r.string()
        let rank = try r.int(in: 1...10_000_000, "rank")
        let market = try r.optionalInt()
        if let m = market, !(0..<n).contains(m) { throw DecodeError("market index \(m) out of range") }
        return Application(firm: firm, company: company, rank: rank, targetMarket: market.map { UInt8($0) })
    }
}

extension DeskRanking {
    public func encode(into w: inout BinaryWriter) {
        w.string(company)
        w.code(industry)
        w.firmID(firm)
        w.int(rank)
    }

    public static func decode(_ r: inout BinaryReader) throws(DecodeError) -> DeskRanking {
        DeskRanking(
            company: try r.string(), industry: try r.code(Industry.self), firm: try r.firmID(),
            rank: try r.int(in: 1...10_000_000, "rank"))
    }
}

extension EcosystemInput {
    /// 4: candidates carry their exports to date (3: the leaders outside the pool).
    public static let version: UInt8 = 4

    public func encoded() -> [UInt8] {
        var w = BinaryWriter()
        w.envelope(kind: PayloadKind.ecosystemInput, version: Self.version)
        w.code(industry)
        for list in [firms, newExportSources] { w.list(list) { w, c in c.encode(into: &w) } }
        w.list(companies) { w, c in c.encode(into: &w) }
        w.list(institutions) { w, i in i.encode(into: &w) }
        w.list(applications) { w, a in a.encode(into: &w) }
        w.list(deskRankings) { w, d in d.encode(into: &w) }
        w.list(leaders) { w, c in c.encode(into: &w) }
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8], markets n: Int) throws(DecodeError) -> EcosystemInput {
        var r = BinaryReader(bytes)
        try r.envelope(kind: PayloadKind.ecosystemInput, version: version)
        let industry = try r.code(Industry.self)
        let firms = try r.list(minElementBytes: 16) { (r: inout BinaryReader) throws(DecodeError) in
            try PoolCandidate.decode(&r, markets: n)
        }
        let sources = try r.list(minElementBytes: 16) { (r: inout BinaryReader) throws(DecodeError) in
            try PoolCandidate.decode(&r, markets: n)
        }
        let companies = try r.list(minElementBytes: 6) { (r: inout BinaryReader) throws(DecodeError) in
            try TradingCompany.decode(&r, markets: n)
        }
        let institutions = try r.list(minElementBytes: 5) { (r: inout BinaryReader) throws(DecodeError) in
            try Institution.decode(&r)
        }
        let applications = try r.list(minElementBytes: 4) { (r: inout BinaryReader) throws(DecodeError) in
            try Application.decode(&r, markets: n)
        }
        let rankings = try r.list(minElementBytes: 4) { (r: inout BinaryReader) throws(DecodeError) in
            try DeskRanking.decode(&r)
        }
        let leaders = try r.list(minElementBytes: 16) { (r: inout BinaryReader) throws(DecodeError) in
            try PoolCandidate.decode(&r, markets: n)
        }
        try r.expectEnd()
        return EcosystemInput(
            industry: industry, firms: firms, newExportSources: sources, companies: companies,
            institutions: institutions, applications: applications, deskRankings: rankings, leaders: leaders)
    }
}

extension EcosystemResult {
    public static let version: UInt8 = 4

    public func encoded() -> [UInt8] {
        var w = BinaryWriter()
        w.envelope(kind: PayloadKind.ecosystemResult, version: Self.version)
        w.code(industry)
        w.int(poolFirms)
        w.int(firmsWithApplications)
        w.int(desksWithRankings)
        w.int(contracts)
        w.int(offers)
        w.optionalInt(emptySeatsWithoutCap)
        w.int(consortiumLeaders)
        w.list(variants) { w, v in
            w.code(v.rule)
            for n in [v.seats, v.matched, v.emergingMatched] { w.int(n) }
            w.list(v.choiceCounts) { w, n in w.int(n) }
        }
        w.list(matches) { w, m in
            w.firmID(m.firm)
            w.string(m.company)
            w.code(m.industry)
            w.u8(m.targetMarket)
            w.bool(m.emerging)
            w.int(m.firmChoice)
            w.int(m.deskRank)
        }
        w.list(desks) { w, d in
            w.string(d.company)
            w.code(d.industry)
            for v in [d.capacity, d.reserved, d.matched, d.emergingMatched, d.applicants, d.emergingApplicants] {
                w.int(v)
            }
            w.bool(d.ownRanking)
        }
        w.list(consortia) { w, c in
            w.string(c.id)
            w.code(c.industry)
            w.firmID(c.leader)
            w.bool(c.leaderFromOutside)
            w.list(c.members) { w, m in w.firmID(m) }
            w.u8(c.targetMarket)
            w.list(c.institutions) { w, i in w.string(i) }
            w.bool(c.support != nil)
            if let s = c.support { w.string(s) }
            w.code(c.targetRule)
            w.int(c.objective)
        }
        w.list(unplaced) { w, u in
            w.firmID(u.firm)
            w.string(u.reason)
        }
        w.list(channels) { w, c in
            w.firmID(c.firm)
            w.code(c.channel)
            w.code(c.route)
            w.optionalInt(c.market.map(Int.init))
        }
        w.list(newExportSources) { w, s in
            w.firmID(s.firm)
            w.int(s.readiness)
            w.u8((s.procurementExcellent ? 1 : 0) | (s.homeShoppingBestseller ? 2 : 0))
            w.list(s.markets) { w, m in m.encode(into: &w) }
        }
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8], markets n: Int) throws(DecodeError) -> EcosystemResult {
        var r = BinaryReader(bytes)
        try r.envelope(kind: PayloadKind.ecosystemResult, version: version)
        let industry = try r.code(Industry.self)
        let poolFirms = try r.int(in: 0...100_000_000, "pool firms")
        let withApplications = try r.int(in: 0...100_000_000, "firms with applications")
        let withRankings = try r.int(in: 0...100_000_000, "desks with rankings")
        let contracts = try r.int(in: 0...1_000_000_000, "contracts")
        let offers = try r.int(in: 0...1_000_000_000, "offers")
        let emptyWithoutCap = try r.optionalInt()
        if let e = emptyWithoutCap, !(0...100_000_000).contains(e) {
            throw DecodeError("empty seats \(e) out of range")
        }
        let consortiumLeaders = try r.int(in: 0...100_000_000, "consortium leaders")
        let variants = try r.list(minElementBytes: 5) { (r: inout BinaryReader) throws(DecodeError) in
            MatchingVariant(
                rule: try r.code(MatchingVariant.Rule.self), seats: try r.int(in: 0...100_000_000, "seats"),
                matched: try r.int(in: 0...100_000_000, "matched"),
                emergingMatched: try r.int(in: 0...100_000_000, "emerging matched"),
                choiceCounts: try r.list(minElementBytes: 1) { (r: inout BinaryReader) throws(DecodeError) in
                    try r.int(in: 0...100_000_000, "choice count")
                })
        }
        let matches = try r.list(minElementBytes: 7) { (r: inout BinaryReader) throws(DecodeError) in
            Match(
                firm: try r.firmID(), company: try r.string(), industry: try r.code(Industry.self),
                targetMarket: try r.market(n), emerging: try r.bool(),
                firmChoice: try r.int(in: 1...1_000_000, "choice"),
                deskRank: try r.int(in: 1...100_000_000, "desk rank"))
        }
        let desks = try r.list(minElementBytes: 9) { (r: inout BinaryReader) throws(DecodeError) in
            DeskReport(
                company: try r.string(), industry: try r.code(Industry.self),
                capacity: try r.int(in: 0...1_000_000, "capacity"), reserved: try r.int(in: 0...1_000_000, "reserved"),
                matched: try r.int(in: 0...1_000_000, "matched"),
                emergingMatched: try r.int(in: 0...1_000_000, "matched"),
                applicants: try r.int(in: 0...100_000_000, "applicants"),
                emergingApplicants: try r.int(in: 0...100_000_000, "applicants"), ownRanking: try r.bool())
        }
        let consortia = try r.list(minElementBytes: 7) { (r: inout BinaryReader) throws(DecodeError) in
            Consortium(
                id: try r.string(), industry: try r.code(Industry.self), leader: try r.firmID(),
                leaderFromOutside: try r.bool(),
                members: try r.list(minElementBytes: 1) { (r: inout BinaryReader) throws(DecodeError) in try r.firmID()
                },
                targetMarket: try r.market(n),
                institutions: try r.list(minElementBytes: 1) { (r: inout BinaryReader) throws(DecodeError) in
                    try r.string()
                }, support: try r.bool() ? try r.string() : nil, targetRule: try r.code(Consortium.TargetRule.self),
                objective: try r.intValue())
        }
        let unplaced = try r.list(minElementBytes: 2) { (r: inout BinaryReader) throws(DecodeError) in
            UnplacedFirm(firm: try r.firmID(), reason: try r.string())
        }
        let channels = try r.list(minElementBytes: 4) { (r: inout BinaryReader) throws(DecodeError) in
            let firm = try r.firmID()
            let channel = try r.code(Channel.self)
            let route = try r.code(ChannelRecommendation.Route.self)
            let market = try r.optionalInt()
            if let m = market, !(0..<n).contains(m) { throw DecodeError("market index \(m) out of range") }
            return ChannelRecommendation(firm: firm, channel: channel, route: route, market: market.map { UInt8($0) })
        }
        let sources = try r.list(minElementBytes: 4) { (r: inout BinaryReader) throws(DecodeError) in
            let firm = try r.firmID()
            let readiness = try r.int(in: 0...10_000, "readiness")
            let flags = try r.u8()
            let picks = try r.list(minElementBytes: 4) { (r: inout BinaryReader) throws(DecodeError) in
                try MarketPick.decode(&r, markets: n)
            }
            return NewExportSource(
                firm: firm, readiness: readiness, procurementExcellent: flags & 1 != 0,
                homeShoppingBestseller: flags & 2 != 0, markets: picks)
        }
        try r.expectEnd()
        return EcosystemResult(
            industry: industry, poolFirms: poolFirms, matches: matches, desks: desks, consortia: consortia,
            unplaced: unplaced, channels: channels, newExportSources: sources, firmsWithApplications: withApplications,
            desksWithRankings: withRankings, contracts: contracts, offers: offers, variants: variants,
            emptySeatsWithoutCap: emptyWithoutCap, consortiumLeaders: consortiumLeaders)
    }
}
