import ExportDomain
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The files of a dataset directory, in the order they are read (and digested).
public enum DatasetFile: String, CaseIterable, Sendable {
    case config = "config.toml"
    case markets = "markets.csv"
    case firms = "firms.csv"
    case companies = "trading_companies.csv"
    case institutions = "institutions.csv"
    case targets = "targets.csv"
    case exports = "exports.csv"
    case applications = "applications.csv"
    case deskRankings = "desk_rankings.csv"

    /// Files without which a dataset cannot be used.
    public var isRequired: Bool {
        switch self {
        case .firms, .companies, .institutions, .targets: return true
        default: return false
        }
    }
}

/// Reads and validates a dataset directory. Firms and export records stream to callbacks (so
/// memory does not grow with them); the small files are returned whole. Every rejected row goes
/// to `onRejection` as it is found, and each file's counts to `reports`.
public final class DatasetReader {
    public let directory: String
    public let encoding: TextEncoding?
    public let limits: CSVLimits
    /// SHA-256 over every file read, in `DatasetFile` order.
    public let digest = DigestSink()
    public private(set) var reports: [FileReport] = []
    public private(set) var configuration = ProgramConfiguration()
    public private(set) var markets = MarketTable.builtin
    private var lookups = Lookups(markets: .builtin)
    private let onRejection: (Rejection) -> Void
    /// What was wrong in config.toml: rejected settings and unknown keys, one line each.
    public private(set) var configurationErrors: [String] = []
    /// Files that end inside a quoted field (everything after the quote is lost), by name.
    public private(set) var cutOffFiles: [String] = []
    /// Set by `stop()` from any thread: reading ends at the next record.
    private let stopFlag = Atomic<Bool>(false)

    /// Accepted firms: id -> line (low 32 bits) and industry index (bits 32-39).
    private var firms = UInt64Map()
    /// Accepted companies and the capacities of their desks.
    private var companyDesks: [String: [Industry: Int]] = [:]
    /// Accepted companies and the markets they cover (sorted market indices).
    private var companyMarkets: [String: [UInt8]] = [:]

    public init(
        directory: String, encoding: TextEncoding? = nil, limits: CSVLimits = CSVLimits(),
        onRejection: @escaping (Rejection) -> Void
    ) {
        self.directory = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        self.encoding = encoding
        self.limits = limits
        self.onRejection = onRejection
    }

    /// Everything but firms and export records.
    public struct Tables: Sendable {
        public var companies: [TradingCompany] = []
        public var institutions: [Institution] = []
        public var targets: [RegionalTarget] = []
        public var applications: [Application] = []
        public var deskRankings: [DeskRanking] = []
    }

    /// Reads every file in order. Returns the small tables; firms and export records go to the
    /// callbacks. Check `reports` and `usable` afterwards.
    public func read(firm: (Firm) -> Void, export: (ExportRecord) -> Void) -> Tables {
        var t = Tables()
        readConfiguration()
        readMarkets()
        readFirms(firm)
        t.companies = readCompanies()
        t.institutions = readInstitutions()
        t.targets = readTargets()
        readExports(export)
        t.applications = readApplications()
        t.deskRankings = readDeskRankings()
        return t
    }

    /// Reads the configuration, the market table and firms.csv only (for benchmarks).
    public func readFirmsOnly(_ firm: (Firm) -> Void) -> FileReport {
        readConfiguration()
        readMarkets()
        readFirms(firm)
        return reports.last!
    }

    /// Ends reading at the next record (a caller that can no longer use what it reads); the
    /// counts are then incomplete.
    public func stop() { stopFlag.store(true, ordering: .relaxed) }

    var isStopped: Bool { stopFlag.load(ordering: .relaxed) }

    /// The problems of `directory`'s config.toml alone (read without the rest of the dataset).
    public static func configurationErrors(directory: String) -> [String] {
        let reader = DatasetReader(directory: directory) { _ in }
        reader.readConfiguration()
        return reader.configurationErrors
    }

    /// False when a required file is missing or unreadable, or has no accepted row.
    public var usable: Bool { problems.isEmpty }

    /// Why the dataset cannot be used, one line per cause.
    public var problems: [String] {
        var out: [String] = []
        for f in DatasetFile.allCases {
            guard let r = reports.first(where: { $0.file == f.rawValue }) else { continue }
            if let p = r.problem, f.isRequired || r.present {
                out.append("\(f.rawValue): \(p)")
            } else if f.isRequired && r.accepted == 0 {
                out.append("\(f.rawValue): no valid row")
            }
        }
        return out
    }

    public var rejectedRows: Int { reports.reduce(0) { $0 + $1.rejected } }

