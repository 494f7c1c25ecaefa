#if canImport(Glibc)
    import Glibc
#endif

/// An export consortium: unmatched pool firms of one ecosystem marketing jointly in one market,
/// led by a firm able to carry them (from the pool or not).
public struct Consortium: Sendable, Equatable {
    /// `INDUSTRY-NNN`, numbered in leader id order within the ecosystem.
    public var id: String
    public var industry: Industry
    public var leader: BusinessNumber
    /// The leader is not a pool candidate: an ecosystem leader from outside the pool.
    public var leaderFromOutside: Bool
    /// Every member, the leader included, in id order.
    public var members: [BusinessNumber]
    public var targetMarket: UInt8
    /// Academic and research partner ids, in id order.
    public var institutions: [String]
    /// The support institution of the leader's office that joins, if one serves it.
    public var support: String?
    /// Why the target market is the one it is.
    public var targetRule: TargetRule
    /// The consortium's objective value (docs/MATCHING.md).
    public var objective: Int

    public init(
        id: String, industry: Industry, leader: BusinessNumber, leaderFromOutside: Bool = false,
        members: [BusinessNumber], targetMarket: UInt8, institutions: [String], support: String? = nil,
        targetRule: TargetRule = .best_market, objective: Int
    ) {
        self.targetRule = targetRule
        self.id = id
        self.industry = industry
        self.leader = leader
        self.leaderFromOutside = leaderFromOutside
        self.members = members
        self.targetMarket = targetMarket
        self.institutions = institutions
        self.support = support
        self.objective = objective
    }

    /// How a consortium's target market was chosen (docs/MATCHING.md, "Consortia").
    public enum TargetRule: String, DomainCode {
        /// The market of highest summed potential over the members.
        case best_market
        /// An emerging market within `consortium_emerging_tie` of the best (a near-tie).
        case emerging_near_tie
        /// An emerging market taken for the industry's diversification share
        /// (`consortium_emerging_share`): the members' best emerging market.
        case emerging_share
    }

    /// Members that are pool firms (the leader too unless it comes from outside the pool).
    public var poolMembers: [BusinessNumber] { leaderFromOutside ? members.filter { $0 != leader } : members }
}

/// A pool firm left out of both matching and consortia, and why.
public struct UnplacedFirm: Sendable, Equatable {
    public var firm: BusinessNumber
    public var reason: String

    public init(firm: BusinessNumber, reason: String) {
        self.firm = firm
        self.reason = reason
    }
}

/// Groups one ecosystem's unmatched pool firms into consortia (docs/MATCHING.md, "Consortia").
///
/// Constraints: `consortium_min` to `consortium_max` firms, the leader included; a leader
/// (`Leaders.isEligible`: MIDSIZE, or exports of USD 1M or more), an unmatched pool firm or a
/// firm of the industry from outside the pool, each leading at most one consortium; every other
/// member an unmatched pool firm; no two members that are direct competitors (`competitors`).
///
/// Objective of a consortium G with target market t (maximised over all consortia, summed):
///
///     sum over members of fit(f, t)            fit = round(100 x log10(1 + potential) / log10(1 + 10,000)), at most 100
///   + 60 x (distinct value-chain roles - 1)    complementarity
///   + 20 x members in the leader's region or a neighbouring one (the leader excluded)
///
/// The target market is the market of highest summed potential over the members, except that
/// the best emerging market is taken when its sum is at least `consortium_emerging_tie` of the
/// best (emerging markets preferred on near-ties); ties go to market table order. The leader is
/// the member from outside the pool if there is one, else the first leader-eligible member in
/// pool order.
///
/// The search is greedy, then local: each leader (pool leaders in pool order, then outside
/// leaders in leader order) tries its top markets as the target and grows the group one best
/// firm at a time; unplaced firms then join the group where they add the most (never lowering
/// its objective); members then move between groups while that raises the total. Every step
/// scans in a fixed order, so the result is deterministic.
public struct ConsortiumBuilder: Sendable {
    public static let complementarityPoints = 60
    public static let proximityPoints = 20
    public static let fitFull = 10_000.0
    /// Consortia one institution may join, per industry it serves.
    public static let institutionLoad = 3
    /// Markets of the leader tried as the target while growing its group.
    public static let targetsTried = 3
    /// The lowest ratio of this search's objective to the brute-force optimum seen on the
    /// seeded small instances of the test suite (docs/MATCHING.md).
    public static let documentedWorstRatio = 0.93
    /// Up to this many firms, both constructions run and the local search also swaps members.
    public static let exhaustiveLimit = 200

