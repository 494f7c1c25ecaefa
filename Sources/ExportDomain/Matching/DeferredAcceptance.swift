/// A many-to-one matching problem with reserves, in index form: firms 0..<firmCount propose to
/// desks 0..<capacities.count. Only mutually acceptable pairs appear: firm `f`'s list is
/// `pairs[listStart[f]..<listStart[f + 1]]`, best first.
public struct MatchingProblem: Sendable, Equatable {
    /// One acceptable (firm, desk) pair as seen from the firm's list.
    public struct Pair: Sendable, Equatable {
        public var desk: Int32
        /// The desk's rank of this firm (lower is better; distinct within a desk).
        public var deskRank: Int32
        /// The pair's target market is emerging: the pair counts toward the desk's reserve.
        public var emerging: Bool

        public init(desk: Int32, deskRank: Int32, emerging: Bool) {
            self.desk = desk
            self.deskRank = deskRank
            self.emerging = emerging
        }
    }

    public var capacities: [Int]
    /// Seats each desk reserves for emerging-market pairs (0 = no reserve); at most the capacity.
    public var reserves: [Int]
    public var listStart: [Int]
    public var pairs: [Pair]

    public var firmCount: Int { listStart.count - 1 }
    public var deskCount: Int { capacities.count }

    public init(capacities: [Int], reserves: [Int], lists: [[Pair]]) {
        precondition(capacities.count == reserves.count)
        self.capacities = capacities
        self.reserves = reserves
        var start = [0]
        var all: [Pair] = []
        all.reserveCapacity(lists.reduce(0) { $0 + $1.count })
        for l in lists {
            all.append(contentsOf: l)
            start.append(all.count)
        }
        listStart = start
        pairs = all
    }

    public func list(_ f: Int) -> ArraySlice<Pair> { pairs[listStart[f]..<listStart[f + 1]] }

    /// The reserve for `capacity` seats at quota `quotaPermille`: ceil(q x capacity).
    public static func reserve(capacity: Int, quotaPermille: Int) -> Int {
        (capacity * quotaPermille + 999) / 1000
    }
}

/// The outcome of deferred acceptance.
public struct MatchingOutcome: Sendable, Equatable {
    /// Per firm: the index into `problem.pairs` of its match, or -1.
    public var matchedPair: [Int]
    /// Per desk: matched firms, in the desk's order (best first).
    public var held: [[Int32]]
    /// Per desk: firms that proposed and were acceptable (every proposal reaches an acceptable
    /// desk, lists hold only acceptable pairs), and how many of them were emerging-market pairs.
    public var applicants: [Int]
    public var emergingApplicants: [Int]
    public var proposals: Int

    public func desk(of f: Int, in p: MatchingProblem) -> Int? {
        matchedPair[f] < 0 ? nil : Int(p.pairs[matchedPair[f]].desk)
    }
}

/// Firm-proposing deferred acceptance with capacities and soft minority reserves (Hafalir,
/// Yenmez and Yildirim 2013).
///
/// Choice rule of a desk with capacity c and reserve r facing applicants A: take the best
/// min(r, |emerging in A|) emerging-market applicants in the desk's order, then fill the seats
/// left (up to c in all) with the best remaining applicants, emerging or not. A reserved seat no
/// emerging applicant claims goes to the next best applicant (the reserve is soft).
///
/// The rule is substitutable and size-monotone, so deferred acceptance ends in a matching that
/// is stable for it: no firm f and desk d where f prefers d to its match and d would choose f
/// from its matched firms plus f. Among all such matchings it is the one every firm likes best,
/// and no firm gains by misreporting its list. With every reserve 0 the rule is responsive and
/// the result is the firm-optimal stable matching of the hospital/residents problem.
public enum DeferredAcceptance {
    public static func solve(_ p: MatchingProblem) -> MatchingOutcome {
        let nf = p.firmCount
        let nd = p.deskCount
        var next = [Int](repeating: 0, count: nf)
        var matched = [Int](repeating: -1, count: nf)
        // Held proposals per desk as pair indices, sorted by desk rank (best first).
        var held = [[Int]](repeating: [], count: nd)
        for d in 0..<nd { held[d].reserveCapacity(p.capacities[d] + 1) }
        var applicants = [Int](repeating: 0, count: nd)
        var emergingApplicants = [Int](repeating: 0, count: nd)
        var proposals = 0
        var pairFirm = [Int32](repeating: 0, count: p.pairs.count)
        for f in 0..<nf { for pi in p.listStart[f]..<p.listStart[f + 1] { pairFirm[pi] = Int32(f) } }
        // Free firms, proposed in index order (any order gives the same result).
        var free = Array((0..<nf).reversed())
        while let f = free.popLast() {
            let end = p.listStart[f + 1]
            guard p.listStart[f] + next[f] < end else { continue }
            let pi = p.listStart[f] + next[f]
            next[f] += 1
            proposals += 1
            let pair = p.pairs[pi]
            let d = Int(pair.desk)
            applicants[d] += 1
            if pair.emerging { emergingApplicants[d] += 1 }
            let cap = p.capacities[d]
            if cap == 0 {
                free.append(f)
                continue
            }
            // Insert in rank order.
            var pos = held[d].count
            while pos > 0 && p.pairs[held[d][pos - 1]].deskRank > pair.deskRank { pos -= 1 }
            held[d].insert(pi, at: pos)
            matched[f] = pi
            if held[d].count <= cap { continue }
            // One too many: reject the worst applicant outside the protected set (the best r
            // emerging-market applicants).
            let out = rejectIndex(held[d], reserve: p.reserves[d], problem: p)
            let loser = held[d].remove(at: out)
            let lf = Int(pairFirm[loser])
            matched[lf] = -1
            free.append(lf)
        }
        return MatchingOutcome(
            matchedPair: matched,
            held: held.map { $0.map { pairFirm[$0] } },
            applicants: applicants, emergingApplicants: emergingApplicants, proposals: proposals)
    }

    /// The position in `held` (sorted best first, one over capacity) that the choice rule leaves
    /// out: the last one not among the first `reserve` emerging-market pairs.
    static func rejectIndex(_ held: [Int], reserve: Int, problem p: MatchingProblem) -> Int {
        if reserve == 0 { return held.count - 1 }
        var emergingSeen = 0
        var lastUnprotected = -1
        for (i, pi) in held.enumerated() {
            if p.pairs[pi].emerging && emergingSeen < reserve {
                emergingSeen += 1
            } else {
                lastUnprotected = i
            }
        }
        // held.count = capacity + 1 > reserve, so at least one pair is unprotected.
        return lastUnprotected
    }
}