    // MARK: - The scan loop

    private func path(_ f: DatasetFile) -> String {
        if f == .exports, let exportsPath { return exportsPath }
        return directory + "/" + f.rawValue
    }

    /// The name rejections and reports give a file.
    private func displayName(_ f: DatasetFile) -> String {
        if f == .exports, let exportsPath { return String(exportsPath.split(separator: "/").last ?? "") }
        return f.rawValue
    }

    /// An export-records file read on its own (`exportctl load-exports`).
    private var exportsPath: String?

    /// Reads one export-records file (exports.csv columns) for a run already stored: `firms`
    /// are the run's firm ids, `configuration` and `markets` its own. Records go to `emit`,
    /// rejections to `onRejection`; returns the file's counts.
    public func readExportsFile(
        _ file: String, firms ids: [BusinessNumber], configuration: ProgramConfiguration, markets: MarketTable,
        _ emit: (ExportRecord) -> Void
    ) -> FileReport {
        exportsPath = file
        self.configuration = configuration
        self.markets = markets
        lookups = Lookups(markets: markets)
        for id in ids { _ = firms.insertIfAbsent(id.value, 0) }
        readExports(emit)
        return reports.last!
    }

    private func exists(_ f: DatasetFile) -> Bool { access(path(f), F_OK) == 0 }

    /// Reads one CSV file: maps the header, refuses it when required columns are missing, warns
    /// once about unknown columns, then calls `row` per record. A row is accepted when `row`
    /// leaves no problem on the parser; `row` returns a value to keep, if any.
    /// Opens a CSV file and maps its header: refuses it when required columns are missing, warns
    /// once about unknown columns. Returns nil (with the report filled) when it cannot be used.
    private func open(
        _ file: DatasetFile, required: [String], optional: [String], report: inout FileReport
    ) -> (CSVReader, ColumnMap)? {
        guard exists(file) else {
            report.present = false
            if file.isRequired { report.problem = "the file is missing" }
            return nil
        }
        let reader: CSVReader
        do {
            reader = try CSVReader(path: path(file), encoding: encoding, limits: limits, digest: digest)
        } catch {
            report.problem = error.reason
            return nil
        }
        report.encoding = reader.encoding.rawValue
        var columns: [String: Int] = [:]
        for (i, name) in reader.header.enumerated() {
            let key = name.lowercased()
            if columns[key] == nil {
                columns[key] = i
            } else {
                report.warnings.append("column \(key) appears twice; the first is used")
            }
        }
        let missing = required.filter { columns[$0] == nil }
        guard missing.isEmpty else {
            report.problem =
                "missing required column\(missing.count > 1 ? "s" : ""): \(missing.joined(separator: ", "))"
            return nil
        }
        let known = Set(required + optional)
        let unknown = reader.header.map { $0.lowercased() }.filter { !known.contains($0) && !$0.isEmpty }
        if !unknown.isEmpty {
            report.warnings.append(
                "unknown column\(unknown.count > 1 ? "s" : "") ignored: \(unknown.joined(separator: ", "))")
        }
        return (reader, ColumnMap(positions: columns))
    }

    /// Why a record is rejected before its fields are looked at (too long, malformed, too wide
    /// or too narrow). A row with fewer fields than the header is a truncated row: reading its
    /// missing cells as empty would lose data silently, so it is rejected like a longer one
    /// (whose extra cells are tolerated only when they are all empty, as a trailing comma).
    static func recordProblem(_ rec: CSVRecord, width: Int) -> String? {
        if let problem = rec.problem { return problem }
        if rec.count < width
            || rec.count > width && (width..<rec.count).contains(where: { !trimmed(rec.bytes($0)).isEmpty })
        {
            return "has \(rec.count) fields, the header has \(width)"
        }
        return nil
    }