    public let minSize: Int
    public let maxSize: Int
    public let maxInstitutions: Int
    public let emerging: [Bool]
    /// Emerging markets win near-ties from this share (permille) of the best summed potential.
    public let emergingTiePermille: Int64
    /// Consortia per industry (permille, rounded up) that target an emerging market.
    public let emergingSharePermille: Int

    public init(configuration c: ProgramConfiguration, markets: MarketTable) {
        minSize = c.consortiumMin
        maxSize = c.consortiumMax
        maxInstitutions = c.consortiumMaxInstitutions
        emergingTiePermille = Int64(c.consortiumEmergingTiePermille)
        emergingSharePermille = c.consortiumEmergingSharePermille
        emerging = markets.markets.map(\.emerging)
    }

    /// A firm that can lead a consortium.
    public static func isLeader(_ f: Firm) -> Bool { Leaders.isEligible(f) }

    /// The HS chapters the competitor rule compares, as a 128-bit set.
    public static func chapterSet(_ f: Firm) -> (UInt64, UInt64) {
        var s: (UInt64, UInt64) = (0, 0)
        for c in f.hsChapters.isEmpty ? f.industry.typicalHSChapters : f.hsChapters {
            if c < 64 { s.0 |= 1 << UInt64(c) } else if c < 128 { s.1 |= 1 << UInt64(c - 64) }
        }
        return s
    }

    /// Direct competitors. Goods firms (every role but SERVICES): the same value-chain role and a
    /// shared HS chapter. Services firms: a services firm's chapters are the reporting codes of
    /// what it delivers (software on media, printed matter), not a product line, and a whole
    /// services industry reports the same two or three; services are sold to clients near the
    /// firm, so two services firms compete directly when they report exactly the same chapters
    /// and belong to the same office.
    public static func competitors(_ a: Firm, _ b: Firm) -> Bool {
        guard a.role == b.role else { return false }
        let ca = chapterSet(a)
        let cb = chapterSet(b)
        if a.role == .SERVICES { return ca == cb && a.region == b.region }
        return ca.0 & cb.0 != 0 || ca.1 & cb.1 != 0
    }

    public static func fitPoints(_ potential: Int64) -> Int {
        guard potential > 0 else { return 0 }
        return Int(min(100, (100 * log10(1 + Double(potential)) / log10(1 + fitFull)).rounded()))
    }

    /// The problem in index form: the unmatched pool firms in pool order (priority, readiness,
    /// id), then the leaders from outside the pool in leader order.
    struct Instance {
        let firms: [PoolCandidate]
        /// Firms `0..<poolCount` are pool firms; the rest come from outside the pool.
        let poolCount: Int
        let nm: Int
        let potential: [Int64]
        let fit: [Int]
        let leader: [Bool]
        let role: [Int]
        let region: [Office]
        let services: [Bool]
        let chapters: [(UInt64, UInt64)]

        func outside(_ f: Int) -> Bool { f >= poolCount }

        func competitors(_ a: Int, _ b: Int) -> Bool {
            guard role[a] == role[b] else { return false }
            if services[a] {
                return chapters[a] == chapters[b] && region[a] == region[b]
            }
            return chapters[a].0 & chapters[b].0 != 0 || chapters[a].1 & chapters[b].1 != 0
        }
    }

    /// A group under construction: members in pool order and their summed potentials.
    struct Group {
        var members: [Int]
        var sums: [Int64]
    }

    func group(_ members: [Int], _ x: Instance) -> Group {
        var sums = [Int64](repeating: 0, count: x.nm)
        for f in members { for m in 0..<x.nm { sums[m] += x.potential[f * x.nm + m] } }
        return Group(members: members, sums: sums)
    }

