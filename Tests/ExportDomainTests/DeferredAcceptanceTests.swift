import ExportDomain
import Testing

/// Random matching problems, and reference implementations written independently of the
/// library's: the choice rule by enumeration of subsets, stability by checking every pair, a
/// round-based deferred acceptance, and the firm-optimal matching by enumerating every matching.
struct RandomProblem {
    var rng: SeededRandom

    /// `opposed`: desks tend to prefer the firms that like them least, the case with many
    /// stable matchings.
    mutating func make(
        firms nf: Int, desks nd: Int, maxCapacity: Int, maxList: Int, quotaPermille: Int, opposed: Bool = false
    ) -> MatchingProblem {
        let caps = (0..<nd).map { _ in 1 + rng.below(maxCapacity) }
        // Each desk orders every firm by a random permutation; a pair's rank is the firm's place.
        var deskOrder: [[Int32]] = []
        for _ in 0..<nd {
            var perm = Array(0..<Int32(nf))
            for i in stride(from: nf - 1, to: 0, by: -1) { perm.swapAt(i, rng.below(i + 1)) }
            var rank = [Int32](repeating: 0, count: nf)
            for (r, f) in perm.enumerated() { rank[Int(f)] = Int32(r) }
            deskOrder.append(rank)
        }
        var lists: [[MatchingProblem.Pair]] = []
        for f in 0..<nf {
            var desks = Array(0..<nd)
            for i in stride(from: nd - 1, to: 0, by: -1) { desks.swapAt(i, rng.below(i + 1)) }
            if opposed {
                // Firm f prefers the desks that rank it worst.
                desks.sort { deskOrder[$0][f] > deskOrder[$1][f] || (deskOrder[$0][f] == deskOrder[$1][f] && $0 < $1) }
                if rng.chance(0.3) && nd > 1 { desks.swapAt(0, 1) }
            }
            let len = rng.below(min(nd, maxList) + 1)
            lists.append(
                desks.prefix(len).map {
                    MatchingProblem.Pair(desk: Int32($0), deskRank: deskOrder[$0][f], emerging: rng.chance(0.35))
                })
        }
        return MatchingProblem(
            capacities: caps,
            reserves: caps.map { MatchingProblem.reserve(capacity: $0, quotaPermille: quotaPermille) },
            lists: lists)
    }
}

/// An applicant as a desk sees it.
struct Applicant: Hashable {
    var firm: Int
    var rank: Int32
    var emerging: Bool
}

enum Reference {
    /// The choice rule by enumeration: among all subsets of at most `capacity` applicants, those
    /// with the most emerging applicants up to the reserve, then the most applicants, then the
    /// best ranks (sorted rank vectors compared lexicographically).
    static func chooseByEnumeration(_ a: [Applicant], capacity: Int, reserve: Int) -> Set<Int> {
        precondition(a.count <= 16)
        var best: (Int, Int, [Int32], Set<Int>)?
        for mask in 0..<(1 << a.count) where mask.nonzeroBitCount <= capacity {
            let s = a.indices.filter { mask & (1 << $0) != 0 }.map { a[$0] }
            let e = min(reserve, s.filter(\.emerging).count)
            let ranks = s.map(\.rank).sorted()
            let better: Bool
            if let b = best {
                if e != b.0 {
                    better = e > b.0
                } else if s.count != b.1 {
                    better = s.count > b.1
                } else {
                    better = ranks.lexicographicallyPrecedes(b.2)
                }
            } else {
                better = true
            }
            if better { best = (e, s.count, ranks, Set(s.map(\.firm))) }
        }
        return best?.3 ?? []
    }

    /// The choice rule as written in DOMAIN.md, directly: the best emerging applicants up to the
    /// reserve, then the best of the rest up to capacity.
    static func choose(_ a: [Applicant], capacity: Int, reserve: Int) -> Set<Int> {
        let sorted = a.sorted { $0.rank < $1.rank }
        var chosen: [Applicant] = Array(sorted.filter(\.emerging).prefix(reserve))
        let taken = Set(chosen.map(\.firm))
        for x in sorted where !taken.contains(x.firm) && chosen.count < capacity { chosen.append(x) }
        return Set(chosen.map(\.firm))
    }

    static func pair(_ p: MatchingProblem, firm f: Int, desk d: Int) -> MatchingProblem.Pair? {
        p.list(f).first { Int($0.desk) == d }
    }

    /// Matched firms per desk, from a firm -> desk assignment.
    static func byDesk(_ p: MatchingProblem, _ m: [Int?]) -> [[Applicant]] {
        var out = [[Applicant]](repeating: [], count: p.deskCount)
        for (f, d) in m.enumerated() {
            guard let d, let pair = pair(p, firm: f, desk: d) else { continue }
            out[d].append(Applicant(firm: f, rank: pair.deskRank, emerging: pair.emerging))
        }
        return out
    }