    /// Reads one CSV file row by row. A row is accepted when `row` leaves no problem on the
    /// parser.
    @discardableResult
    private func scan(
        _ file: DatasetFile, required: [String], optional: [String], deferRejections: Bool = false,
        prepare: (ColumnMap) -> (inout RowParser) -> Void
    ) -> [Rejection] {
        var report = FileReport(file: displayName(file))
        var deferred: [Rejection] = []
        func reject(_ r: Rejection) {
            report.rejected += 1
            if deferRejections { deferred.append(r) } else { onRejection(r) }
        }
        defer { reports.append(report) }
        guard let (reader, columns) = open(file, required: required, optional: optional, report: &report) else {
            return []
        }
        let width = reader.header.count
        let row = prepare(columns)
        while !isStopped {
            let record: CSVRecord?
            do {
                record = try reader.next()
            } catch {
                // A file cut off inside quotes: earlier rows stand, the last is rejected.
                cutOffFiles.append(displayName(file))
                report.rowsRead += 1
                reject(
                    Rejection(file: displayName(file), line: reader.lineForMessages, column: nil, reason: error.reason))
                report.warnings.append(error.reason)
                break
            }
            guard let rec = record else { break }
            report.rowsRead += 1
            if let problem = Self.recordProblem(rec, width: width) {
                reject(Rejection(file: displayName(file), line: rec.line, column: nil, reason: problem))
                continue
            }
            var p = RowParser(record: rec)
            row(&p)
            if let (column, reason) = p.problem {
                reject(Rejection(file: displayName(file), line: rec.line, column: column, reason: reason))
            } else {
                report.accepted += 1
            }
        }
        if report.rowsRead == 0 && file.isRequired { report.problem = report.problem ?? "no rows after the header" }
        return deferred
    }

    /// Reads one large CSV file on every core: a producer thread splits records into batches,
    /// workers run `decode` (which must only read shared state), and this thread runs `accept`
    /// on each decoded row in file order (for cross-row checks such as duplicates, and to emit),
    /// so results are exactly those of `scan`.
    private func scanParallel<T>(
        _ file: DatasetFile, required: [String], optional: [String],
        prepare: (ColumnMap) -> (
            decode: (inout RowParser) -> T?, accept: (T, Int) -> (column: String, reason: String)?
        ),
        beforeBatch: ([ParsedRow<T>]) -> Void = { _ in }
    ) {
        var report = FileReport(file: displayName(file))
        defer { reports.append(report) }
        guard let (reader, columns) = open(file, required: required, optional: optional, report: &report) else {
            return
        }
        let width = reader.header.count
        let (decode, accept) = prepare(columns)
        let limits = self.limits
        var truncated: FileProblem?
        let name = displayName(file)
        do {
            try OrderedPipeline.run(
                workers: ProcessorCount.online, depth: 16,
                produce: { () -> RecordBatch? in
                    guard truncated == nil, !self.isStopped else { return nil }
                    let batch = RecordBatch()
                    while batch.byteCount < 256 * 1024 && batch.count < 4096 {
                        do {
                            guard let raw = try reader.nextRaw() else { break }
                            if let problem = raw.problem {
                                batch.appendProblem(line: raw.line, reason: problem)
                            } else {
                                batch.append(raw)
                            }
                        } catch let error as FileProblem {
                            truncated = error
                            batch.appendProblem(line: reader.lineForMessages, reason: error.reason)
                            break
                        }
                    }
                    return batch.count == 0 ? nil : batch
                },
                transform: { (batch: RecordBatch) -> [ParsedRow<T>] in
                    var rows: [ParsedRow<T>] = []
                    rows.reserveCapacity(batch.count)
                    let splitter = RecordSplitter(limits: limits)
                    batch.forEach(splitter) { rec in
                        if let problem = Self.recordProblem(rec, width: width) {
                            rows.append(.rejected(Rejection(file: name, line: rec.line, column: nil, reason: problem)))
                            return
                        }
                        var p = RowParser(record: rec)
                        let value = decode(&p)
                        if let (column, reason) = p.problem {
                            rows.append(
                                .rejected(Rejection(file: name, line: rec.line, column: column, reason: reason)))
                        } else if let value {
                            rows.append(.decoded(value, line: rec.line))
                        }
                    }
                    return rows
                },
                consume: { rows in
                    beforeBatch(rows)
                    for row in rows {
                        report.rowsRead += 1
                        switch row {
                        case .rejected(let r):
                            report.rejected += 1
                            onRejection(r)
                        case .decoded(let value, let line):
                            if let (column, reason) = accept(value, line) {
                                report.rejected += 1
                                onRejection(Rejection(file: name, line: line, column: column, reason: reason))
                            } else {
                                report.accepted += 1
                            }
                        }
                    }
                })
        } catch {}
        if let truncated {
            report.warnings.append(truncated.reason)
            cutOffFiles.append(name)
        }
        if report.rowsRead == 0 && file.isRequired { report.problem = report.problem ?? "no rows after the header" }
    }

    // MARK: - config.toml and markets.csv