    /// Objective of `g` with `plus` added and `minus` removed (-1: none), its target market and
    /// leader (the member from outside the pool, else the first leader-eligible member in pool
    /// order; -1 if none).
    func value(_ g: Group, plus: Int = -1, minus: Int = -1, target forced: Int? = nil, _ x: Instance) -> (
        value: Int, target: Int, leader: Int
    ) {
        let nm = x.nm
        var best = 0
        var bestSum = Int64.min
        var bestEmerging = -1
        var bestEmergingSum = Int64.min
        for m in 0..<nm {
            var s = g.sums[m]
            if plus >= 0 { s += x.potential[plus * nm + m] }
            if minus >= 0 { s -= x.potential[minus * nm + m] }
            if s > bestSum {
                bestSum = s
                best = m
            }
            if emerging[m] && s > bestEmergingSum {
                bestEmergingSum = s
                bestEmerging = m
            }
        }
        let t =
            forced
            ?? (bestEmerging >= 0 && bestEmergingSum * 1000 >= bestSum * emergingTiePermille ? bestEmerging : best)
        // Members are in index order: an outside leader, if any, is the last.
        var leader = -1
        if plus >= 0 && x.outside(plus) {
            leader = plus
        } else if let last = g.members.last, last != minus, x.outside(last) {
            leader = last
        } else {
            for f in g.members where f != minus && x.leader[f] {
                leader = f
                break
            }
            if plus >= 0 && x.leader[plus] && (leader < 0 || plus < leader) { leader = plus }
        }
        let home = leader >= 0 ? x.region[leader] : x.region[g.members.first { $0 != minus } ?? plus]
        var value = 0
        var roles = 0
        func add(_ f: Int) {
            value += x.fit[f * nm + t]
            roles |= 1 << x.role[f]
            if f != leader && x.region[f].isNear(home) {
                value += Self.proximityPoints
            }
        }
        for f in g.members where f != minus { add(f) }
        if plus >= 0 { add(plus) }
        value += Self.complementarityPoints * (roles.nonzeroBitCount - 1)
        return (value, t, leader)
    }

    /// The target rule on summed potentials.
    public func target(_ sums: [Int64]) -> Int {
        var best = 0
        var bestEmerging = -1
        for m in sums.indices {
            if sums[m] > sums[best] { best = m }
            if emerging[m] && (bestEmerging < 0 || sums[m] > sums[bestEmerging]) { bestEmerging = m }
        }
        if bestEmerging >= 0 && sums[bestEmerging] * 1000 >= sums[best] * emergingTiePermille { return bestEmerging }
        return best
    }

    /// Groups one ecosystem's unmatched pool firms into consortia, with `leaders` (firms of the
    /// industry outside the pool able to lead, any order) as further leaders, and picks partners
    /// and support institutions among `institutions`. `model` gives each firm's potential per
    /// market. Unplaced: the pool firms left out, with their reason (outside leaders not needed
    /// are not listed).
    public func build(
        industry: Industry, firms input: [PoolCandidate], leaders outside: [PoolCandidate] = [],
        institutions: [Institution], model: PotentialModel
    ) -> (consortia: [Consortium], unplaced: [UnplacedFirm]) {
        let inPool = Set(input.map(\.firm.id))
        let extra = outside.filter { Self.isLeader($0.firm) && !inPool.contains($0.firm.id) }
            .sorted(by: Leaders.ranksBefore)
        let firms = input.sorted(by: PoolCandidate.ranksBefore) + extra
        let nm = model.markets.count
        var potential = [Int64](repeating: 0, count: firms.count * nm)
        var fit = [Int](repeating: 0, count: firms.count * nm)
        var scratch: [Double] = []
        for (f, c) in firms.enumerated() {
            model.potentials(c.firm, into: &scratch)
            for m in 0..<nm {
                let p = Int64(scratch[m].rounded())
                potential[f * nm + m] = p
                fit[f * nm + m] = Self.fitPoints(p)
            }
        }
        let x = Instance(
            firms: firms, poolCount: input.count, nm: nm, potential: potential, fit: fit,
            leader: firms.map { Self.isLeader($0.firm) }, role: firms.map { $0.firm.role.index },
            region: firms.map(\.firm.region), services: firms.map { $0.firm.role == .SERVICES },
            chapters: firms.map { Self.chapterSet($0.firm) })
        let groups = search(x)
        return finish(industry: industry, groups: groups, x: x, institutions: institutions)
    }

