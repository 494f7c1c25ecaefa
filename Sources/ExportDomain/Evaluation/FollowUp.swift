/// Supported firms followed (docs/EVALUATION.md, "Supported firms followed"): the firms the
/// program supports (matched to a desk, or members of a consortium) against comparable
/// unsupported firms of their office, industry and export tier.

/// The firms of one cell, or of several added up: counts and integer sums only.
public struct FollowUpCell: Sendable, Equatable {
    public var firms: Int64 = 0
    /// Firms with at least one export record above zero this year, to date.
    public var exportingFirms: Int64 = 0
    /// Last year's exports (`Firm.exportUSDk`), USD k.
    public var lastYearUSDk: Int64 = 0
    /// This year's export records to date, USD k.
    public var toDateUSDk: Int64 = 0

    public init() {}

    public init(firms: Int64, exportingFirms: Int64, lastYearUSDk: Int64, toDateUSDk: Int64) {
        self.firms = firms
        self.exportingFirms = exportingFirms
        self.lastYearUSDk = lastYearUSDk
        self.toDateUSDk = toDateUSDk
    }

    public mutating func merge(_ o: FollowUpCell) {
        firms += o.firms
        exportingFirms += o.exportingFirms
        lastYearUSDk += o.lastYearUSDk
        toDateUSDk += o.toDateUSDk
    }

    public func subtracting(_ o: FollowUpCell) -> FollowUpCell {
        FollowUpCell(
            firms: firms - o.firms, exportingFirms: exportingFirms - o.exportingFirms,
            lastYearUSDk: lastYearUSDk - o.lastYearUSDk, toDateUSDk: toDateUSDk - o.toDateUSDk)
    }

    /// No field below zero.
    public var isNonNegative: Bool { firms >= 0 && exportingFirms >= 0 && lastYearUSDk >= 0 && toDateUSDk >= 0 }
}

/// One office's firms by (industry, export tier): 13 x 4 cells, in `Industry` then `ExportTier`
/// order. Merging adds cell by cell (associative and commutative).
public struct FollowUpCells: Sendable, Equatable {
    public static let count = Industry.allCases.count * ExportTier.allCases.count

    public var cells = [FollowUpCell](repeating: FollowUpCell(), count: FollowUpCells.count)

    public init() {}

    /// The cell of an industry and tier.
    public static func index(_ industry: Industry, _ tier: ExportTier) -> Int {
        industry.index * ExportTier.allCases.count + tier.index
    }

    /// The cell of a firm: its industry, and its tier by last year's exports.
    public static func index(of f: Firm) -> Int { index(f.industry, ExportTier(exportUSDk: f.exportUSDk)) }

    /// Counts one firm with its exports to date (the sum of its export records above zero).
    public mutating func add(_ f: Firm, exportsToDate: Int64) {
        let i = Self.index(of: f)
        cells[i].firms += 1
        if exportsToDate > 0 { cells[i].exportingFirms += 1 }
        cells[i].lastYearUSDk += f.exportUSDk
        cells[i].toDateUSDk += exportsToDate
    }

    /// A firm's exports to date: its export records above zero, added up.
    public static func exportsToDate(_ records: some Sequence<ExportRecord>) -> Int64 {
        var sum: Int64 = 0
        for r in records where r.usdK > 0 { sum += r.usdK }
        return sum
    }

    public mutating func merge(_ o: FollowUpCells) {
        for i in cells.indices { cells[i].merge(o.cells[i]) }
    }

    public func subtracting(_ o: FollowUpCells) -> FollowUpCells {
        var out = FollowUpCells()
        for i in cells.indices { out.cells[i] = cells[i].subtracting(o.cells[i]) }
        return out
    }

    /// Every cell added up.
    public var total: FollowUpCell {
        var t = FollowUpCell()
        for c in cells { t.merge(c) }
        return t
    }
}

/// `a` x `b` / `c` rounded half up, for `a`, `b` >= 0 and `c` > 0, in 128-bit integers (no
/// overflow on the way; a result beyond Int64 is clamped).
public func roundedHalfUp(_ a: Int64, times b: Int64, over c: Int64) -> Int64 {
    precondition(a >= 0 && b >= 0 && c > 0, "rounding \(a) x \(b) / \(c)")
    let d = Int128(c)
    return Int64(clamping: (2 * Int128(a) * Int128(b) + d) / (2 * d))
}

/// The follow-up of one office, or of the nation (the sum of the offices, field by field).
public struct FollowUpRow: Sendable, Equatable {
    /// Nil for the national row.
    public var region: Office?
    /// Every supported firm.
    public var supported = FollowUpCell()
    /// Every unsupported firm (all firms of the office minus the supported ones).
    public var unsupported = FollowUpCell()
    /// The supported firms of cells that hold at least one unsupported firm: those compared.
    public var compared = FollowUpCell()
    /// What the compared firms would show had they fared like the unsupported firms of their
    /// cell: for each cell, supported firms x the unsupported firms' figure / unsupported firms,
    /// rounded half up, added up over the cells (`firms` is the compared firms' count).
    public var expected = FollowUpCell()
    /// Cells with supported firms and no unsupported firm to compare them with, and their
    /// supported firms (counted in `supported`, left out of `compared` and `expected`).
    public var cellsWithoutComparison: Int64 = 0
    public var firmsWithoutComparison: Int64 = 0

