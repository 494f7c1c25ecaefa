/// A firm in the running for the national pool (or the new-export-source track).
public struct PoolCandidate: Sendable, Equatable {
    public var firm: Firm
    /// Hundredths of a point (`Readiness.score`).
    public var readiness: Int
    /// A government R&D success with readiness at or above the configured floor: taken before
    /// any other firm.
    public var priority: Bool
    /// The firm's exports this year to date, USD k: its export records in the evaluation
    /// (above zero) added up, so the collector can follow the firm once it is supported.
    public var exportsToDate: Int64

    public init(firm: Firm, readiness: Int, priority: Bool, exportsToDate: Int64 = 0) {
        self.firm = firm
        self.readiness = readiness
        self.priority = priority
        self.exportsToDate = exportsToDate
    }

    /// The pool's total order: the priority tier first, then readiness (higher first), then
    /// firm id (lower first). Ids are unique, so no two candidates tie.
    public static func ranksBefore(_ a: PoolCandidate, _ b: PoolCandidate) -> Bool {
        if a.priority != b.priority { return a.priority }
        if a.readiness != b.readiness { return a.readiness > b.readiness }
        return a.firm.id < b.firm.id
    }
}

/// The candidate pool (docs/EVALUATION.md, "The candidate pool").
public enum CandidatePool {
    /// Eligible: exports below USD 5M last year, and at least one recommendation or a
    /// new-export-source flag.
    public static func isEligible(_ f: Firm) -> Bool {
        f.exportUSDk < 5_000 && (f.recommendedBy != 0 || f.isNewExportSource)
    }

    /// In the priority tier: an R&D success whose readiness reaches the floor (points).
    public static func isPriority(_ f: Firm, readiness: Int, configuration c: ProgramConfiguration) -> Bool {
        f.rndSuccess && readiness >= c.rndPriorityFloor * 100
    }

    /// The first `n` of `candidates` in pool order.
    public static func top(_ candidates: [PoolCandidate], n: Int) -> [PoolCandidate] {
        // Sorts small keys, not the candidates (each carries a whole firm): the same order.
        var keys = candidates.indices.map { i in
            (rank: (candidates[i].priority ? 0 : 1, -candidates[i].readiness, candidates[i].firm.id.value), index: i)
        }
        keys.sort { $0.rank < $1.rank }
        return keys.prefix(n).map { candidates[$0.index] }
    }

    /// Merges lists already in pool order into the first `n` of their union, in pool order
    /// (associative and commutative: the order is total).
    public static func merge(_ lists: [[PoolCandidate]], n: Int) -> [PoolCandidate] {
        var heads = [Int](repeating: 0, count: lists.count)
        var out: [PoolCandidate] = []
        out.reserveCapacity(min(n, lists.reduce(0) { $0 + $1.count }))
        while out.count < n {
            var best = -1
            for (i, l) in lists.enumerated() where heads[i] < l.count {
                if best < 0 || PoolCandidate.ranksBefore(l[heads[i]], lists[best][heads[best]]) { best = i }
            }
            if best < 0 { break }
            out.append(lists[best][heads[best]])
            heads[best] += 1
        }
        return out
    }
}

/// Firms able to lead an export consortium (docs/MATCHING.md, "Consortia"): mid-sized firms and
/// exporters of at least USD 1M last year, whether or not they are pool candidates. Each industry
/// keeps its first `limit` in leader order, enough for every consortium its pool could form.
public enum Leaders {
    /// Last year's exports (USD k) from which a firm can lead.
    public static let minimumExportUSDk: Int64 = 1_000

    public static func isEligible(_ f: Firm) -> Bool { f.sizeClass == .MIDSIZE || f.exportUSDk >= minimumExportUSDk }

    /// Leaders kept per industry: as many as consortia of three the whole pool could form, so a
    /// cut never binds before the pool runs out of members.
    public static func limit(poolSize: Int) -> Int { max(1, (poolSize + 2) / 3) }

    /// Leader order: the largest exporters first (the firms best able to carry others), then
    /// firm id.
    public static func ranksBefore(_ a: PoolCandidate, _ b: PoolCandidate) -> Bool {
        if a.firm.exportUSDk != b.firm.exportUSDk { return a.firm.exportUSDk > b.firm.exportUSDk }
        return a.firm.id < b.firm.id
    }

    /// The first `limit` of each industry in leader order; the result in industry, then leader order.
    public static func top(_ candidates: [PoolCandidate], limit: Int) -> [PoolCandidate] {
        var byIndustry = [[PoolCandidate]](repeating: [], count: Industry.allCases.count)
        for c in candidates { byIndustry[c.firm.industry.index].append(c) }
        return byIndustry.flatMap { $0.sorted(by: ranksBefore).prefix(limit) }
    }

    /// The union of lists cut by `top`, cut again (associative and commutative: the order is total).
    public static func merge(_ lists: [[PoolCandidate]], limit: Int) -> [PoolCandidate] {
        top(lists.flatMap { $0 }, limit: limit)
    }

    /// The leaders from outside the pool each industry's ecosystem job is given, by
    /// `Industry.index`: of `leaders` (the national list, any order), those not in `pool`, the
    /// first in leader order, as many as consortia of `consortiumMin` the
    /// industry's pool firms could fill beside a leader.
    public static func outsideThePool(_ leaders: [PoolCandidate], pool: [PoolCandidate], consortiumMin: Int)
        -> [[PoolCandidate]]
    {
        let inPool = Set(pool.map(\.firm.id))
        let memberSlots = max(1, consortiumMin - 1)
        var poolFirms = [Int](repeating: 0, count: Industry.allCases.count)
        for c in pool { poolFirms[c.firm.industry.index] += 1 }
        var out = [[PoolCandidate]](repeating: [], count: Industry.allCases.count)
        for c in leaders.sorted(by: ranksBefore) where !inPool.contains(c.firm.id) {
            let i = c.firm.industry.index
            if out[i].count < (poolFirms[i] + memberSlots - 1) / memberSlots { out[i].append(c) }
        }
        return out
    }
}