    /// Two constructions (leaders growing groups one at a time; all leaders seeded at once and
    /// filled by best gain), each improved by local search; the better total wins (the first on
    /// a tie). Above `exhaustiveLimit` firms only the seeded construction runs and the local
    /// search makes no swaps: both cost O(n^2) and added under 0.1% to the objective on the
    /// benchmark nation. Returns groups of firm indices, each in pool order.
    func search(_ x: Instance) -> [[Int]] {
        guard minSize <= maxSize, x.firms.count >= minSize, x.poolCount >= minSize - 1, x.leader.contains(true) else {
            return []
        }
        var best: [[Int]] = []
        var bestTotal = -1
        let small = x.firms.count <= Self.exhaustiveLimit
        for start in small ? [grow(x), seeded(x)] : [seeded(x)] {
            var groups = start.map { group($0, x) }
            improve(&groups, x, swaps: small)
            let total = groups.reduce(0) { $0 + value($1, x).value }
            if total > bestTotal {
                bestTotal = total
                best = groups.map(\.members)
            }
        }
        return best
    }

    /// `f` may join `members` (`except` leaving): no direct competitor, and at most one member
    /// from outside the pool.
    func compatible(_ f: Int, _ members: [Int], except: Int = -1, _ x: Instance) -> Bool {
        let outside = x.outside(f)
        return !members.contains { $0 != except && (x.competitors($0, f) || (outside && x.outside($0))) }
    }

    func near(_ f: Int, _ l: Int, _ x: Instance) -> Bool { x.region[f].isNear(x.region[l]) }

    /// Each leader in pool order grows a group around each of its best markets, one best firm
    /// at a time, and keeps the best valid one.
    func grow(_ x: Instance, among free: [Bool]? = nil) -> [[Int]] {
        let n = x.firms.count
        var taken = free.map { $0.map { !$0 } } ?? [Bool](repeating: false, count: n)
        var groups: [[Int]] = []
        for l in 0..<n where x.leader[l] && !taken[l] {
            var order = Array(0..<x.nm)
            order.sort {
                let a = x.potential[l * x.nm + $0]
                let b = x.potential[l * x.nm + $1]
                return a > b || (a == b && $0 < $1)
            }
            var tried = Array(order.prefix(Self.targetsTried))
            if let e = order.first(where: { emerging[$0] }), !tried.contains(e) { tried.append(e) }
            var best: (value: Int, members: [Int])?
            for t in tried {
                var g = [l]
                var roles = 1 << x.role[l]
                while g.count < maxSize {
                    var pick = -1
                    var pickGain = Int.min
                    for f in 0..<x.poolCount where !taken[f] && !g.contains(f) && compatible(f, g, x) {
                        var gain = x.fit[f * x.nm + t]
                        if roles & (1 << x.role[f]) == 0 { gain += Self.complementarityPoints }
                        if near(f, l, x) { gain += Self.proximityPoints }
                        if gain > pickGain {
                            pickGain = gain
                            pick = f
                        }
                    }
                    if pick < 0 { break }
                    g.append(pick)
                    roles |= 1 << x.role[pick]
                }
                g.sort()
                guard g.count >= minSize else { continue }
                let v = value(group(g, x), x).value
                if best == nil || v > best!.value { best = (v, g) }
            }
            if let b = best {
                for f in b.members { taken[f] = true }
                groups.append(b.members)
            }
        }
        return groups
    }

