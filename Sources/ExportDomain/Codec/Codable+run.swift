/// Everything of a run but its firms and export records: what every job of the run reads once
/// (workers cache it per run).
public struct RunTables: Sendable, Equatable {
    public var configuration: ProgramConfiguration
    public var markets: MarketTable
    public var companies: [TradingCompany]
    public var institutions: [Institution]
    public var targets: [RegionalTarget]
    public var applications: [Application]
    public var deskRankings: [DeskRanking]

    public init(
        configuration: ProgramConfiguration, markets: MarketTable, companies: [TradingCompany],
        institutions: [Institution], targets: [RegionalTarget], applications: [Application],
        deskRankings: [DeskRanking]
    ) {
        self.configuration = configuration
        self.markets = markets
        self.companies = companies
        self.institutions = institutions
        self.targets = targets
        self.applications = applications
        self.deskRankings = deskRankings
    }
}

extension ProgramConfiguration {
    public func encode(into w: inout BinaryWriter) {
        for v in [
            poolSize, emergingQuotaPermille, preferenceListLength, consortiumMin, consortiumMax,
            consortiumMaxInstitutions, fxKRWPerUSD, exportOrientedThresholdPermille, rndPriorityFloor,
            programStart.dayNumber, programYear, chunkSize, topMarkets, emergingReserve == .hard ? 1 : 0,
        ] { w.int(v) }
        w.int(nationalGoalUSDk)
        w.int(midSizeLargeKRWm)
        w.int(excellentStorePlaces)
        w.int(rndSelectionBand)
        w.int(consortiumEmergingTiePermille)
        w.int(consortiumEmergingSharePermille)
    }

    public static func decode(_ r: inout BinaryReader) throws(DecodeError) -> ProgramConfiguration {
        var c = ProgramConfiguration()
        c.poolSize = try r.intValue()
        c.emergingQuotaPermille = try r.intValue()
        c.preferenceListLength = try r.intValue()
        c.consortiumMin = try r.intValue()
        c.consortiumMax = try r.intValue()
        c.consortiumMaxInstitutions = try r.intValue()
        c.fxKRWPerUSD = try r.intValue()
        c.exportOrientedThresholdPermille = try r.intValue()
        c.rndPriorityFloor = try r.intValue()
        let day = try r.intValue()
        guard (0...3_000_000).contains(day) else { throw DecodeError("program_start out of range") }
        c.programStart = CivilDate(dayNumber: day)
        c.programYear = try r.intValue()
        c.chunkSize = try r.intValue()
        c.topMarkets = try r.intValue()
        switch try r.intValue() {
        case 0: c.emergingReserve = .soft
        case 1: c.emergingReserve = .hard
        case let v: throw DecodeError("emerging_reserve \(v) out of range")
        }
        c.nationalGoalUSDk = try r.int()
        c.midSizeLargeKRWm = try r.int()
        c.excellentStorePlaces = try r.intValue()
        c.rndSelectionBand = try r.intValue()
        c.consortiumEmergingTiePermille = try r.intValue()
        c.consortiumEmergingSharePermille = try r.intValue()
        let problems = c.validate()
        guard problems.isEmpty else { throw DecodeError("configuration: " + problems.joined(separator: "; ")) }
        return c
    }
}

extension Market {
    public func encode(into w: inout BinaryWriter) {
        w.string(code)
        w.string(name)
        w.code(bloc)
        w.bool(emerging)
        w.bool(fta)
        w.int(distanceKm)
        w.int(logisticsIndex)
        w.int(importGrowthPermille)
        w.bool(muslimMajority)
        w.list(demand) { w, d in w.int(d) }
    }

    public static func decode(_ r: inout BinaryReader) throws(DecodeError) -> Market {
        let code = try r.string()
        let name = try r.string()
        let bloc = try r.code(Bloc.self)
        let emerging = try r.bool()
        let fta = try r.bool()
        let distance = try r.int(in: 0...50_000, "distance")
        let logistics = try r.int(in: 0...1_000, "logistics index")
        let growth = try r.int(in: -1_000...10_000, "import growth")
        let muslim = try r.bool()
        let demand = try r.list(minElementBytes: 1) { (r: inout BinaryReader) throws(DecodeError) in
            try r.int(in: 0...1_000, "demand")
        }
        guard demand.count == Industry.allCases.count else { throw DecodeError("market \(code): demand per industry") }
        return Market(
            code: code, name: name, bloc: bloc, emerging: emerging, fta: fta, distanceKm: distance,
            logisticsIndex: logistics, importGrowthPermille: growth, muslimMajority: muslim, demand: demand)
    }
}

extension ExportRecord {
    public func encode(into w: inout BinaryWriter) {
        w.firmID(firm)
        w.int(period)
        w.u8(market)
        w.int(usdK)
    }

    public static func decode(_ r: inout BinaryReader, markets n: Int) throws(DecodeError) -> ExportRecord {
        let firm = try r.firmID()
        let period = try r.int(in: 0...(ProgramConfiguration.periods - 1), "period")
        let market = try r.market(n)
        let usd = try r.int()
        guard usd >= 0 else { throw DecodeError("negative export amount") }
        return ExportRecord(firm: firm, period: period, market: market, usdK: usd)
    }
}