    public init(region: Office?) { self.region = region }

    /// The row of one office: `all` is every firm of the office by cell, `supported` the
    /// supported firms among them. Nil when a supported cell holds more than its all-firm cell
    /// (the two do not describe the same firms).
    public init?(region: Office?, all: FollowUpCells, supported s: FollowUpCells) {
        // Built in a local and assigned once. Incrementing `self`'s two counters directly in this
        // failable initializer lost the increments in optimized builds (Swift 6.3.1, -O: the
        // cells without comparison came out 0) while unoptimized ones, which the tests run, kept
        // them.
        var row = FollowUpRow(region: region)
        for i in 0..<FollowUpCells.count {
            let sc = s.cells[i]
            let uc = all.cells[i].subtracting(sc)
            guard sc.isNonNegative, uc.isNonNegative else { return nil }
            row.supported.merge(sc)
            row.unsupported.merge(uc)
            if sc.firms == 0 { continue }
            if uc.firms == 0 {
                row.cellsWithoutComparison += 1
                row.firmsWithoutComparison += sc.firms
                continue
            }
            row.compared.merge(sc)
            row.expected.merge(
                FollowUpCell(
                    firms: sc.firms,
                    exportingFirms: roundedHalfUp(sc.firms, times: uc.exportingFirms, over: uc.firms),
                    lastYearUSDk: roundedHalfUp(sc.firms, times: uc.lastYearUSDk, over: uc.firms),
                    toDateUSDk: roundedHalfUp(sc.firms, times: uc.toDateUSDk, over: uc.firms)))
        }
        self = row
    }

    /// Adds another row (the national row is the offices' rows added up).
    public mutating func merge(_ o: FollowUpRow) {
        supported.merge(o.supported)
        unsupported.merge(o.unsupported)
        compared.merge(o.compared)
        expected.merge(o.expected)
        cellsWithoutComparison += o.cellsWithoutComparison
        firmsWithoutComparison += o.firmsWithoutComparison
    }
}

/// The follow-up of every office and the nation at one period.
public struct SupportedFollowUp: Sendable, Equatable {
    /// The last period counted (0-based); -1 before any export record.
    public var periodReached: Int
    /// One per office, in office order.
    public var regions: [FollowUpRow]
    public var national: FollowUpRow

    /// From each office's cells of every firm and of its supported firms (offices missing from
    /// either have no firm there). Nil when the supported cells are not a part of the all-firm
    /// cells.
    public init?(periodReached: Int, all: [Office: FollowUpCells], supported: [Office: FollowUpCells]) {
        self.periodReached = periodReached
        var rows: [FollowUpRow] = []
        var nation = FollowUpRow(region: nil)
        for o in Office.allCases {
            guard
                let row = FollowUpRow(
                    region: o, all: all[o] ?? FollowUpCells(), supported: supported[o] ?? FollowUpCells())
            else { return nil }
            rows.append(row)
            nation.merge(row)
        }
        regions = rows
        national = nation
    }

    /// The supported firms' cells by office, from the candidates that carry them.
    public static func cells(of supported: [PoolCandidate]) -> [Office: FollowUpCells] {
        var out: [Office: FollowUpCells] = [:]
        for c in supported { out[c.firm.region, default: FollowUpCells()].add(c.firm, exportsToDate: c.exportsToDate) }
        return out
    }

    /// Every firm's cells by office, from region summaries.
    public static func cells(of summaries: [RegionSummary]) -> [Office: FollowUpCells] {
        var out: [Office: FollowUpCells] = [:]
        for s in summaries { out[s.region, default: FollowUpCells()].merge(s.followUp) }
        return out
    }
}

extension SupportedFollowUp {
    /// The firms the program supports, by id, in id order: every matched firm and every member
    /// of a consortium, its leader included.
    public static func supportedIDs(matches: [Match], consortia: [Consortium]) -> [BusinessNumber] {
        var ids = Set(matches.map(\.firm))
        for k in consortia {
            ids.insert(k.leader)
            ids.formUnion(k.members)
        }
        return ids.sorted()
    }

    /// The candidates of `ids` found in `lists` (the first list holding a firm gives it), in id
    /// order, and the ids none of them holds.
    public static func candidates(_ ids: [BusinessNumber], among lists: [[PoolCandidate]]) -> (
        found: [PoolCandidate], missing: [BusinessNumber]
    ) {
        var byID: [BusinessNumber: PoolCandidate] = [:]
        for l in lists.reversed() { for c in l { byID[c.firm.id] = c } }
        var found: [PoolCandidate] = []
        var missing: [BusinessNumber] = []
        for id in ids {
            if let c = byID[id] { found.append(c) } else { missing.append(id) }
        }
        return (found, missing)
    }
}
