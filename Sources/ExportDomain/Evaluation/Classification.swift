/// Export tiers by last year's exports (USD): DOMESTIC under 100k, PROMISING 100k to 1M,
/// GROWTH 1M to 5M, STRONG 5M or more.
public enum ExportTier: String, DomainCode {
    case DOMESTIC, PROMISING, GROWTH, STRONG

    public init(exportUSDk: Int64) {
        switch exportUSDk {
        case ..<100: self = .DOMESTIC
        case ..<1_000: self = .PROMISING
        case ..<5_000: self = .GROWTH
        default: self = .STRONG
        }
    }

    public var index: Int {
        switch self {
        case .DOMESTIC: return 0
        case .PROMISING: return 1
        case .GROWTH: return 2
        case .STRONG: return 3
        }
    }
}

/// The three groups of mid-sized firms (size class MIDSIZE only): LARGE with revenue of 1
/// trillion KRW or more; below that EXPORT_ORIENTED when exports are at least the configured
/// share of revenue (30% by default, at the configured KRW/USD rate), else DOMESTIC_ORIENTED.
public enum MidsizeGroup: String, DomainCode {
    case LARGE, EXPORT_ORIENTED, DOMESTIC_ORIENTED

    /// nil for firms that are not mid-sized. Exact integer arithmetic: exports in KRW thousands
    /// (USD k x rate) against revenue in KRW thousands (KRW m x 1000).
    public init?(_ f: Firm, configuration c: ProgramConfiguration) {
        guard f.sizeClass == .MIDSIZE else { return nil }
        if f.revenueKRWm >= c.midSizeLargeKRWm {
            self = .LARGE
            return
        }
        let exportsKRWk = f.exportUSDk * Int64(c.fxKRWPerUSD)
        let revenueKRWk = f.revenueKRWm * 1000
        self =
            exportsKRWk * 1000 >= Int64(c.exportOrientedThresholdPermille) * revenueKRWk
            ? .EXPORT_ORIENTED : .DOMESTIC_ORIENTED
    }

    public var index: Int {
        switch self {
        case .LARGE: return 0
        case .EXPORT_ORIENTED: return 1
        case .DOMESTIC_ORIENTED: return 2
        }
    }
}
