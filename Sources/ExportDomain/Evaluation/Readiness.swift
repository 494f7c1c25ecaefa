#if canImport(Glibc)
    import Glibc
#endif

/// The readiness score, 0-100, with the weights of the Korean export-promising SME designation:
/// manufacturers 45/15/15/20/5, services 35/15/25/20/5 for export-growth potential, export
/// capability, service capability, finance and innovation. Each component is read from the
/// firm's own fields on fixed scales (never national percentiles), so a firm's score depends
/// only on that firm. docs/EVALUATION.md documents every scale.
public struct Readiness: Sendable, Equatable {
    /// Each component in [0, 1].
    public var growth: Double
    public var capability: Double
    public var service: Double
    public var finance: Double
    public var innovation: Double
    /// The weighted score in hundredths of a point (0 to 10000), rounded once: exact to rank.
    public var score: Int

    public static let manufacturingWeights = (45.0, 15.0, 15.0, 20.0, 5.0)
    public static let servicesWeights = (35.0, 15.0, 25.0, 20.0, 5.0)

    /// `untappedTop` is the summed untapped potential (USD k) of the firm's top markets.
    public init(_ f: Firm, untappedTop: Int64, revenueKRWm: Int64) {
        growth = 0.5 * Self.growthScore(f) + 0.5 * Self.log10Scale(Double(untappedTop), full: 10_000)
        capability =
            0.6 * Self.log10Scale(Double(f.exportUSDk), full: 10_000)
            + 0.2 * Double(min(f.exportMarkets.filter { $0.usdK > 0 }.count, 5)) / 5
            + 0.2 * Double(min(f.certifications.nonzeroBitCount, 3)) / 3
        service =
            0.4 * Double(min(f.onlineChannels.nonzeroBitCount, 2)) / 2
            + 0.3 * Double(min(f.recommendedBy.nonzeroBitCount, 2)) / 2
            + 0.3 * Self.log10Scale(Double(f.employees ?? 0), full: 1_000)
        finance = 0.7 * Self.debtScore(f.debtRatioPct) + 0.3 * Self.log10Scale(Double(revenueKRWm), full: 1_000_000)
        innovation = 0.6 * (f.rndSuccess ? 1 : 0) + 0.4 * Double(min(f.patents ?? 0, 20)) / 20
        let w = f.industry.isServices ? Self.servicesWeights : Self.manufacturingWeights
        let points = w.0 * growth + w.1 * capability + w.2 * service + w.3 * finance + w.4 * innovation
        score = min(10_000, max(0, Int((points * 100).rounded())))
    }

    /// log10(1 + v) / log10(1 + full), clamped to [0, 1]: `full` scores 1.
    static func log10Scale(_ v: Double, full: Double) -> Double {
        guard v > 0 else { return 0 }
        return min(1, log10(1 + v) / log10(1 + full))
    }

    /// Export growth last year over the year before, in bands (linear between band edges):
    /// growth of 50% or more 1.0, 20% 0.8, flat 0.6, a fall of 20% 0.35, worse 0.1; a first
    /// year of exports 0.8; no exports either year 0.3.
    static func growthScore(_ f: Firm) -> Double {
        if f.exportPrevUSDk == 0 { return f.exportUSDk > 0 ? 0.8 : 0.3 }
        let r = Double(f.exportUSDk) / Double(f.exportPrevUSDk)
        let bands: [(Double, Double)] = [(0.8, 0.1), (0.8, 0.35), (1.0, 0.6), (1.2, 0.8), (1.5, 1.0)]
        if r < 0.8 { return 0.1 }
        for k in 1..<bands.count where r <= bands[k].0 {
            let (x0, y0) = bands[k - 1]
            let (x1, y1) = bands[k]
            return x1 == x0 ? y1 : y0 + (y1 - y0) * (r - x0) / (x1 - x0)
        }
        return 1.0
    }

    /// Debt ratio bands: up to 100% 1.0, 200% 0.75, 300% 0.5, 400% 0.3, more 0.1; unknown 0.5.
    static func debtScore(_ pct: Int?) -> Double {
        guard let d = pct else { return 0.5 }
        switch d {
        case ...100: return 1.0
        case ...200: return 0.75
        case ...300: return 0.5
        case ...400: return 0.3
        default: return 0.1
        }
    }

    /// The score as a decimal with two places ("72.35").
    public var text: String { Self.hundredths(score) }

    public static func hundredths(_ v: Int) -> String {
        let frac = v % 100
        return "\(v / 100).\(frac < 10 ? "0" : "")\(frac)"
    }
}
