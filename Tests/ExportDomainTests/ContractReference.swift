import ExportDomain

/// Random contract problems: several contracts per firm and desk, desks of every size, reserves
/// from none to the whole capacity.
struct RandomContracts {
    var rng: SeededRandom

    /// `markets` markets, the first `emerging` of them emerging. `structured`: desks order
    /// contracts by a ranking of firms, then the firm's own order (as an own `desk_rankings.csv`
    /// does); otherwise every desk has an arbitrary order over contracts.
    mutating func make(
        firms nf: Int, desks nd: Int, maxCapacity: Int, maxContracts: Int, markets: Int = 6, emerging: Int = 3,
        reserves: Reserves = .random, structured: Bool = false, acceptProbability: Double = 0.8
    ) -> ContractProblem {
        let caps = (0..<nd).map { _ in rng.below(maxCapacity + 1) }
        let res: [Int]
        switch reserves {
        case .none: res = caps.map { _ in 0 }
        case .random: res = caps.map { rng.below($0 + 1) }
        case .quota(let q):
            res = EmergingReserve.allocate(
                capacities: caps, coversEmerging: caps.map { _ in rng.chance(0.7) }, quotaPermille: q)
        }
        // Every possible contract's place in its desk's order.
        let firmRank = (0..<nd).map { _ in permutation(nf) }
        var arbitrary: [[Int32]] = []  // [desk][firm * markets + market]
        for _ in 0..<nd { arbitrary.append(permutation(nf * markets)) }
        var lists: [[ContractProblem.Contract]] = []
        for f in 0..<nf {
            var all: [(Int, UInt8)] = []
            for d in 0..<nd { for m in 0..<markets { all.append((d, UInt8(m))) } }
            shuffle(&all)
            let take = rng.below(min(all.count, maxContracts) + 1)
            var list: [ContractProblem.Contract] = []
            for (j, (d, m)) in all.prefix(take).enumerated() where rng.chance(acceptProbability) {
                let rank =
                    structured
                    ? firmRank[d][f] * Int32(maxContracts + 1) + Int32(j) : arbitrary[d][f * markets + Int(m)]
                list.append(
                    ContractProblem.Contract(desk: Int32(d), market: m, emerging: Int(m) < emerging, deskRank: rank))
            }
            lists.append(list)
        }
        return ContractProblem(capacities: caps, reserves: res, lists: lists)
    }

    enum Reserves {
        case none, random
        case quota(Int)
    }

    mutating func permutation(_ n: Int) -> [Int32] {
        var p = Array(0..<Int32(n))
        shuffle(&p)
        return p
    }

    mutating func shuffle<T>(_ a: inout [T]) {
        for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, rng.below(i + 1)) }
    }
}

/// The cumulative offer process written again from the rules in docs/MATCHING.md, plainly and
/// slowly: every desk's choice is recomputed slot by slot from all its offers after every offer,
/// and the next firm to offer is drawn at random among the unheld ones.
enum ContractReference {
    /// One desk's choice from a set of offered contracts (indices into `p.contracts`), slot by
    /// slot: r reserved slots, then c - r open ones.
    static func choose(
        _ offered: [Int], desk d: Int, _ p: ContractProblem, _ firmOf: [Int32], rule: EmergingReserveRule
    ) -> [Int] {
        let byRank = offered.sorted { p.contracts[$0].deskRank < p.contracts[$1].deskRank }
        var taken: [Int] = []
        var firms = Set<Int32>()
        func best(_ ok: (ContractProblem.Contract) -> Bool) -> Int? {
            byRank.first { !firms.contains(firmOf[$0]) && ok(p.contracts[$0]) }
        }
        let r = min(p.reserves[d], p.capacities[d])
        for slot in 0..<p.capacities[d] {
            var pick: Int?
            if slot < r {
                pick = best { $0.emerging }
                if pick == nil && rule == .soft { pick = best { _ in true } }
            } else {
                pick = best { _ in true }
            }
            if let pick {
                taken.append(pick)
                firms.insert(firmOf[pick])
            }
        }
        return taken
    }

    struct Run {
        /// Per firm: its contract, or nil.
        var matched: [Int?]
        /// Per desk: every contract offered to it.
        var offered: [[Int]]
    }