    /// Leaders seed groups: the pool's leaders in pool order, as many as the pool firms can
    /// fill at the minimum size; then outside leaders in leader order, only as many as the pool
    /// firms those groups cannot hold at the maximum size need (an outside leader is engaged
    /// where the pool has no leader left for a firm, not to split groups). The groups take pool
    /// firms in turn up to the minimum size, then the best (firm, group) gain is taken until no
    /// firm fits. Groups left below the minimum are dissolved.
    func seeded(_ x: Instance) -> [[Int]] {
        let n = x.poolCount
        var seeds = Array((0..<n).filter { x.leader[$0] }.prefix(n / minSize))
        var left = n - seeds.count * maxSize
        for l in n..<x.firms.count where left >= minSize - 1 {
            seeds.append(l)
            left -= maxSize - 1
        }
        var groups = seeds.map { group([$0], x) }
        var assigned = [Bool](repeating: false, count: n)
        for s in seeds where s < n { assigned[s] = true }
        var values = groups.map { value($0, x).value }
        func gain(_ f: Int, _ g: Int) -> Int? {
            guard groups[g].members.count < maxSize, compatible(f, groups[g].members, x) else { return nil }
            return value(groups[g], plus: f, x).value - values[g]
        }
        func add(_ f: Int, _ g: Int) {
            groups[g].members.append(f)
            groups[g].members.sort()
            for m in 0..<x.nm { groups[g].sums[m] += x.potential[f * x.nm + m] }
            values[g] = value(groups[g], x).value
            assigned[f] = true
        }
        // Round robin up to the minimum size.
        var progress = true
        while progress {
            progress = false
            for g in groups.indices where groups[g].members.count < minSize {
                var pick = -1
                var pickGain = Int.min
                for f in 0..<n where !assigned[f] {
                    if let v = gain(f, g), v > pickGain {
                        pickGain = v
                        pick = f
                    }
                }
                if pick >= 0 {
                    add(pick, g)
                    progress = true
                }
            }
        }
        // Best gain first, with a cached gain per (firm, group) and each firm's best group.
        let ng = groups.count
        var cache = [Int](repeating: Int.min, count: n * ng)
        var bestOf = [Int](repeating: -1, count: n)
        func rescan(_ f: Int) {
            var b = -1
            for g in 0..<ng where b < 0 || cache[f * ng + g] > cache[f * ng + b] { b = g }
            bestOf[f] = b
        }
        for f in 0..<n where !assigned[f] {
            for g in 0..<ng { cache[f * ng + g] = gain(f, g) ?? Int.min }
            rescan(f)
        }
        while true {
            var bf = -1
            var bv = Int.min
            for f in 0..<n where !assigned[f] && bestOf[f] >= 0 && cache[f * ng + bestOf[f]] > bv {
                bv = cache[f * ng + bestOf[f]]
                bf = f
            }
            guard bf >= 0, bv != Int.min else { break }
            let bg = bestOf[bf]
            guard bv >= 0 || groups[bg].members.count < minSize else { break }
            add(bf, bg)
            for f in 0..<n where !assigned[f] {
                let old = cache[f * ng + bg]
                let new = gain(f, bg) ?? Int.min
                cache[f * ng + bg] = new
                if bestOf[f] == bg && new < old {
                    rescan(f)
                } else if new > cache[f * ng + bestOf[f]] || (new == cache[f * ng + bestOf[f]] && bg < bestOf[f]) {
                    bestOf[f] = bg
                }
            }
        }
        return groups.map(\.members).filter { $0.count >= minSize }
    }

