import ExportDomain

#if canImport(Glibc)
    import Glibc
#endif

/// `exportctl generate`: a synthetic national dataset, the same bytes for the same seed.
/// docs/DATASETS.md ("The synthetic nation") gives every distribution and share, and why.
///
/// Firms: offices weighted by provincial export shares; about 9% of firms export, with a
/// log-normal export size (median USD 148k, mid-sized firms USD 1.5M, sigma 2.0) so about 80%
/// of exporters ship under USD 1M and the average is about USD 1.8M; destinations weighted so
/// that China and the US take the most export value, Vietnam and Japan follow, and about 29% of
/// the value goes to emerging markets (larger exporters ship to more markets); mid-sized firms
/// about 3%, some above 1 trillion KRW revenue; recommendations, R&D successes, procurement and
/// home-shopping flags at plausible rates. 216 trading companies with 1 to 4 desks each; a few hundred institutions;
/// yearly targets per office; 26 two-week periods of export records for exporters. Valid check
/// digits throughout.
///
/// Private lists, drawn once the national pool is known (the accepted firms are evaluated chunk
/// by chunk and merged, as a run does): about 80% of desks rank the pool firms of their industry
/// by their own taste (their view of each firm's readiness, how much of its potential lies in
/// their markets, a leaning of their own, noise) and refuse their bottom 10-35%
/// (`desk_rankings.csv`); about 65% of pool firms list 2 to 6 companies they know, with up to
/// two target markets each, ranked by their own utility, 15% of them naming companies only
/// (`applications.csv`).
///
/// With `dirtyShare` > 0, that share of rows is broken in realistic ways (bad check digits,
/// typos in codes, broken quoting, CP949 text in a UTF-8 file, duplicates, impossible amounts,
/// periods outside the year, bad desks; in the lists unknown companies, firms and market codes,
/// markets a company does not cover, firms of another industry, duplicate contracts and firms,
/// skipped ranks), and `dirty_manifest.csv` lists every row validation must reject, with its
/// column (cascades included: export rows of a rejected firm, the later ranks of a list after a
/// missing rank).
public struct NationGenerator {
    public var firms: Int
    public var seed: UInt64
    public var dirtyShare: Double
    public var companies = 216
    public var institutions = 300
    public var configuration = ProgramConfiguration()
    /// Two-week periods of the program year with export records written (1 to 26): the date the
    /// monitoring has reached. 26, the default, is the whole year.
    public var recordedPeriods = ProgramConfiguration.periods
    /// Share of the firms without last year's exports that start exporting during the year.
    public static let newExporterShare = 0.02

    public init(firms: Int, seed: UInt64, dirtyShare: Double = 0) {
        self.firms = firms
        self.seed = seed
        self.dirtyShare = dirtyShare
    }

    /// What was written.
    public struct Summary: Sendable {
        public var firms = 0
        public var exporters = 0
        public var companies = 0
        public var institutions = 0
        public var exportRecords = 0
        /// Firms without last year's exports that have an export record this year.
        public var newExporters = 0
        /// Firms in the national pool the lists were drawn from.
        public var poolFirms = 0
        /// Rows of applications.csv, and the pool firms they come from.
        public var applicationRows = 0
        public var applyingFirms = 0
        /// Rows of desk_rankings.csv, the desks that wrote them, and all desks of accepted
        /// companies.
        public var deskRankingRows = 0
        public var rankingDesks = 0
        public var desks = 0
        public var brokenRows = 0
    }

    /// One expected rejection.
    public struct Expected: Hashable, Sendable {
        public var file: String
        public var line: Int
        public var column: String
        public var kind: String
    }