    private func readConfiguration() {
        var report = FileReport(file: DatasetFile.config.rawValue)
        defer { reports.append(report) }
        guard exists(.config) else {
            report.present = false
            return
        }
        guard let bytes = readSmallFile(path(.config), limit: 1 << 20) else {
            report.problem = "cannot be read (missing permission, or larger than 1 MiB)"
            return
        }
        digest.beginFile(name: DatasetFile.config.rawValue, size: Int64(bytes.count))
        bytes.withUnsafeBytes { digest.update($0) }
        let parsed = ConfigFile.parse(bytes, into: &configuration)
        report.rowsRead = parsed.settings
        report.accepted = parsed.settings - parsed.rejections.count
        report.rejected = parsed.rejections.count
        report.warnings = parsed.warnings
        configurationErrors =
            parsed.rejections.map { "line \($0.line): " + ($0.column.map { $0 + ": " } ?? "") + $0.reason }
            + parsed.unknownKeys.map {
                "line \($0.line): unknown key \($0.key) (a misspelt key would leave its setting at the default)"
            }
        for r in parsed.rejections { onRejection(r) }
    }

    private func readMarkets() {
        guard exists(.markets) else {
            reports.append(FileReport(file: DatasetFile.markets.rawValue).absent)
            return
        }
        var out: [Market] = []
        var seen: [String: Int] = [:]
        let demandColumns = Industry.allCases.map { "demand_" + $0.rawValue.lowercased() }
        let bloc = lookups.bloc
        scan(
            .markets,
            required: [
                "market", "name", "bloc", "emerging", "fta", "distance_km", "logistics_index", "import_growth_pct",
            ]
                + demandColumns,
            optional: ["muslim_majority"]
        ) { col in
            let k_demand = demandColumns.map { col($0) }
            let k_market = col("market")
            let k_name = col("name")
            let k_bloc = col("bloc")
            let k_emerging = col("emerging")
            let k_fta = col("fta")
            let k_distance_km = col("distance_km")
            let k_logistics_index = col("logistics_index")
            let k_import_growth_pct = col("import_growth_pct")
            let k_muslim_majority = col("muslim_majority")
            return { p in
                let code = p.text(k_market).uppercased()
                if p.ok && (code.utf8.count != 2 || !code.utf8.allSatisfy({ $0 >= 65 && $0 <= 90 })) {
                    p.fail(k_market, "'\(code)' is not an ISO 3166 alpha-2 code")
                }
                let name = p.text(k_name)
                let b = p.code(k_bloc, bloc, what: "bloc")
                let emerging = p.bool(k_emerging)
                let fta = p.bool(k_fta)
                let km = p.count(k_distance_km, max: 40_000)
                let lpi = p.decimal(k_logistics_index, places: 2, range: 100...500)  // 3.99 -> 399
                let growth = p.decimal(k_import_growth_pct, places: 1, range: 0...1000)  // 8.5 % -> 85 permille
                let muslim = p.bool(k_muslim_majority)
                var demand: [Int] = []
                for c in k_demand { demand.append(Int(p.count(c, max: 1000))) }
                if p.ok, let first = seen[code] {
                    p.fail(k_market, "duplicate market \(code) (first on line \(first))")
                }
                guard p.ok, let b else { return }
                seen[code] = p.record.line
                out.append(
                    Market(
                        code: code, name: name, bloc: b, emerging: emerging, fta: fta, distanceKm: Int(km),
                        logisticsIndex: lpi,
                        importGrowthPermille: growth, muslimMajority: muslim, demand: demand))
            }
        }
        if out.isEmpty {
            if let i = reports.lastIndex(where: { $0.file == DatasetFile.markets.rawValue }) {
                reports[i].problem = reports[i].problem ?? "no valid market; the built-in table was not replaced"
            }
            return
        }
        markets = MarketTable(out)
        lookups = Lookups(markets: markets)
    }

    // MARK: - firms.csv

    static let firmRequired = [
        "firm_id", "name", "region", "size_class", "industry", "role", "revenue_krw_m", "export_usd_k",
        "export_usd_k_prev",
    ]
    static let firmOptional = [
        "employees", "hs_chapters", "export_markets", "certifications", "rnd_success", "procurement_excellent",
        "home_shopping_bestseller", "online_channels", "recommended_by", "debt_ratio_pct", "patents",
    ]

    private func readFirms(_ emit: (Firm) -> Void) {
        // Sized from the file (about 100 bytes a row), so loading never rehashes.
        var st = stat()
        let bytes = stat(path(.firms), &st) == 0 ? Int(st.st_size) : 0
        let ids = UInt64Map(capacity: max(1 << 12, bytes / 90))
        defer { firms = ids }
        let l = lookups
        withoutActuallyEscaping(emit) { emit in
            scanParallel(.firms, required: Self.firmRequired, optional: Self.firmOptional) { col in
                let decoder = FirmDecoder(columns: col, lookups: l)
                let firmId = decoder.firmId.name
                return (
                    decode: { p in decoder.decode(&p) },
                    accept: { firm, line in
                        if let first = ids.insertIfAbsent(
                            firm.id.value, UInt64(line) | UInt64(firm.industry.index) << 32)
                        {
                            return (firmId, "duplicate firm_id \(firm.id) (first on line \(first & 0xFFFF_FFFF))")
                        }
                        emit(firm)
                        return nil
                    }
                )
            }
        }
    }

