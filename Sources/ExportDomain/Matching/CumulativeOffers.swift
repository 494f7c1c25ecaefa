/// The outcome of the cumulative offer process.
public struct MatchingOutcome: Sendable, Equatable {
    /// Per firm: the index into `problem.contracts` of its contract, or -1.
    public var matchedContract: [Int]
    /// Per desk: the contracts it holds, in the desk's order (best first).
    public var held: [[Int]]
    /// Per desk: firms that offered it at least one contract, and those that offered it at least
    /// one emerging-market contract.
    public var applicants: [Int]
    public var emergingApplicants: [Int]
    /// Contracts offered in all.
    public var offers: Int

    public func desk(of f: Int, in p: ContractProblem) -> Int? {
        matchedContract[f] < 0 ? nil : Int(p.contracts[matchedContract[f]].desk)
    }

    /// Emerging-market contracts each desk holds.
    public func emergingHeld(in p: ContractProblem) -> [Int] {
        held.map { $0.reduce(0) { $0 + (p.contracts[$1].emerging ? 1 : 0) } }
    }
}

/// The cumulative offer process under slot-specific priorities (Hatfield and Milgrom 2005;
/// Kominers and Sönmez 2016), as docs/MATCHING.md states it.
///
/// A desk of capacity c and reserve r has r reserved slots, filled first, then c - r open slots.
/// From every contract offered to it so far, a reserved slot takes the best emerging contract
/// of a firm it does not hold yet (`soft`: when none is left, the best contract of any kind;
/// `hard`: it stays empty); an open slot takes the best contract of a firm it does not hold yet.
/// A firm no desk holds offers its next contract; offers are never withdrawn; the process ends
/// when no unheld firm has a contract left.
///
/// The outcome is stable for these choice rules, does not depend on the order in which unheld
/// firms offer, no firm gains by misreporting its list, and a desk's reserved slots hold
/// emerging contracts whenever that many firms offered it one. With no reserve and one contract
/// per firm and desk it is firm-proposing deferred acceptance.
public enum CumulativeOffers {
    public static func solve(_ p: ContractProblem, rule: EmergingReserveRule) -> MatchingOutcome {
        let nf = p.firmCount
        let nd = p.deskCount
        let firmOf = p.firmOfContract()
        let (firstAtDesk, firstEmergingAtDesk) = firstOffers(p)
        // Every contract offered to each desk, in the desk's order; the emerging ones again.
        var offered = [[Int32]](repeating: [], count: nd)
        var offeredEmerging = [[Int32]](repeating: [], count: nd)
        // What each desk's choice holds, in slot order.
        var held = [[Int32]](repeating: [], count: nd)
        var heldBy = [Int32](repeating: -1, count: nf)
        var matched = [Int](repeating: -1, count: nf)
        var next = [Int](repeating: 0, count: nf)
        var applicants = [Int](repeating: 0, count: nd)
        var emergingApplicants = [Int](repeating: 0, count: nd)
        var offers = 0
        // A firm's mark equals `round` while the current choice holds it.
        var mark = [UInt32](repeating: 0, count: nf)
        var round: UInt32 = 0
        var chosen: [Int32] = []
        // Unheld firms, offering in index order (any order gives the same outcome).
        var free = (0..<Int32(nf)).reversed().map { $0 }
        while let f32 = free.popLast() {
            let f = Int(f32)
            guard heldBy[f] < 0, p.listStart[f] + next[f] < p.listStart[f + 1] else { continue }
            let x = p.listStart[f] + next[f]
            next[f] += 1
            offers += 1
            let contract = p.contracts[x]
            let d = Int(contract.desk)
            if firstAtDesk[x] { applicants[d] += 1 }
            if firstEmergingAtDesk[x] { emergingApplicants[d] += 1 }
            insert(Int32(x), into: &offered[d], p)
            if contract.emerging { insert(Int32(x), into: &offeredEmerging[d], p) }

            round &+= 1
            choose(
                desk: d, offered[d], offeredEmerging[d], p, rule: rule, firmOf: firmOf, mark: &mark, round: round,
                into: &chosen)
            for y in held[d] where mark[Int(firmOf[Int(y)])] != round {
                let g = Int(firmOf[Int(y)])
                heldBy[g] = -1
                matched[g] = -1
                free.append(Int32(g))
            }
            for y in chosen {
                let g = Int(firmOf[Int(y)])
                assert(heldBy[g] < 0 || heldBy[g] == d, "a firm held by two desks")
                heldBy[g] = Int32(d)
                matched[g] = Int(y)
            }
            if mark[f] != round { free.append(f32) }
            swap(&held[d], &chosen)
        }
        let byDesk = held.map {
            $0.sorted { p.contracts[Int($0)].deskRank < p.contracts[Int($1)].deskRank }.map(Int.init)
        }
        return MatchingOutcome(
            matchedContract: matched, held: byDesk, applicants: applicants, emergingApplicants: emergingApplicants,
            offers: offers)
    }

    /// The desk's choice from the contracts offered to it (both lists in its order): reserved
    /// slots first, then open slots, one contract per firm. Marks the firms chosen with `round`.
    static func choose(
        desk d: Int, _ all: [Int32], _ emerging: [Int32], _ p: ContractProblem, rule: EmergingReserveRule,
        firmOf: [Int32], mark: inout [UInt32], round: UInt32, into chosen: inout [Int32]
    ) {
        chosen.removeAll(keepingCapacity: true)
        let capacity = p.capacities[d]
        let reserved = min(p.reserves[d], capacity)
        if reserved > 0 {
            for y in emerging {
                if chosen.count == reserved { break }
                let g = Int(firmOf[Int(y)])
                if mark[g] != round {
                    mark[g] = round
                    chosen.append(y)
                }
            }
        }
        // Soft: reserved slots left empty take any contract, like open ones. Hard: they stay empty.
        let total = rule == .hard ? chosen.count + capacity - reserved : capacity
        for y in all {
            if chosen.count >= total { break }
            let g = Int(firmOf[Int(y)])
            if mark[g] != round {
                mark[g] = round
                chosen.append(y)
            }
        }
    }

    /// Inserts a contract into a list kept in the desk's order.
    static func insert(_ x: Int32, into list: inout [Int32], _ p: ContractProblem) {
        let key = p.contracts[Int(x)].deskRank
        var lo = 0
        var hi = list.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if p.contracts[Int(list[mid])].deskRank < key { lo = mid + 1 } else { hi = mid }
        }
        list.insert(x, at: lo)
    }

    /// Per contract: it is the firm's first contract with its desk, and its first emerging one.
    static func firstOffers(_ p: ContractProblem) -> (any: [Bool], emerging: [Bool]) {
        var first = [Bool](repeating: false, count: p.contracts.count)
        var firstEmerging = first
        var seen = [Int](repeating: -1, count: p.deskCount)
        var seenEmerging = seen
        for f in 0..<p.firmCount {
            for x in p.listStart[f]..<p.listStart[f + 1] {
                let c = p.contracts[x]
                let d = Int(c.desk)
                if seen[d] != f {
                    seen[d] = f
                    first[x] = true
                }
                if c.emerging && seenEmerging[d] != f {
                    seenEmerging[d] = f
                    firstEmerging[x] = true
                }
            }
        }
        return (first, firstEmerging)
    }
}