    public func write(to directory: String) throws(FileProblem) -> Summary {
        _ = mkdir(directory, 0o755)
        var rng = SeededRandom(seed: seed)
        var s = Summary()
        var expected: [Expected] = []
        let markets = MarketTable.builtin
        let (firmsOut, pool) = try generateFirms(directory, &rng, markets, &s, &expected)
        let companiesOut = try generateCompanies(directory, &rng, markets, &s, &expected)
        try generateInstitutions(directory, &rng, &s)
        try generateTargets(directory, firmsOut, &rng, &expected)
        try generateExports(directory, firmsOut, &rng, &s, &expected)
        // The private lists come from a stream of their own, so that they can change without
        // changing the other files.
        var lists = SeededRandom(seed: seed ^ 0x6C69_7374_735F_7631)
        try generateLists(directory, pool: pool, companies: companiesOut, markets, &lists, &s, &expected)
        try writeConfig(directory)
        if dirtyShare > 0 {
            let w = try CSVWriter(path: directory + "/dirty_manifest.csv")
            try w.row(["file", "line", "column", "kind"])
            for e in expected.sorted(by: { ($0.file, $0.line) < ($1.file, $1.line) }) {
                w.field(e.file)
                w.field(e.line)
                w.field(e.column)
                w.field(e.kind)
                try w.endRow()
            }
            try w.flush()
        }
        s.brokenRows = expected.count
        return s
    }

    // MARK: - Firms

    /// What exports and targets need to know about each generated firm.
    struct GeneratedFirm {
        var id: BusinessNumber
        var region: Office
        var exportUSDk: Int64
        var mainMarket: UInt8
        var accepted: Bool
    }

    static let industryWeights = [120, 140, 110, 40, 90, 80, 60, 110, 70, 50, 70, 40, 20]
    static let hangulFirst = [
        "한", "빛", "대", "성", "동", "아", "세", "진", "우", "신", "미", "래", "청", "솔", "금", "강", "태", "양", "현", "정",
    ]
    static let hangulSuffix = ["테크", "산업", "정밀", "전자", "화학", "식품", "코스메틱", "바이오", "소재", "기계", "엔지니어링", "물산"]
    static let romanFirst = [
        "Hanbit", "Daesung", "Dongah", "Sejin", "Woori", "Shinmi", "Cheongsol", "Geumgang", "Taeyang", "Hyunjeong",
        "Miraesan", "Seongjin",
    ]
    static let romanSuffix = [
        " Tech", " Industries", " Precision", " Electronics", " Chemical", " Foods", " Cosmetics", " Bio", " Materials",
        " Machinery", " Trading", " Systems",
    ]
    static let romanForm = [" Co., Ltd.", " Inc.", "", " Corp."]

    static func name(_ rng: inout SeededRandom) -> String {
        if rng.chance(0.5) {
            return hangulFirst[rng.below(hangulFirst.count)] + hangulFirst[rng.below(hangulFirst.count)]
                + hangulSuffix[rng.below(hangulSuffix.count)] + (rng.chance(0.3) ? " 주식회사" : "")
        }
        return romanFirst[rng.below(romanFirst.count)] + romanSuffix[rng.below(romanSuffix.count)]
            + romanForm[rng.below(romanForm.count)]
    }