    /// A known (accepted) firm id in column `column`, or nil with the reason recorded.
    private static func knownFirm(_ p: inout RowParser, _ column: Column, _ firms: UInt64Map) -> (
        BusinessNumber, Industry
    )? {
        switch BusinessNumber.parse(bytes: p.bytes(column)) {
        case .failure(let e):
            p.fail(column, e.description)
            return nil
        case .success(let id):
            guard let info = firms[id.value] else {
                p.fail(column, "unknown firm \(id) (not an accepted row of firms.csv)")
                return nil
            }
            return (id, Industry.at(Int(info >> 32)))
        }
    }

    /// Ids used as keys and in reports: non-empty text without spaces, commas or semicolons.
    private static func identifier(_ p: inout RowParser, _ column: Column) -> String {
        let s = p.text(column)
        if p.ok && (s.utf8.count > 100 || s.utf8.contains(where: { $0 <= 32 || $0 == 44 || $0 == 59 || $0 == 127 })) {
            p.fail(column, "'\(s)' is not a usable id (at most 100 bytes, no spaces, commas or semicolons)")
        }
        return s
    }

    // MARK: - trading_companies.csv, institutions.csv, targets.csv

    private func readCompanies() -> [TradingCompany] {
        var out: [TradingCompany] = []
        var desksByCompany: [String: [Industry: Int]] = [:]
        var marketsByCompany: [String: [UInt8]] = [:]
        defer {
            companyDesks = desksByCompany
            companyMarkets = marketsByCompany
        }
        var lines: [String: Int] = [:]
        let l = lookups
        scan(
            .companies, required: ["company_id", "name", "desks", "markets", "channels", "success_rate"], optional: []
        ) { col in
            let k_company_id = col("company_id")
            let k_name = col("name")
            let k_desks = col("desks")
            let k_markets = col("markets")
            let k_channels = col("channels")
            let k_success_rate = col("success_rate")
            return { p in
                let id = Self.identifier(&p, k_company_id)
                let name = p.text(k_name)
                var desks: [Desk] = []
                var bad: String?
                p.forEachItem(k_desks) { item in
                    guard bad == nil else { return }
                    guard let colon = item.firstIndex(of: 58) else {
                        bad = "'\(String(decoding: item, as: UTF8.self))' is not INDUSTRY:capacity"
                        return
                    }
                    let code = UnsafeBufferPointer(rebasing: item[..<colon])
                    guard let industry = l.industry.lookup(code) else {
                        bad = "desk names an " + l.industry.unknown(code, what: "industry")
                        return
                    }
                    guard let cap = parseInteger(trimmed(UnsafeBufferPointer(rebasing: item[(colon + 1)...]))) else {
                        bad = "capacity of the \(industry.rawValue) desk is not a whole number"
                        return
                    }
                    guard cap > 0 && cap <= 100_000 else {
                        bad = "capacity of the \(industry.rawValue) desk must be positive (is \(cap))"
                        return
                    }
                    if desks.contains(where: { $0.industry == industry }) {
                        bad = "two desks for \(industry.rawValue)"
                        return
                    }
                    desks.append(Desk(industry: industry, capacity: Int(cap)))
                }
                if let bad {
                    p.fail(k_desks, bad)
                } else if desks.isEmpty {
                    p.fail(k_desks, "is empty (at least one INDUSTRY:capacity)")
                }
                var markets: [UInt8] = []
                var badMarket: String?
                p.forEachItem(k_markets) { item in
                    if let m = l.market.lookup(item) {
                        if !markets.contains(m) { markets.append(m) }
                    } else if badMarket == nil {
                        badMarket = l.market.unknown(item, what: "market")
                    }
                }
                if let badMarket {
                    p.fail(k_markets, badMarket)
                } else if markets.isEmpty {
                    p.fail(k_markets, "is empty")
                }
                let channels = UInt8(p.codeSet(k_channels, l.channel, what: "channel") { UInt16($0.bit) })
                let success = p.rate(k_success_rate)
                guard p.ok else { return }
                if let first = lines[id] {
                    p.fail(k_company_id, "duplicate company_id \(id) (first on line \(first))")
                    return
                }
                lines[id] = p.record.line
                desks.sort { $0.industry.index < $1.industry.index }
                var capacities: [Industry: Int] = [:]
                for d in desks { capacities[d.industry] = d.capacity }
                desksByCompany[id] = capacities
                marketsByCompany[id] = markets.sorted()
                out.append(
                    TradingCompany(
                        id: id, name: name, desks: desks, markets: markets.sorted(), channels: channels,
                        successRatePermille: success))
            }
        }
        return out
    }