    /// Local search: unplaced firms join where they add the most (never lowering a group),
    /// unplaced leaders found new groups, members move or swap between groups while the total
    /// rises. Bounded passes, fixed scan order.
    func improve(_ groups: inout [Group], _ x: Instance, swaps: Bool) {
        // Outside leaders only found groups (`found`); the other steps move pool firms.
        let n = x.poolCount
        var home = [Int](repeating: -1, count: x.firms.count)
        for (g, grp) in groups.enumerated() { for f in grp.members { home[f] = g } }
        var values = groups.map { value($0, x).value }

        func set(_ g: Int, _ members: [Int]) {
            groups[g] = group(members.sorted(), x)
            values[g] = value(groups[g], x).value
        }
        func join() {
            for f in 0..<n where home[f] < 0 {
                var bestGroup = -1
                var bestGain = 0
                for g in groups.indices where groups[g].members.count < maxSize && compatible(f, groups[g].members, x) {
                    let gain = value(groups[g], plus: f, x).value - values[g]
                    if gain > bestGain || (bestGroup < 0 && gain >= 0) {
                        bestGain = gain
                        bestGroup = g
                    }
                }
                if bestGroup >= 0 {
                    set(bestGroup, groups[bestGroup].members + [f])
                    home[f] = bestGroup
                }
            }
        }
        func found() {
            let fresh = grow(x, among: home.map { $0 < 0 })
            for g in fresh {
                groups.append(group(g, x))
                values.append(value(groups.last!, x).value)
                for f in g { home[f] = groups.count - 1 }
            }
        }
        func hasLeader(_ members: [Int], without f: Int, with h: Int = -1) -> Bool {
            (h >= 0 && x.leader[h]) || members.contains { $0 != f && x.leader[$0] }
        }

        join()
        found()
        join()
        for _ in 0..<10 {
            var changed = false
            // Moves.
            for f in 0..<n where home[f] >= 0 {
                let a = home[f]
                guard groups[a].members.count > minSize, hasLeader(groups[a].members, without: f) else { continue }
                let va = value(groups[a], minus: f, x).value
                var best = -1
                var bestGain = 0
                for b in groups.indices
                where b != a && groups[b].members.count < maxSize && compatible(f, groups[b].members, x) {
                    let gain = va + value(groups[b], plus: f, x).value - values[a] - values[b]
                    if gain > bestGain {
                        bestGain = gain
                        best = b
                    }
                }
                if best >= 0 {
                    set(a, groups[a].members.filter { $0 != f })
                    set(best, groups[best].members + [f])
                    home[f] = best
                    changed = true
                }
            }
            // Swaps.
            for f in 0..<n where swaps && home[f] >= 0 {
                for h in (f + 1)..<n where home[h] >= 0 && home[h] != home[f] {
                    let a = home[f]
                    let b = home[h]
                    guard hasLeader(groups[a].members, without: f, with: h),
                        hasLeader(groups[b].members, without: h, with: f),
                        compatible(h, groups[a].members, except: f, x), compatible(f, groups[b].members, except: h, x)
                    else { continue }
                    let gain =
                        value(groups[a], plus: h, minus: f, x).value + value(groups[b], plus: f, minus: h, x).value
                        - values[a] - values[b]
                    if gain > 0 {
                        set(a, groups[a].members.filter { $0 != f } + [h])
                        set(b, groups[b].members.filter { $0 != h } + [f])
                        home[f] = b
                        home[h] = a
                        changed = true
                    }
                }
            }
            // Unplaced firms replace a member when that raises the group.
            for f in 0..<n where home[f] < 0 {
                for g in groups.indices {
                    var best = -1
                    var bestGain = 0
                    for h in groups[g].members
                    where hasLeader(groups[g].members, without: h, with: f)
                        && compatible(f, groups[g].members, except: h, x)
                    {
                        let gain = value(groups[g], plus: f, minus: h, x).value - values[g]
                        if gain > bestGain {
                            bestGain = gain
                            best = h
                        }
                    }
                    if best >= 0 {
                        set(g, groups[g].members.filter { $0 != best } + [f])
                        home[f] = g
                        home[best] = -1
                        changed = true
                        break
                    }
                }
            }
            join()
            if !changed { break }
        }
    }

    /// The target rule of each consortium, after the diversification share: when fewer than
    /// `consortium_emerging_share` of the consortia (rounded up) target an emerging market, the
    /// consortia whose best emerging market comes closest to their best market (its summed
    /// potential as a share of the best's, higher first, then leader id) switch to it, among
    /// those with a positive potential there; their objective is taken at the new target.
    func diversify(_ built: inout [(leader: Int, members: [Int], target: Int, value: Int)], _ x: Instance)
        -> [Consortium.TargetRule]
    {
        var rules: [Consortium.TargetRule] = built.map { b in
            let sums = group(b.members, x).sums
            var best = 0
            for m in sums.indices where sums[m] > sums[best] { best = m }
            return b.target == best ? .best_market : .emerging_near_tie
        }
        let need = (built.count * emergingSharePermille + 999) / 1000 - built.filter { emerging[$0.target] }.count
        guard need > 0 else { return rules }
        var candidates: [(ratio: Int64, index: Int, market: Int)] = []
        for (i, b) in built.enumerated() where !emerging[b.target] {
            let sums = group(b.members, x).sums
            guard let e = sums.indices.filter({ emerging[$0] }).max(by: { (sums[$0], $1) < (sums[$1], $0) }),
                sums[e] > 0, sums[b.target] > 0
            else { continue }
            candidates.append((sums[e] * 1000 / sums[b.target], i, e))
        }
        candidates.sort { ($0.ratio, $1.index) > ($1.ratio, $0.index) }
        for c in candidates.prefix(need) {
            let e = value(group(built[c.index].members, x), target: c.market, x)
            built[c.index].target = c.market
            built[c.index].value = e.value
            rules[c.index] = .emerging_share
        }
        return rules
    }