    /// A standard normal (Box-Muller).
    static func normal(_ rng: inout SeededRandom) -> Double {
        let u = max(rng.unit(), 1e-12)
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * rng.unit())
    }

    static func logNormal(_ rng: inout SeededRandom, median: Double, sigma: Double) -> Double {
        median * exp(sigma * normal(&rng))
    }

    /// Market weights for exporters: how often a market is drawn as one of a firm's destinations
    /// (the first drawn takes the largest share of its exports). Tuned so that, as for Korean
    /// SMEs, China and the US are the two largest destinations by value, Vietnam and Japan
    /// follow, and roughly 29% of export value goes to emerging markets.
    static func marketWeights(_ markets: MarketTable) -> [Int] {
        markets.markets.map { m in
            switch m.code {
            case "CN": return 280
            case "US": return 190
            case "VN": return 90
            case "JP": return 95
            case "HK": return 45
            case "IN": return 22
            default:
                switch m.bloc {
                case .ASEAN: return 13
                case .EUROPE: return 14
                case .MENA: return 6
                case .LATAM: return 5
                default: return 8
                }
            }
        }
    }

    /// The `i`-th unique valid business registration number.
    static func businessNumber(_ i: Int) -> BusinessNumber {
        let tax = 101 + i % 899
        let rest = i / 899
        let kind = 10 + rest % 90
        let serial = rest / 90
        return BusinessNumber.completing(UInt64(tax) * 1_000_000 + UInt64(kind) * 10_000 + UInt64(serial % 10_000))
    }

    /// Writes firms.csv. Returns what later files need of each firm, and the national pool of
    /// the accepted rows as the evaluation would build it.
    private func generateFirms(
        _ dir: String, _ rng: inout SeededRandom, _ markets: MarketTable, _ s: inout Summary,
        _ expected: inout [Expected]
    ) throws(FileProblem) -> ([GeneratedFirm], [PoolCandidate]) {
        let w = try CSVWriter(path: dir + "/firms.csv")
        try w.row(DatasetReader.firmRequired + DatasetReader.firmOptional)
        let offices = Office.allCases
        let officeCum = cumulative(offices.map(\.exportSharePermille))
        let industryCum = cumulative(Self.industryWeights)
        let marketCum = cumulative(Self.marketWeights(markets))
        let roles = ValueChainRole.allCases
        var out: [GeneratedFirm] = []
        out.reserveCapacity(firms)
        var line = 1
        var acceptedIndices: [Int] = []
        // The pool, as the evaluation builds it: accepted rows evaluated chunk by chunk, each
        // chunk's ranked list merged into the running pool, so only one chunk of firms is kept.
        // Only eligible firms can enter the pool, so only they are kept for evaluation.
        let evaluator = Evaluator(markets: markets, configuration: configuration)
        var chunk: [Firm] = []
        chunk.reserveCapacity(configuration.chunkSize)
        var pool: [PoolCandidate] = []
        func evaluateChunk() {
            let result = evaluator.evaluate(chunk, records: [])
            pool = CandidatePool.merge([pool, result.pool], n: configuration.poolSize)
            chunk.removeAll(keepingCapacity: true)
        }
        for i in 0..<firms {
            let id = Self.businessNumber(i)
            let region = offices[rng.pick(cumulative: officeCum)]
            let industry = Industry.allCases[rng.pick(cumulative: industryCum)]
            let role: ValueChainRole =
                industry.isServices ? .SERVICES : roles[industry.isConsumer && rng.chance(0.6) ? 3 : rng.below(4)]
            let sizeRoll = rng.unit()
            let size: SizeClass = sizeRoll < 0.70 ? .SMALL : sizeRoll < 0.97 ? .MEDIUM : .MIDSIZE
            let revenue: Int64
            switch size {
            case .SMALL: revenue = Int64(Self.logNormal(&rng, median: 1_800, sigma: 0.9)) + 50
            case .MEDIUM: revenue = Int64(Self.logNormal(&rng, median: 25_000, sigma: 0.8)) + 1_000
            case .MIDSIZE: revenue = Int64(Self.logNormal(&rng, median: 320_000, sigma: 0.9)) + 100_000
            }
            let exportChance = size == .SMALL ? 0.06 : size == .MEDIUM ? 0.15 : 0.45
            var exportUSDk: Int64 = 0
            var exportPrev: Int64 = 0
            var exportMarkets: [MarketExport] = []
            var mainMarket: UInt8 = 0
            if rng.chance(exportChance) {
                var v = Self.logNormal(&rng, median: size == .MIDSIZE ? 1_500 : 148, sigma: 2.0)
                // Exports cannot exceed revenue (KRW millions at the configured rate).
                v = min(v, Double(revenue) * 1_000 / Double(configuration.fxKRWPerUSD) * 0.95)
                exportUSDk = max(1, Int64(v))
                exportPrev =
                    rng.chance(0.1)
                    ? 0 : max(0, Int64(Double(exportUSDk) * Self.logNormal(&rng, median: 0.9, sigma: 0.3)))
                // Larger exporters ship to more markets, and less of it to their first one.
                let n =
                    exportUSDk < 1_000 ? 1 + rng.below(2) : exportUSDk < 10_000 ? 2 + rng.below(4) : 4 + rng.below(7)
                let (lead, spread) = n <= 2 ? (0.4, 0.5) : (0.25, 0.45)
                var remaining = exportUSDk
                for k in 0..<n {
                    let m = UInt8(rng.pick(cumulative: marketCum))
                    if exportMarkets.contains(where: { $0.market == m }) { continue }
                    let share = k == n - 1 ? remaining : Int64(Double(remaining) * (lead + spread * rng.unit()))
                    if k == 0 { mainMarket = m }
                    exportMarkets.append(MarketExport(market: m, usdK: share))
                    remaining -= share
                }
                exportMarkets.sort { $0.market < $1.market }
                s.exporters += 1
            }
            let chapters = industry.typicalHSChapters
            var hs = [chapters[rng.below(chapters.count)]]
            if rng.chance(0.3) {
                let second = chapters[rng.below(chapters.count)]
                if second != hs[0] { hs.append(second) }
            }
            hs.sort()
            var certs: [Certification] = []
            if rng.chance(0.4) { certs.append(.ISO9001) }
            switch industry {
            case .FOOD_AGRI, .COSMETICS_BEAUTY, .MEDICAL_BIO:
                if rng.chance(0.15) { certs.append(.HALAL) }
                if rng.chance(0.2) { certs.append(.FDA) }
                if industry == .MEDICAL_BIO && rng.chance(0.3) { certs.append(.CE) }
            case .ELECTRONICS:
                if rng.chance(0.3) { certs.append(.CE) }
                if rng.chance(0.2) { certs.append(.CCC) }
            case .MACHINERY, .AUTO_PARTS, .SEMICONDUCTOR_DISPLAY, .CONSUMER_GOODS:
                if rng.chance(0.3) { certs.append(.CE) }
            default: break
            }
            let rnd = rng.chance(0.08)
            let procurement = rng.chance(0.03)
            let homeShopping = rng.chance(industry.isConsumer ? 0.06 : 0.005)
            var recommenders: [Recommender] = []
            if rng.chance(exportUSDk > 0 ? 0.5 : 0.22) {
                for r in Recommender.allCases where rng.chance(0.4) { recommenders.append(r) }
                if recommenders.isEmpty { recommenders.append(Recommender.allCases[rng.below(4)]) }
            }
            var channels: [Channel] = []
            if industry.isConsumer && rng.chance(0.12) {
                for c in [Channel.AMAZON, .EBAY, .QOO10, .GLOBAL_11ST] where rng.chance(0.4) { channels.append(c) }
            }
            let employees =
                size == .SMALL ? 3 + rng.below(45) : size == .MEDIUM ? 50 + rng.below(250) : 300 + rng.below(1500)
            let debt = 30 + rng.below(300)
            let patents = rng.chance(0.3) ? rng.below(40) : 0
            let name = Self.name(&rng)

            // Dirty: break this row in one way, or keep it.
            line += 1
            var broken: (column: String, kind: String)?
            // Field values in the header's order (DatasetReader.firmRequired + firmOptional).
            var fields: [String] = [
                "\(id)", name, region.rawValue, size.rawValue, industry.rawValue, role.rawValue, "\(revenue)",
                "\(exportUSDk)",
                "\(exportPrev)", "\(employees)", hs.map { $0 < 10 ? "0\($0)" : "\($0)" }.joined(separator: ";"),
                exportMarkets.map { "\(markets[$0.market].code):\($0.usdK)" }.joined(separator: ";"),
                certs.map(\.rawValue).joined(separator: ";"), rnd ? "true" : "false", procurement ? "Y" : "N",
                homeShopping ? "1" : "0", channels.map(\.rawValue).joined(separator: ";"),
                recommenders.map(\.rawValue).joined(separator: ";"), "\(debt)", "\(patents)",
            ]
            enum F {
                static let firmId = 0, name = 1, region = 2, industry = 4, revenue = 6, exports = 7
                /// Amounts and counts: revenue, exports, previous exports, employees, debt, patents.
                static let numbers: Set<Int> = [6, 7, 8, 9, 18, 19]
            }
            var rawName: [UInt8]?
            var quirk = false
            if dirtyShare > 0 && rng.chance(dirtyShare) {
                switch rng.below(7) {
                case 0:
                    let digits = Array("\(id)".utf8)
                    var d = digits
                    d[d.count - 1] = 48 + (d[d.count - 1] - 48 + 1 + UInt8(rng.below(8))) % 10
                    fields[F.firmId] = String(decoding: d, as: UTF8.self)
                    broken = ("firm_id", "check digit")
                case 1:
                    fields[F.region] = typo(region.rawValue, &rng)
                    broken = ("region", "unknown office code")
                case 2:
                    fields[F.industry] = typo(industry.rawValue, &rng)
                    broken = ("industry", "unknown industry")
                case 3:
                    fields[F.revenue] = "-\(revenue)"
                    broken = ("revenue_krw_m", "negative amount")
                case 4:
                    fields[F.exports] = "\(exportUSDk)k"
                    broken = ("export_usd_k", "non-numeric amount")
                case 5:
                    quirk = true
                    broken = ("", "text after a closing quote")
                default:
                    rawName = cp949Bytes(Self.hangulFirst[rng.below(Self.hangulFirst.count)] + "산업")
                    broken = ("name", "CP949 text in a UTF-8 file")
                }
            }
            for (k, value) in fields.enumerated() {
                if k == F.name, quirk {
                    w.beginField()
                    w.raw(Array("\"\(name.replacingQuotes())\"x".utf8))
                } else if k == F.name, let rawName {
                    w.beginField()
                    w.raw(rawName)
                } else if F.numbers.contains(k) {
                    w.number(value)  // a negative amount stays a number (a dirty row), not text
                } else {
                    w.field(value)
                }
            }
            try w.endRow()
            if let broken {
                expected.append(Expected(file: "firms.csv", line: line, column: broken.column, kind: broken.kind))
            } else {
                acceptedIndices.append(out.count)
                // The value the reader makes of this row.
                let firm = Firm(
                    id: id, name: name, region: region, sizeClass: size, industry: industry, role: role,
                    revenueKRWm: revenue, exportUSDk: exportUSDk, exportPrevUSDk: exportPrev, employees: employees,
                    hsChapters: hs, exportMarkets: exportMarkets, certifications: certs.reduce(0) { $0 | $1.bit },
                    rndSuccess: rnd, procurementExcellent: procurement, homeShoppingBestseller: homeShopping,
                    onlineChannels: channels.reduce(0) { $0 | $1.bit },
                    recommendedBy: recommenders.reduce(0) { $0 | $1.bit }, debtRatioPct: debt, patents: patents)
                if CandidatePool.isEligible(firm) {
                    chunk.append(firm)
                    if chunk.count == configuration.chunkSize { evaluateChunk() }
                }
            }
            out.append(
                GeneratedFirm(
                    id: id, region: region, exportUSDk: exportUSDk, mainMarket: mainMarket, accepted: broken == nil))
            s.firms += 1

            // Dirty: now and then a duplicate of an earlier accepted row.
            if dirtyShare > 0, !acceptedIndices.isEmpty, rng.chance(dirtyShare / 7) {
                let original = out[acceptedIndices[rng.below(acceptedIndices.count)]]
                line += 1
                w.field("\(original.id)")
                w.field(Self.name(&rng))
                w.field(original.region.rawValue)
                for v in ["SMALL", "MACHINERY", "COMPONENTS", "100", "0", "0"] { w.field(v) }
                for _ in DatasetReader.firmOptional { w.field("") }
                try w.endRow()
                expected.append(Expected(file: "firms.csv", line: line, column: "firm_id", kind: "duplicate firm_id"))
            }
        }
        try w.flush()
        if !chunk.isEmpty { evaluateChunk() }
        return (out, pool)
    }

    /// A plausible typo of a code: two letters swapped or one dropped.
    func typo(_ code: String, _ rng: inout SeededRandom) -> String {
        var c = Array(code)
        if c.count > 3 && rng.chance(0.5) {
            let i = 1 + rng.below(c.count - 2)
            c.swapAt(i, i + 1)
            if String(c) == code { c.remove(at: i) }
        } else {
            c.remove(at: rng.below(c.count))
        }
        return String(c)
    }

    func cp949Bytes(_ s: String) -> [UInt8] {
        guard let cd = Iconv(from: "UTF-8", to: "CP949") else { return [0xB0, 0xA1] }
        return cd.convert(Array(s.utf8)).bytes
    }

    // MARK: - Companies, institutions, targets

    /// What the private lists need to know about each generated company.
    struct GeneratedCompany {
        var id: String
        var desks: [Desk]
        /// Sorted market indices.
        var markets: [UInt8]
        var successPermille: Int
        /// False when its row was broken on purpose (validation rejects it).
        var accepted: Bool
    }

    private func generateCompanies(
        _ dir: String, _ rng: inout SeededRandom, _ markets: MarketTable, _ s: inout Summary,
        _ expected: inout [Expected]
    ) throws(FileProblem) -> [GeneratedCompany] {
        let w = try CSVWriter(path: dir + "/trading_companies.csv")
        try w.row(["company_id", "name", "desks", "markets", "channels", "success_rate"])
        let industryCum = cumulative(Self.industryWeights)
        let marketCum = cumulative(Self.marketWeights(markets))
        let blocs = Bloc.allCases
        var out: [GeneratedCompany] = []
        for i in 0..<companies {
            let id = "TC\(1000 + i)"
            let name =
                Self.romanFirst[rng.below(Self.romanFirst.count)] + " Global Trading"
                + (rng.chance(0.5) ? " Co., Ltd." : "")
            var desks: [Desk] = []
            for _ in 0..<(1 + rng.below(4)) {
                let ind = Industry.allCases[rng.pick(cumulative: industryCum)]
                if !desks.contains(where: { $0.industry == ind }) {
                    desks.append(Desk(industry: ind, capacity: 4 + rng.below(20)))
                }
            }
            desks.sort { $0.industry.index < $1.industry.index }
            // A specialty bloc, plus the big markets; about a third of the houses specialise in
            // emerging markets only (the ASEAN, MENA, LATAM and India desks of real trading houses).
            var covered: Set<UInt8>
            if rng.chance(0.35) {
                let emergingBlocs: [Bloc] = [.ASEAN, .MENA, .LATAM, .INDIA]
                let specialty = emergingBlocs[rng.below(emergingBlocs.count)]
                covered = Set(
                    markets.markets.indices.filter {
                        markets.markets[$0].emerging && (markets.markets[$0].bloc == specialty || rng.chance(0.15))
                    }.map { UInt8($0) })
            } else {
                let specialty = blocs[rng.below(blocs.count)]
                covered = Set(
                    markets.markets.indices.filter { markets.markets[$0].bloc == specialty && rng.chance(0.7) }.map {
                        UInt8($0)
                    })
                for _ in 0..<(2 + rng.below(5)) { covered.insert(UInt8(rng.pick(cumulative: marketCum))) }
            }
            let channels = [Channel.AMAZON, .EBAY, .TAOBAO, .RAKUTEN, .QOO10].filter { _ in rng.chance(0.2) }
            let success = 200 + rng.below(700)
            var deskText = desks.map { "\($0.industry.rawValue):\($0.capacity)" }.joined(separator: ";")
            let broken = dirtyShare > 0 && rng.chance(dirtyShare)
            if broken {
                if rng.chance(0.5) {
                    deskText = "SHIPBUILDING:\(5 + rng.below(10));" + deskText
                    expected.append(
                        Expected(
                            file: "trading_companies.csv", line: i + 2, column: "desks",
                            kind: "desk names an unknown industry"))
                } else {
                    deskText =
                        "\(desks[0].industry.rawValue):0"
                        + (desks.count > 1
                            ? ";"
                                + desks.dropFirst().map { "\($0.industry.rawValue):\($0.capacity)" }.joined(
                                    separator: ";") : "")
                    expected.append(
                        Expected(file: "trading_companies.csv", line: i + 2, column: "desks", kind: "zero capacity"))
                }
            }
            w.field(id)
            w.field(name)
            w.field(deskText)
            w.field(covered.sorted().map { markets[$0].code }.joined(separator: ";"))
            w.field(channels.map(\.rawValue).joined(separator: ";"))
            w.field(Permille.decimal(success))
            try w.endRow()
            s.companies += 1
            out.append(
                GeneratedCompany(
                    id: id, desks: desks, markets: covered.sorted(), successPermille: success, accepted: !broken))
        }
        try w.flush()
        return out
    }

    private func generateInstitutions(_ dir: String, _ rng: inout SeededRandom, _ s: inout Summary) throws(FileProblem)
    {
        // With dirty data, this file arrives in CP949 (a regional office's spreadsheet): it must
        // be detected and read correctly, not rejected.
        let w = try CSVWriter(path: dir + "/institutions.csv", encoding: dirtyShare > 0 ? .cp949 : .utf8)
        try w.row(["institution_id", "name", "kind", "region", "industries"])
        let offices = Office.allCases
        let officeCum = cumulative(offices.map(\.exportSharePermille))
        let kinds = InstitutionKind.allCases
        let names = ["한국", "미래", "첨단", "지역", "산학"]
        for i in 0..<institutions {
            let kind = kinds[rng.below(kinds.count)]
            let region = offices[rng.pick(cumulative: officeCum)]
            let n = 1 + rng.below(3)
            var inds = Set<Industry>()
            for _ in 0..<n { inds.insert(Industry.allCases[rng.below(Industry.allCases.count)]) }
            let label = kind == .UNIVERSITY ? "대학교" : kind == .RESEARCH ? "연구원" : "지원센터"
            w.field("INST\(1000 + i)")
            w.field(names[rng.below(names.count)] + region.displayName.prefix(4) + label)
            w.field(kind.rawValue)
            w.field(region.rawValue)
            w.field(inds.sorted { $0.index < $1.index }.map(\.rawValue).joined(separator: ";"))
            try w.endRow()
            s.institutions += 1
        }
        try w.flush()
    }

    private func generateTargets(
        _ dir: String, _ firms: [GeneratedFirm], _ rng: inout SeededRandom, _ expected: inout [Expected]
    ) throws(FileProblem) {
        let w = try CSVWriter(path: dir + "/targets.csv")
        try w.row(["region", "year", "target_exporting_firms", "target_avg_export_usd_k"])
        var count: [Office: Int] = [:]
        var total: [Office: Int64] = [:]
        for f in firms where f.exportUSDk > 0 {
            count[f.region, default: 0] += 1
            total[f.region, default: 0] += f.exportUSDk
        }
        var line = 1
        for o in Office.allCases {
            let c = count[o] ?? 0
            let avg = c > 0 ? total[o]! / Int64(c) : 500
            line += 1
            w.field(o.rawValue)
            w.field(configuration.programYear)
            // Some offices set targets within reach, some ambitious ones.
            w.field(Int64(Double(c) * (0.85 + 0.25 * rng.unit())))
            w.field(Int64(Double(avg) * (0.85 + 0.25 * rng.unit())))
            try w.endRow()
        }
        if dirtyShare > 0 {
            line += 1
            try w.row([Office.BUSAN.rawValue, "\(configuration.programYear)", "10", "10"])
            expected.append(Expected(file: "targets.csv", line: line, column: "region", kind: "duplicate target"))
            line += 1
            try w.row(["KYOUNGGI", "\(configuration.programYear)", "10", "10"])
            expected.append(Expected(file: "targets.csv", line: line, column: "region", kind: "unknown office code"))
        }
        try w.flush()
    }

    // MARK: - Export records, config

    private func generateExports(
        _ dir: String, _ firms: [GeneratedFirm], _ rng: inout SeededRandom, _ s: inout Summary,
        _ expected: inout [Expected]
    ) throws(FileProblem) {
        let w = try CSVWriter(path: dir + "/exports.csv")
        try w.row(["firm_id", "period_start", "market", "export_usd_k"])
        let markets = MarketTable.builtin
        let starts = (0..<ProgramConfiguration.periods).map { "\(configuration.start(ofPeriod: $0))" }
        var line = 1
        for f in firms {
            // Last year's exporters: this year's exports are last year's grown by -15% to +25%,
            // spread over the periods the firm ships in (7 in 10), to its first market. A few
            // firms without last year's exports start exporting during the year: from a period
            // of their own on, a small yearly amount shipped in half the periods, to one market.
            let perPeriod: Double
            let first: Int
            let share: Double
            var market = f.mainMarket
            if f.exportUSDk > 0 {
                perPeriod = max(1, Double(f.exportUSDk) * (0.85 + 0.4 * rng.unit()) / (26 * 0.7))
                first = 0
                share = 0.7
            } else if rng.chance(Self.newExporterShare) {
                let yearly = Self.logNormal(&rng, median: 60, sigma: 0.8)
                first = rng.below(ProgramConfiguration.periods)
                perPeriod = max(1, yearly / (Double(ProgramConfiguration.periods - first) * 0.5))
                share = 0.5
                market = UInt8(rng.below(markets.count))
            } else {
                continue
            }
            var wrote = false
            for p in first..<ProgramConfiguration.periods where rng.chance(share) {
                let amount = max(1, Int64(perPeriod * (0.5 + rng.unit())))
                // Past the date monitoring has reached, nothing is recorded yet.
                if p >= recordedPeriods { continue }
                line += 1
                var id = "\(f.id)"
                var date = starts[p]
                var value = "\(amount)"
                if !f.accepted {
                    expected.append(
                        Expected(
                            file: "exports.csv", line: line, column: "firm_id",
                            kind: "unknown firm (its row was rejected)"))
                } else if dirtyShare > 0 && rng.chance(dirtyShare) {
                    switch rng.below(3) {
                    case 0:
                        id = "\(Self.businessNumber(firms.count + 10_000_000 + rng.below(1_000_000)))"
                        expected.append(
                            Expected(file: "exports.csv", line: line, column: "firm_id", kind: "unknown firm"))
                    case 1:
                        date = "\(configuration.programStart.adding(days: 7 * 14 * 4 + 14 * 26))"
                        expected.append(
                            Expected(
                                file: "exports.csv", line: line, column: "period_start", kind: "period outside the year"
                            ))
                    default:
                        value = "-\(amount)"
                        expected.append(
                            Expected(file: "exports.csv", line: line, column: "export_usd_k", kind: "negative amount"))
                    }
                } else if f.exportUSDk == 0 && !wrote {
                    s.newExporters += 1
                    wrote = true
                }
                w.field(id)
                w.field(date)
                w.field(markets[market].code)
                w.number(value)
                try w.endRow()
                s.exportRecords += 1
            }
        }
        try w.flush()
    }

    private func writeConfig(_ dir: String) throws(FileProblem) {
        let c = configuration
        var text = "# ExportGrid program configuration (generated; every key shows its default)\n"
        for (k, v) in c.entries {
            // Strings are quoted; numbers, decimals and the bare date are not.
            text += k == "emerging_reserve" ? "\(k) = \"\(v)\"\n" : "\(k) = \(v)\n"
        }
        let fd = open(dir + "/config.toml", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileProblem(file: "config.toml", reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var bytes = Array(text.utf8)
        _ = Glibc.write(fd, &bytes, bytes.count)
    }
}

extension String {
    fileprivate func replacingQuotes() -> String {
        var out = ""
        for ch in self { out += ch == "\"" ? "\"\"" : String(ch) }
        return out
    }
}