    private func readInstitutions() -> [Institution] {
        var out: [Institution] = []
        var lines: [String: Int] = [:]
        let l = lookups
        scan(.institutions, required: ["institution_id", "name", "kind", "region", "industries"], optional: []) { col in
            let k_institution_id = col("institution_id")
            let k_name = col("name")
            let k_kind = col("kind")
            let k_region = col("region")
            let k_industries = col("industries")
            return { p in
                let id = Self.identifier(&p, k_institution_id)
                let name = p.text(k_name)
                let kind = p.code(k_kind, l.institutionKind, what: "institution kind")
                let region = p.code(k_region, l.office, what: "office code")
                let mask = p.codeSet(k_industries, l.industry, what: "industry") { 1 << UInt16($0.index) }
                if p.ok && mask == 0 { p.fail(k_industries, "is empty") }
                guard p.ok, let kind, let region else { return }
                if let first = lines[id] {
                    p.fail(k_institution_id, "duplicate institution_id \(id) (first on line \(first))")
                    return
                }
                lines[id] = p.record.line
                out.append(
                    Institution(
                        id: id, name: name, kind: kind, region: region,
                        industries: Industry.allCases.filter { mask & (1 << UInt16($0.index)) != 0 }))
            }
        }
        return out
    }

    private func readTargets() -> [RegionalTarget] {
        var out: [RegionalTarget] = []
        var lines: [String: Int] = [:]
        let l = lookups
        scan(.targets, required: ["region", "year", "target_exporting_firms", "target_avg_export_usd_k"], optional: [])
        { col in
            let k_region = col("region")
            let k_year = col("year")
            let k_target_exporting_firms = col("target_exporting_firms")
            let k_target_avg_export_usd_k = col("target_avg_export_usd_k")
            return { p in
                let region = p.code(k_region, l.office, what: "office code")
                let year = p.count(k_year, max: 2100)
                if p.ok && year < 2000 { p.fail(k_year, "\(year) is before 2000") }
                let firmsTarget = p.count(k_target_exporting_firms, max: 10_000_000)
                let avg = p.count(k_target_avg_export_usd_k)
                guard p.ok, let region else { return }
                let key = "\(region.rawValue)/\(year)"
                if let first = lines[key] {
                    p.fail(k_region, "duplicate target for \(region.rawValue) in \(year) (first on line \(first))")
                    return
                }
                lines[key] = p.record.line
                out.append(
                    RegionalTarget(
                        region: region, year: Int(year), exportingFirms: Int(firmsTarget), avgExportUSDk: avg))
            }
        }
        return out
    }

    // MARK: - exports.csv, applications.csv, desk_rankings.csv

    private func readExports(_ emit: (ExportRecord) -> Void) {
        guard exists(.exports) else {
            reports.append(FileReport(file: DatasetFile.exports.rawValue).absent)
            return
        }
        let l = lookups
        let firms = self.firms
        let config = configuration
        let last = config.start(ofPeriod: ProgramConfiguration.periods - 1).adding(days: 13)
        withoutActuallyEscaping(emit) { emit in
            scanParallel(.exports, required: ["firm_id", "period_start", "market", "export_usd_k"], optional: []) {
                col in
                let k_firm_id = col("firm_id")
                let k_period_start = col("period_start")
                let k_market = col("market")
                let k_export_usd_k = col("export_usd_k")
                let decode = { (p: inout RowParser) -> ExportRecord? in
                    let firm = Self.knownFirm(&p, k_firm_id, firms)
                    var period = 0
                    let raw = trimmed(p.bytes(k_period_start))
                    if let date = CivilDate(iso: raw) {
                        if let q = config.period(of: date) {
                            let start = config.start(ofPeriod: q)
                            if start != date {
                                p.fail(
                                    k_period_start,
                                    "\(date) is not the start of a two-week period (its period starts \(start))")
                            }
                            period = q
                        } else {
                            p.fail(
                                k_period_start,
                                "\(date) is outside the program year (\(config.programStart) to \(last))")
                        }
                    } else {
                        p.fail(k_period_start, "'\(String(decoding: raw, as: UTF8.self))' is not a date (YYYY-MM-DD)")
                    }
                    let market = p.code(k_market, l.market, what: "market")
                    let amount = p.count(k_export_usd_k)
                    guard p.ok, let (id, _) = firm, let market else { return nil }
                    return ExportRecord(firm: id, period: period, market: market, usdK: amount)
                }
                return (
                    decode: decode,
                    accept: { record, _ in
                        emit(record)
                        return nil
                    }
                )
            }
        }
    }

