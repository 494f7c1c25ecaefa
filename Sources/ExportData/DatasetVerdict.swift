/// Whether a dataset read in full may be run, and why not: what `exportctl submit` acts on and
/// `exportctl validate` reports.
///
/// Two kinds of reasons. Blocking ones nothing overrides: a required file missing, unreadable or
/// without a valid row, and any error in config.toml (a value out of range, an unknown reserve
/// rule, an unknown key): running on defaults the operator did not choose would be worse than
/// not running. Overridable ones (`--force`): more rejected rows than `maxRejectedShare` of the
/// rows read, and a file that ends inside a quoted field (everything after the quote was lost).
public struct DatasetVerdict: Sendable, Equatable {
    /// The default largest share of rejected rows (5%).
    public static let defaultMaxRejectedShare = 0.05

    public var blocking: [String]
    public var overridable: [String]
    /// Rejected rows over rows read, config.toml left out.
    public var rejectedShare: Double

    public init(blocking: [String], overridable: [String], rejectedShare: Double) {
        self.blocking = blocking
        self.overridable = overridable
        self.rejectedShare = rejectedShare
    }

    /// True when the dataset must not be run (`force` lifts the overridable reasons only).
    public func stops(force: Bool) -> Bool { !blocking.isEmpty || (!force && !overridable.isEmpty) }

    /// Every reason, blocking first.
    public var reasons: [String] { blocking + overridable }
}

extension DatasetReader {
    /// The verdict on what was read (call after `read`).
    public func verdict(maxRejectedShare: Double = DatasetVerdict.defaultMaxRejectedShare) -> DatasetVerdict {
        let config = DatasetFile.config.rawValue
        var blocking = problems
        blocking += configurationErrors.map { "\(config) \($0)" }
        let data = reports.filter { $0.file != config }
        let read = data.reduce(0) { $0 + $1.rowsRead }
        let rejected = data.reduce(0) { $0 + $1.rejected }
        let share = read == 0 ? 0 : Double(rejected) / Double(read)
        var overridable: [String] = []
        if share > maxRejectedShare {
            overridable.append(
                "\(rejected) of \(read) rows were rejected (\(Self.percent(share))), more than the limit of "
                    + "\(Self.percent(maxRejectedShare))")
        }
        for f in cutOffFiles {
            overridable.append("\(f) ends inside a quoted field: every row after the opening quote was lost")
        }
        return DatasetVerdict(blocking: blocking, overridable: overridable, rejectedShare: share)
    }

    /// A share as a percentage with up to two decimals (0.0725 -> "7.25%", 0.05 -> "5%").
    static func percent(_ share: Double) -> String {
        let hundredths = Int((share * 10_000).rounded())
        var text = "\(hundredths / 100)"
        let frac = hundredths % 100
        if frac > 0 { text += frac % 10 == 0 ? ".\(frac / 10)" : (frac < 10 ? ".0\(frac)" : ".\(frac)") }
        return text + "%"
    }
}
