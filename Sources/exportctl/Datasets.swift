import ArgumentParser
import ExportData
import ExportDomain

#if canImport(Glibc)
    import Glibc
#endif

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a synthetic national dataset (deterministic for a seed).",
        discussion: """
            Writes firms.csv, trading_companies.csv, institutions.csv, targets.csv, exports.csv,
            applications.csv, desk_rankings.csv and config.toml into --out. With --dirty P, a share P
            of rows is broken in realistic ways and dirty_manifest.csv lists every row validation
            must reject.
            """
    )

    @Option(help: "Number of firms.")
    var firms = 100_000

    @Option(help: "Random seed; the same seed gives the same bytes.")
    var seed: UInt64 = 2016

    @Option(help: "Output directory (created if missing).")
    var out: String

    @Option(help: "Share of rows to break (0 to 0.5), with a manifest of the breakage.")
    var dirty: Double = 0

    @Option(help: "Two-week periods with export records (1 to 26): the date monitoring has reached.")
    var recordedPeriods = 26

    func validate() throws {
        try checkCount(firms, "--firms", 1...100_000_000)
        try checkCount(recordedPeriods, "--recorded-periods", 1...26)
        guard (0...0.5).contains(dirty) else { throw ValidationError("--dirty must be between 0 and 0.5") }
    }

    func run() throws {
        let start = monotonicSeconds()
        var g = NationGenerator(firms: firms, seed: seed, dirtyShare: dirty)
        g.recordedPeriods = recordedPeriods
        let s = try g.write(to: out)
        let secs = monotonicSeconds() - start
        print(
            "wrote \(out): \(s.firms) firms (\(s.exporters) exporting), \(s.companies) trading companies, \(s.institutions) institutions, \(s.exportRecords) export records through period \(recordedPeriods) (\(s.newExporters) new exporters) in \(rounded(secs, 2)) s"
        )
        print(
            "private lists: \(s.applicationRows) applications from \(s.applyingFirms) of \(s.poolFirms) pool firms, \(s.deskRankingRows) desk rankings from \(s.rankingDesks) of \(s.desks) desks"
        )
        if dirty > 0 { print("broke \(s.brokenRows) rows; expected rejections in \(out)/dirty_manifest.csv") }
    }
}

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a dataset: counts per file and every rejected row with its reason.",
        discussion: """
            Writes no file unless asked: --rejections FILE writes the full rejection list there as CSV.
            Exit status 0 when the dataset can be submitted (even with rejected rows); 65 when submit
            would refuse it: a required file missing or unreadable, or without a valid row, an error in
            config.toml, more rejected rows than --max-rejected-share of the rows read, or a file that
            ends inside a quoted field (the last two are what submit --force overrides).
            """
    )

    @Argument(help: "The dataset directory.")
    var directory: String

    @Flag(help: "Print every rejection, not only the first 20.")
    var all = false

    @Option(help: "Force the input encoding (utf-8 or cp949) instead of detecting it per file.")
    var encoding: String?

    @Option(help: "Write the full rejection list as CSV to this file (default: no file).")
    var rejections: String?

    @Option(help: "Largest share of rejected rows (0 to 1) the dataset may have, as for submit.")
    var maxRejectedShare = DatasetVerdict.defaultMaxRejectedShare

    func validate() throws {
        try checkShare(maxRejectedShare)
        if rejections?.isEmpty == true { throw ValidationError("--rejections needs a file name") }
    }

    func run() throws {
        var forced: TextEncoding?
        if let encoding {
            guard let e = TextEncoding(name: encoding) else {
                throw ValidationError("unknown encoding \(encoding); use utf-8 or cp949")
            }
            forced = e
        }
        let writer = try rejections.map { try CSVWriter(path: $0) }
        try writer?.row(["file", "line", "column", "reason"])
        var shown = 0
        var writeFailure: FileProblem?
        let reader = DatasetReader(directory: directory, encoding: forced) { r in
            if all || shown < 20 {
                print(r.description)
                shown += 1
            }
            guard let writer else { return }
            writer.field(r.file)
            writer.field(r.line)
            writer.field(r.column ?? "")
            writer.field(r.reason)
            do { try writer.endRow() } catch let e as FileProblem { writeFailure = e } catch {}
        }
        var firms = 0
        var exports = 0
        _ = reader.read(firm: { _ in firms += 1 }, export: { _ in exports += 1 })
        try writer?.flush()
        if let writeFailure { throw writeFailure }
        let rejected = reader.rejectedRows
        if rejected > shown { print("... \(rejected - shown) more (--all prints every one)") }
        print("")
        print(pad("file", 24) + lpad("rows", 10) + lpad("accepted", 10) + lpad("rejected", 10) + "  notes")
        for r in reader.reports {
            var notes: [String] = []
            if !r.present {
                notes.append(DatasetFile(rawValue: r.file)?.isRequired == true ? "MISSING" : "absent (optional)")
            }
            if let p = r.problem { notes.append("ERROR: \(p)") }
            if let e = r.encoding, e != TextEncoding.utf8.rawValue { notes.append("encoding \(e)") }
            notes += r.warnings
            print(
                pad(r.file, 24) + lpad("\(r.rowsRead)", 10) + lpad("\(r.accepted)", 10) + lpad("\(r.rejected)", 10)
                    + "  " + notes.joined(separator: "; "))
        }
        print("")
        print(
            "rejections: \(rejected) rows, "
                + (rejections.map { "full list in \($0)" } ?? "list them all in a file with --rejections FILE"))
        print("dataset digest (sha-256): \(reader.digest.finalize())")
        let verdict = reader.verdict(maxRejectedShare: maxRejectedShare)
        for p in verdict.blocking { print("cannot use the dataset: \(p)") }
        for p in verdict.overridable { print("submit would refuse the dataset (unless --force): \(p)") }
        if verdict.stops(force: false) { throw Exit.dataError.code }
    }
}

/// A count flag: within `range`, or a one-line usage error naming the flag.
func checkCount(_ value: Int?, _ flag: String, _ range: ClosedRange<Int>) throws {
    guard let value else { return }
    guard range.contains(value) else {
        throw ValidationError("\(flag) must be \(range.lowerBound) to \(range.upperBound), not \(value)")
    }
}

/// A share flag (--max-rejected-share): 0 to 1.
func checkShare(_ share: Double, flag: String = "--max-rejected-share") throws {
    guard (0...1).contains(share) else { throw ValidationError("\(flag) must be 0 to 1, not \(share)") }
}

func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
func lpad(_ s: String, _ n: Int) -> String { s.count >= n ? " " + s : String(repeating: " ", count: n - s.count) + s }
func rounded(_ v: Double, _ places: Int) -> String {
    var m = 1.0
    for _ in 0..<places { m *= 10 }
    return "\((v * m).rounded() / m)"
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