    static func solve(_ p: ContractProblem, rule: EmergingReserveRule, rng: inout SeededRandom) -> Run {
        let firmOf = p.firmOfContract()
        var offered = [[Int]](repeating: [], count: p.deskCount)
        var next = [Int](repeating: 0, count: p.firmCount)
        while true {
            var heldBy = [Int?](repeating: nil, count: p.firmCount)
            for d in 0..<p.deskCount {
                for x in choose(offered[d], desk: d, p, firmOf, rule: rule) {
                    precondition(heldBy[Int(firmOf[x])] == nil, "a firm held by two desks")
                    heldBy[Int(firmOf[x])] = x
                }
            }
            let waiting = (0..<p.firmCount).filter { heldBy[$0] == nil && next[$0] < p.list($0).count }
            if waiting.isEmpty { return Run(matched: heldBy, offered: offered) }
            let f = waiting[rng.below(waiting.count)]
            let x = p.listStart[f] + next[f]
            next[f] += 1
            offered[Int(p.contracts[x].desk)].append(x)
        }
    }

    /// What is wrong with an outcome (per firm: its contract or nil), or nil if it is feasible
    /// and stable for the slot choice rules: every desk would keep all it holds, and no contract
    /// blocks (its firm prefers it, and its desk would choose it from its holdings plus it).
    static func instability(_ p: ContractProblem, _ m: [Int?], rule: EmergingReserveRule) -> String? {
        let firmOf = p.firmOfContract()
        var holdings = [[Int]](repeating: [], count: p.deskCount)
        for (f, x) in m.enumerated() {
            guard let x else { continue }
            guard p.listStart[f] <= x && x < p.listStart[f + 1] else { return "firm \(f) holds a contract not its own" }
            holdings[Int(p.contracts[x].desk)].append(x)
        }
        for d in 0..<p.deskCount {
            if holdings[d].count > p.capacities[d] { return "desk \(d) over capacity" }
            if Set(choose(holdings[d], desk: d, p, firmOf, rule: rule)) != Set(holdings[d]) {
                return "desk \(d) would drop a contract it holds"
            }
        }
        for f in 0..<p.firmCount {
            let end = m[f] ?? p.listStart[f + 1]
            for x in p.listStart[f]..<end {
                let d = Int(p.contracts[x].desk)
                if choose(holdings[d] + [x], desk: d, p, firmOf, rule: rule).contains(x) {
                    return "contract \(x) of firm \(f) with desk \(d) blocks"
                }
            }
        }
        return nil
    }

    /// Firms that offered each desk a contract, and an emerging one.
    static func applicants(_ p: ContractProblem, _ run: Run) -> (all: [Int], emerging: [Int]) {
        let firmOf = p.firmOfContract()
        let all = run.offered.map { Set($0.map { firmOf[$0] }).count }
        let emerging = run.offered.map { Set($0.filter { p.contracts[$0].emerging }.map { firmOf[$0] }).count }
        return (all, emerging)
    }

    /// Hospital/residents deferred acceptance, residents proposing, for a problem with one
    /// contract per firm and desk and no reserve: the textbook algorithm.
    static func residentOptimal(_ p: ContractProblem) -> [Int?] {
        var next = [Int](repeating: 0, count: p.firmCount)
        var held = [[Int]](repeating: [], count: p.deskCount)
        var matched = [Int?](repeating: nil, count: p.firmCount)
        let firmOf = p.firmOfContract()
        var free = Array(0..<p.firmCount)
        while let f = free.popLast() {
            guard next[f] < p.list(f).count else { continue }
            let x = p.listStart[f] + next[f]
            next[f] += 1
            let d = Int(p.contracts[x].desk)
            held[d].append(x)
            held[d].sort { p.contracts[$0].deskRank < p.contracts[$1].deskRank }
            matched[f] = x
            if held[d].count > p.capacities[d] {
                let out = held[d].removeLast()
                let g = Int(firmOf[out])
                matched[g] = nil
                free.append(g)
            }
        }
        return matched
    }
}

extension MatchingOutcome {
    var contracts: [Int?] { matchedContract.map { $0 < 0 ? nil : $0 } }
}