    func finish(industry: Industry, groups: [[Int]], x: Instance, institutions: [Institution]) -> (
        consortia: [Consortium], unplaced: [UnplacedFirm]
    ) {
        var built: [(leader: Int, members: [Int], target: Int, value: Int)] = groups.map { g in
            let e = value(group(g, x), x)
            return (e.leader, g, e.target, e.value)
        }
        built.sort { x.firms[$0.leader].firm.id < x.firms[$1.leader].firm.id }
        let rules = diversify(&built, x)
        // Partners: universities and research institutes of the industry, nearest first.
        let partners = institutions.filter {
            ($0.kind == .UNIVERSITY || $0.kind == .RESEARCH) && $0.industries.contains(industry)
        }.sorted { $0.id < $1.id }
        var load = [Int](repeating: 0, count: partners.count)
        // Support institutions serve an office; those serving the industry first.
        let supports = institutions.filter { $0.kind == .SUPPORT }.sorted { $0.id < $1.id }
        var supportLoad = [Int](repeating: 0, count: supports.count)
        var consortia: [Consortium] = []
        for (k, b) in built.enumerated() {
            let home = x.region[b.leader]
            func distance(_ i: Institution) -> Int {
                i.region == home ? 0 : (home.neighbours.contains(i.region) ? 1 : 2)
            }
            let chosen = partners.indices.filter { load[$0] < Self.institutionLoad }
                .sorted { (distance(partners[$0]), load[$0], $0) < (distance(partners[$1]), load[$1], $1) }
                .prefix(maxInstitutions)
            for i in chosen { load[i] += 1 }
            let support = supports.indices.filter { supports[$0].region == home }
                .min {
                    (supports[$0].industries.contains(industry) ? 0 : 1, supportLoad[$0], $0)
                        < (supports[$1].industries.contains(industry) ? 0 : 1, supportLoad[$1], $1)
                }
            if let support { supportLoad[support] += 1 }
            let number = String(k + 1)
            consortia.append(
                Consortium(
                    id: "\(industry.rawValue)-\(String(repeating: "0", count: max(0, 3 - number.count)))\(number)",
                    industry: industry, leader: x.firms[b.leader].firm.id, leaderFromOutside: x.outside(b.leader),
                    members: b.members.map { x.firms[$0].firm.id }.sorted(), targetMarket: UInt8(b.target),
                    institutions: chosen.map { partners[$0].id }.sorted(), support: support.map { supports[$0].id },
                    targetRule: rules[k], objective: b.value))
        }

        var placed = Set<Int>()
        for g in groups { placed.formUnion(g) }
        var unplaced: [UnplacedFirm] = []
        let anyLeader = x.leader.contains(true)
        for f in 0..<x.poolCount where !placed.contains(f) {
            let reason: String
            if !anyLeader {
                reason =
                    "no leader (a MIDSIZE firm or exports of USD 1M or more) among the \(industry.rawValue) firms, in the pool or not"
            } else if groups.isEmpty {
                reason = "too few compatible unmatched \(industry.rawValue) firms for a consortium of \(minSize)"
            } else {
                let room = groups.filter { $0.count < maxSize }
                if room.isEmpty {
                    reason = "every \(industry.rawValue) consortium is full (\(maxSize) firms)"
                } else if room.allSatisfy({ g in g.contains { x.competitors($0, f) } }) {
                    reason = "a direct competitor (same role and HS chapter) in every consortium with room"
                } else {
                    reason = "joining any consortium with room would lower its objective"
                }
            }
            unplaced.append(UnplacedFirm(firm: x.firms[f].firm.id, reason: reason))
        }
        unplaced.sort { $0.firm < $1.firm }
        return (consortia, unplaced)
    }
}