    /// Problems with a matching, or nil if stable under the choice rule.
    static func instability(_ p: MatchingProblem, _ m: [Int?]) -> String? {
        let held = byDesk(p, m)
        for (f, d) in m.enumerated() {
            if let d, pair(p, firm: f, desk: d) == nil { return "firm \(f) matched to desk \(d) not on its list" }
        }
        for d in 0..<p.deskCount {
            if held[d].count > p.capacities[d] { return "desk \(d) over capacity" }
            if choose(held[d], capacity: p.capacities[d], reserve: p.reserves[d]) != Set(held[d].map(\.firm)) {
                return "desk \(d) would drop one of its own"
            }
        }
        for f in 0..<p.firmCount {
            for pair in p.list(f) {
                let d = Int(pair.desk)
                if d == m[f] { break }  // every desk after this one is worse for f
                let withF = held[d] + [Applicant(firm: f, rank: pair.deskRank, emerging: pair.emerging)]
                if choose(withF, capacity: p.capacities[d], reserve: p.reserves[d]).contains(f) {
                    return "firm \(f) and desk \(d) block"
                }
            }
        }
        return nil
    }

    /// Deferred acceptance in rounds: every free firm proposes at once, every desk keeps its
    /// choice from what it holds plus the new proposals.
    static func roundBased(_ p: MatchingProblem) -> [Int?] {
        var next = [Int](repeating: 0, count: p.firmCount)
        var held = [[Applicant]](repeating: [], count: p.deskCount)
        var matched = [Int?](repeating: nil, count: p.firmCount)
        while true {
            var proposals = [[Applicant]](repeating: [], count: p.deskCount)
            var any = false
            for f in 0..<p.firmCount where matched[f] == nil {
                let l = Array(p.list(f))
                guard next[f] < l.count else { continue }
                let pair = l[next[f]]
                next[f] += 1
                proposals[Int(pair.desk)].append(Applicant(firm: f, rank: pair.deskRank, emerging: pair.emerging))
                any = true
            }
            if !any { return matched }
            for d in 0..<p.deskCount where !proposals[d].isEmpty {
                let all = held[d] + proposals[d]
                let keep = choose(all, capacity: p.capacities[d], reserve: p.reserves[d])
                for a in all { matched[a.firm] = keep.contains(a.firm) ? d : nil }
                held[d] = all.filter { keep.contains($0.firm) }
            }
        }
    }

    /// Every matching of a small problem that is stable under the choice rule.
    static func stableMatchings(_ p: MatchingProblem) -> [[Int?]] {
        var out: [[Int?]] = []
        var m = [Int?](repeating: nil, count: p.firmCount)
        var load = [Int](repeating: 0, count: p.deskCount)
        func go(_ f: Int) {
            if f == p.firmCount {
                if instability(p, m) == nil { out.append(m) }
                return
            }
            m[f] = nil
            go(f + 1)
            for pair in p.list(f) where load[Int(pair.desk)] < p.capacities[Int(pair.desk)] {
                m[f] = Int(pair.desk)
                load[Int(pair.desk)] += 1
                go(f + 1)
                load[Int(pair.desk)] -= 1
                m[f] = nil
            }
        }
        go(0)
        return out
    }

    /// Position of `d` on f's list (unmatched = after every desk).
    static func position(_ p: MatchingProblem, _ f: Int, _ d: Int?) -> Int {
        guard let d else { return Int.max }
        return p.list(f).firstIndex { Int($0.desk) == d }! - p.listStart[f]
    }
}

extension MatchingOutcome {
    func assignment(_ p: MatchingProblem) -> [Int?] { (0..<p.firmCount).map { desk(of: $0, in: p) } }
}