extension RunTables {
    public static let version: UInt8 = 3

    public func encoded() -> [UInt8] {
        var w = BinaryWriter()
        w.envelope(kind: PayloadKind.runTables, version: Self.version)
        configuration.encode(into: &w)
        w.list(markets.markets) { w, m in m.encode(into: &w) }
        w.list(companies) { w, c in c.encode(into: &w) }
        w.list(institutions) { w, i in i.encode(into: &w) }
        w.list(targets) { w, t in
            w.code(t.region)
            w.int(t.year)
            w.int(t.exportingFirms)
            w.int(t.avgExportUSDk)
        }
        w.list(applications) { w, a in a.encode(into: &w) }
        w.list(deskRankings) { w, d in d.encode(into: &w) }
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> RunTables {
        var r = BinaryReader(bytes)
        try r.envelope(kind: PayloadKind.runTables, version: version)
        let configuration = try ProgramConfiguration.decode(&r)
        let markets = try r.list(minElementBytes: 20) { (r: inout BinaryReader) throws(DecodeError) in
            try Market.decode(&r)
        }
        guard (1...250).contains(markets.count) else { throw DecodeError("1 to 250 markets expected") }
        let n = markets.count
        let companies = try r.list(minElementBytes: 6) { (r: inout BinaryReader) throws(DecodeError) in
            try TradingCompany.decode(&r, markets: n)
        }
        let institutions = try r.list(minElementBytes: 5) { (r: inout BinaryReader) throws(DecodeError) in
            try Institution.decode(&r)
        }
        let targets = try r.list(minElementBytes: 4) { (r: inout BinaryReader) throws(DecodeError) in
            RegionalTarget(
                region: try r.code(Office.self), year: try r.int(in: 1900...3000, "year"),
                exportingFirms: try r.int(in: 0...100_000_000, "target"), avgExportUSDk: try r.int())
        }
        let applications = try r.list(minElementBytes: 4) { (r: inout BinaryReader) throws(DecodeError) in
            try Application.decode(&r, markets: n)
        }
        let rankings = try r.list(minElementBytes: 4) { (r: inout BinaryReader) throws(DecodeError) in
            try DeskRanking.decode(&r)
        }
        try r.expectEnd()
        return RunTables(
            configuration: configuration, markets: MarketTable(markets), companies: companies,
            institutions: institutions, targets: targets, applications: applications, deskRankings: rankings)
    }
}

/// The firms of one evaluation chunk (one region) and their export records.
public struct ChunkInput: Sendable, Equatable {
    public var firms: [Firm]
    public var records: [ExportRecord]

    public init(firms: [Firm], records: [ExportRecord]) {
        self.firms = firms
        self.records = records
    }

    public static let version: UInt8 = 1

    public static func encodeFirms(_ firms: [Firm]) -> [UInt8] {
        var w = BinaryWriter()
        w.envelope(kind: PayloadKind.firms, version: version)
        w.list(firms) { w, f in f.encode(into: &w) }
        return w.bytes
    }

    /// A chunk from firms already encoded one after another (`Firm.encode`), `count` of them.
    public static func encodeFirms(count: Int, body: [UInt8]) -> [UInt8] {
        var w = BinaryWriter()
        w.envelope(kind: PayloadKind.firms, version: version)
        w.varint(UInt64(count))
        return w.bytes + body
    }

    /// A block of `count` export records encoded one after another (`ExportRecord.encode`).
    public static func encodeRecords(count: Int, body: [UInt8]) -> [UInt8] {
        var w = BinaryWriter()
        w.envelope(kind: PayloadKind.exportRecords, version: version)
        w.varint(UInt64(count))
        return w.bytes + body
    }

    public static func decodeFirms(_ bytes: [UInt8], markets n: Int) throws(DecodeError) -> [Firm] {
        var r = BinaryReader(bytes)
        try r.envelope(kind: PayloadKind.firms, version: version)
        let firms = try r.list(minElementBytes: 12) { (r: inout BinaryReader) throws(DecodeError) in
            try Firm.decode(&r, markets: n)
        }
        try r.expectEnd()
        return firms
    }

    /// A block of export records (blocks of one chunk are concatenated as a list in Redis).
    public static func encodeRecords(_ records: [ExportRecord]) -> [UInt8] {
        var w = BinaryWriter()
        w.envelope(kind: PayloadKind.exportRecords, version: version)
        w.list(records) { w, e in e.encode(into: &w) }
        return w.bytes
    }

    public static func decodeRecords(_ bytes: [UInt8], markets n: Int) throws(DecodeError) -> [ExportRecord] {
        var r = BinaryReader(bytes)
        try r.envelope(kind: PayloadKind.exportRecords, version: version)
        let records = try r.list(minElementBytes: 4) { (r: inout BinaryReader) throws(DecodeError) in
            try ExportRecord.decode(&r, markets: n)
        }
        try r.expectEnd()
        return records
    }
}
