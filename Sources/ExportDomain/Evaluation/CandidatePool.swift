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