    /// Ranks of one list (a firm's or a desk's): duplicates and gaps found after the whole file.
    private struct RankedRow {
        var rank: Int
        var line: Int
        var index: Int
    }

    /// Keeps, per list, the rows ranked 1, 2, 3, ... up to the first duplicate or gap; returns
    /// the kept row indices and rejects the rest.
    private func checkRanks(
        _ lists: [String: [RankedRow]], file: DatasetFile, what: (String) -> String
    ) -> (kept: Set<Int>, rejected: [Rejection]) {
        var kept = Set<Int>()
        var rejected: [Rejection] = []
        for key in lists.keys.sorted() {
            // Ranks must run 1, 2, 3, ...: the earliest line holding each rank is kept until the
            // first rank that is missing; everything after that gap is rejected too.
            var expected = 1
            var gap: Int?
            for r in lists[key]!.sorted(by: { ($0.rank, $0.line) < ($1.rank, $1.line) }) {
                if gap == nil && r.rank == expected {
                    kept.insert(r.index)
                    expected += 1
                    continue
                }
                let reason: String
                if r.rank < expected {
                    reason = "duplicate rank \(r.rank) for \(what(key))"
                } else {
                    gap = gap ?? expected
                    reason = "rank \(r.rank) for \(what(key)), but rank \(gap!) is missing"
                }
                rejected.append(Rejection(file: displayName(file), line: r.line, column: "rank", reason: reason))
            }
        }
        return (kept, rejected)
    }

    private func readApplications() -> [Application] {
        guard exists(.applications) else {
            reports.append(FileReport(file: DatasetFile.applications.rawValue).absent)
            return []
        }
        var rows: [Application] = []
        var lists: [String: [RankedRow]] = [:]
        // Contracts seen: "firm/company/MARKET", or "firm/company/" for the best covered market.
        var contracts: [String: Int] = [:]
        let l = lookups
        let markets = self.markets
        let firms = self.firms
        let companyDesks = self.companyDesks
        let companyMarkets = self.companyMarkets
        let deferred = scan(
            .applications, required: ["firm_id", "company_id", "rank"], optional: ["target_market"],
            deferRejections: true
        ) { col in
            let k_firm_id = col("firm_id")
            let k_company_id = col("company_id")
            let k_rank = col("rank")
            let k_target_market = col("target_market")
            return { p in
                let firm = Self.knownFirm(&p, k_firm_id, firms)
                let company = Self.identifier(&p, k_company_id)
                if p.ok && companyDesks[company] == nil { p.fail(k_company_id, "unknown company \(company)") }
                let rank = p.count(k_rank, max: 10_000)
                if p.ok && rank < 1 { p.fail(k_rank, "must be at least 1") }
                // Empty: the firm's best market among those the company covers.
                let market = p.isEmpty(k_target_market) ? nil : p.code(k_target_market, l.market, what: "market")
                guard p.ok, let (id, industry) = firm else { return }
                if companyDesks[company]?[industry] == nil {
                    p.fail(k_company_id, "company \(company) has no \(industry.rawValue) desk for firm \(id)")
                    return
                }
                // A company that lists no markets covers every market.
                if let market, let covered = companyMarkets[company], !covered.isEmpty, !covered.contains(market) {
                    let list = Self.shortList(covered.map { markets[$0].code }.sorted())
                    p.fail(
                        k_target_market, "company \(company) does not cover \(markets[market].code) (it covers \(list))"
                    )
                    return
                }
                let contract = "\(id)/\(company)/" + (market.map { markets[$0].code } ?? "")
                if let first = contracts[contract] {
                    let what =
                        market.map { "offers company \(company) \(markets[$0].code) twice" }
                        ?? "names company \(company) twice without a target market"
                    p.fail(k_company_id, "duplicate contract: firm \(id) \(what) (first on line \(first))")
                    return
                }
                contracts[contract] = p.record.line
                lists["\(id)", default: []].append(RankedRow(rank: Int(rank), line: p.record.line, index: rows.count))
                rows.append(Application(firm: id, company: company, rank: Int(rank), targetMarket: market))
            }
        }
        let (kept, rejected) = checkRanks(lists, file: .applications) { "firm \($0)" }
        settle(.applications, deferred: deferred, late: rejected)
        return rows.indices.filter(kept.contains).map { rows[$0] }
    }