@Suite("Deferred acceptance with reserves")
struct DeferredAcceptanceTests {
    @Test func theChoiceRuleAsWrittenEqualsItsEnumeration() {
        var rng = SeededRandom(seed: 99)
        for _ in 0..<3_000 {
            let n = rng.below(11)
            var ranks = Array(0..<Int32(n))
            for i in stride(from: n - 1, to: 0, by: -1) { ranks.swapAt(i, rng.below(i + 1)) }
            let a = (0..<n).map { Applicant(firm: $0, rank: ranks[$0], emerging: rng.chance(0.4)) }
            let cap = 1 + rng.below(6)
            let reserve = rng.below(cap + 1)
            #expect(
                Reference.choose(a, capacity: cap, reserve: reserve)
                    == Reference.chooseByEnumeration(a, capacity: cap, reserve: reserve))
        }
    }

    @Test(arguments: [0, 250, 500, 1000])
    func noBlockingPairOnThousandsOfInstances(quota: Int) {
        var gen = RandomProblem(rng: SeededRandom(seed: UInt64(1_000 + quota)))
        for i in 0..<1_500 {
            let big = i % 10 == 0
            let p = gen.make(
                firms: big ? 40 + gen.rng.below(160) : 1 + gen.rng.below(25), desks: 1 + gen.rng.below(big ? 20 : 8),
                maxCapacity: 1 + gen.rng.below(big ? 12 : 5), maxList: 1 + gen.rng.below(10), quotaPermille: quota)
            let o = DeferredAcceptance.solve(p)
            let m = o.assignment(p)
            if let problem = Reference.instability(p, m) {
                Issue.record("instance \(i): \(problem)")
                return
            }
            // The bookkeeping agrees with the assignment.
            for d in 0..<p.deskCount { #expect(o.held[d].count == m.filter { $0 == d }.count) }
        }
    }

    @Test(arguments: [0, 250, 1000])
    func sameMatchingAsAnIndependentRoundBasedImplementation(quota: Int) {
        var gen = RandomProblem(rng: SeededRandom(seed: UInt64(2_000 + quota)))
        for i in 0..<1_500 {
            let p = gen.make(
                firms: 1 + gen.rng.below(80), desks: 1 + gen.rng.below(12), maxCapacity: 1 + gen.rng.below(6),
                maxList: 1 + gen.rng.below(10), quotaPermille: quota)
            let m = DeferredAcceptance.solve(p).assignment(p)
            #expect(m == Reference.roundBased(p), "instance \(i)")
        }
    }

    /// With the quota off: the unique firm-optimal stable matching of hospital/residents. With
    /// reserves: the firm-optimal matching among those stable under the choice rule.
    @Test(arguments: [0, 250, 500])
    func firmOptimalAmongEveryStableMatching(quota: Int) {
        var gen = RandomProblem(rng: SeededRandom(seed: UInt64(3_000 + quota)))
        var checked = 0
        var withSeveral = 0
        for i in 0..<600 {
            let p = gen.make(
                firms: 2 + gen.rng.below(6), desks: 2 + gen.rng.below(3), maxCapacity: 1 + gen.rng.below(2), maxList: 4,
                quotaPermille: quota, opposed: true)
            let m = DeferredAcceptance.solve(p).assignment(p)
            let stable = Reference.stableMatchings(p)
            #expect(stable.contains(m), "instance \(i): not among the stable matchings")
            for s in stable {
                for f in 0..<p.firmCount {
                    #expect(
                        Reference.position(p, f, m[f]) <= Reference.position(p, f, s[f]), "instance \(i), firm \(f)")
                }
            }
            checked += 1
            if stable.count > 1 { withSeveral += 1 }
        }
        // The enumeration must have had real choices to make.
        #expect(checked == 600 && withSeveral > 20, "\(withSeveral) instances with several stable matchings")
    }

    @Test(arguments: [250, 500])
    func eachDeskHoldsItsChoiceFromEveryoneWhoApplied(quota: Int) {
        var gen = RandomProblem(rng: SeededRandom(seed: UInt64(4_000 + quota)))
        var unfilled = 0
        for i in 0..<1_500 {
            let p = gen.make(
                firms: 1 + gen.rng.below(30), desks: 1 + gen.rng.below(6), maxCapacity: 1 + gen.rng.below(6),
                maxList: 1 + gen.rng.below(6), quotaPermille: quota)
            let o = DeferredAcceptance.solve(p)
            let m = o.assignment(p)
            // A firm applied to every desk of its list down to its match (all of it if unmatched).
            var applied = [[Applicant]](repeating: [], count: p.deskCount)
            for f in 0..<p.firmCount {
                for pair in p.list(f) {
                    applied[Int(pair.desk)].append(Applicant(firm: f, rank: pair.deskRank, emerging: pair.emerging))
                    if Int(pair.desk) == m[f] { break }
                }
            }
            for d in 0..<p.deskCount {
                #expect(o.applicants[d] == applied[d].count, "instance \(i) desk \(d)")
                #expect(o.emergingApplicants[d] == applied[d].filter(\.emerging).count)
                let held = Set(m.indices.filter { m[$0] == d })
                if applied[d].count <= 12 {
                    let chosen = Reference.chooseByEnumeration(
                        applied[d], capacity: p.capacities[d], reserve: p.reserves[d])
                    #expect(chosen == held, "instance \(i) desk \(d)")
                }
                // A reserve stays unfilled only when no emerging applicant was turned away.
                let emergingHeld = applied[d].filter { $0.emerging && held.contains($0.firm) }.count
                if emergingHeld < p.reserves[d] {
                    unfilled += 1
                    #expect(
                        applied[d].filter(\.emerging).allSatisfy { held.contains($0.firm) }, "instance \(i) desk \(d)")
                }
            }
        }
        #expect(unfilled > 0)
    }
}
