/// The emerging-market reserve of one ecosystem, fixed from the desks' declarations before any
/// list is read: R = ceil(q x the ecosystem's seats), at most the seats of the desks that cover
/// an emerging market, spread over those desks in proportion to capacity by the largest
/// remainder (ties by desk order, which is company id order).
public enum EmergingReserve {
    /// The ecosystem's reserve R before the cap: ceil(q x seats).
    public static func total(seats: Int, quotaPermille: Int) -> Int { (seats * quotaPermille + 999) / 1000 }

    /// Reserved slots per desk, in desk order. `coversEmerging[d]`: desk d covers at least one
    /// emerging market (a company listing no market covers them all).
    public static func allocate(capacities: [Int], coversEmerging: [Bool], quotaPermille: Int) -> [Int] {
        precondition(capacities.count == coversEmerging.count)
        let seats = capacities.reduce(0, +)
        let eligible = zip(capacities, coversEmerging).reduce(0) { $0 + ($1.1 ? $1.0 : 0) }
        let r = min(total(seats: seats, quotaPermille: quotaPermille), eligible)
        var out = [Int](repeating: 0, count: capacities.count)
        guard r > 0 else { return out }
        // Exact shares r x c / eligible: whole part now, remainders (numerators) ranked after.
        var remainders: [(numerator: Int, desk: Int)] = []
        var given = 0
        for (d, c) in capacities.enumerated() where coversEmerging[d] {
            out[d] = r * c / eligible
            given += out[d]
            remainders.append((r * c % eligible, d))
        }
        remainders.sort { $0.numerator != $1.numerator ? $0.numerator > $1.numerator : $0.desk < $1.desk }
        for e in remainders.prefix(r - given) { out[e.desk] += 1 }
        return out
    }

    /// The company covers an emerging market of `markets` (no market listed: every market).
    public static func covers(_ company: TradingCompany, in markets: MarketTable) -> Bool {
        if company.markets.isEmpty { return markets.markets.contains(where: \.emerging) }
        return company.markets.contains { Int($0) < markets.count && markets[$0].emerging }
    }
}