    /// Codes for a message: all of them up to eight, else the first six and how many more.
    static func shortList(_ codes: [String]) -> String {
        codes.count <= 8
            ? codes.joined(separator: ", ") : codes.prefix(6).joined(separator: ", ") + " and \(codes.count - 6) more"
    }

    private func readDeskRankings() -> [DeskRanking] {
        guard exists(.deskRankings) else {
            reports.append(FileReport(file: DatasetFile.deskRankings.rawValue).absent)
            return []
        }
        var rows: [DeskRanking] = []
        var lists: [String: [RankedRow]] = [:]
        var pairs: [String: Int] = [:]
        let l = lookups
        let firms = self.firms
        let companyDesks = self.companyDesks
        let deferred = scan(
            .deskRankings, required: ["company_id", "industry", "firm_id", "rank"], optional: [], deferRejections: true
        ) { col in
            let k_company_id = col("company_id")
            let k_industry = col("industry")
            let k_firm_id = col("firm_id")
            let k_rank = col("rank")
            return { p in
                let company = Self.identifier(&p, k_company_id)
                let industry = p.code(k_industry, l.industry, what: "industry")
                let firm = Self.knownFirm(&p, k_firm_id, firms)
                let rank = p.count(k_rank, max: 1_000_000)
                if p.ok && rank < 1 { p.fail(k_rank, "must be at least 1") }
                guard p.ok, let industry, let (id, firmIndustry) = firm else { return }
                guard let desks = companyDesks[company] else {
                    p.fail(k_company_id, "unknown company \(company)")
                    return
                }
                guard desks[industry] != nil else {
                    p.fail(k_industry, "company \(company) has no \(industry.rawValue) desk")
                    return
                }
                guard firmIndustry == industry else {
                    p.fail(k_firm_id, "firm \(id) is in \(firmIndustry.rawValue), not \(industry.rawValue)")
                    return
                }
                let desk = "\(company)/\(industry.rawValue)"
                if let first = pairs["\(desk)/\(id)"] {
                    p.fail(k_firm_id, "desk \(desk) ranks firm \(id) twice (first on line \(first))")
                    return
                }
                pairs["\(desk)/\(id)"] = p.record.line
                lists[desk, default: []].append(RankedRow(rank: Int(rank), line: p.record.line, index: rows.count))
                rows.append(DeskRanking(company: company, industry: industry, firm: id, rank: Int(rank)))
            }
        }
        let (kept, rejected) = checkRanks(lists, file: .deskRankings) { "desk \($0)" }
        settle(.deskRankings, deferred: deferred, late: rejected)
        return rows.indices.filter(kept.contains).map { rows[$0] }
    }

    /// Emits a file's row rejections in line order, moving rows rejected after the whole file was
    /// read from accepted to rejected.
    private func settle(_ file: DatasetFile, deferred: [Rejection], late: [Rejection]) {
        if let i = reports.lastIndex(where: { $0.file == displayName(file) }) {
            reports[i].accepted -= late.count
            reports[i].rejected += late.count
        }
        for r in (deferred + late).sorted(by: { $0.line < $1.line }) { onRejection(r) }
    }
}

/// A row of a file read in parallel: decoded, or rejected with its reason.
enum ParsedRow<T> {
    case decoded(T, line: Int)
    case rejected(Rejection)
}

extension FileReport {
    var absent: FileReport {
        var r = self
        r.present = false
        return r
    }
}

/// Reads a whole file of at most `limit` bytes.
func readSmallFile(_ path: String, limit: Int) -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(fd, &buf, buf.count)
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        out += buf[0..<n]
        if out.count > limit { return nil }
    }
    return out
}

extension DatasetReader {
    /// Reads everything into memory; returns the dataset and every rejection in file order.
    public static func load(
        directory: String, encoding: TextEncoding? = nil, limits: CSVLimits = CSVLimits()
    ) -> (dataset: Dataset, rejections: [Rejection], reader: DatasetReader) {
        var rejections: [Rejection] = []
        let reader = DatasetReader(directory: directory, encoding: encoding, limits: limits) { rejections.append($0) }
        var firms: [Firm] = []
        var exports: [ExportRecord] = []
        let t = reader.read(firm: { firms.append($0) }, export: { exports.append($0) })
        let d = Dataset(
            configuration: reader.configuration, markets: reader.markets, firms: firms, companies: t.companies,
            institutions: t.institutions, targets: t.targets, exports: exports, applications: t.applications,
            deskRankings: t.deskRankings)
        return (d, rejections, reader)
    }
}
