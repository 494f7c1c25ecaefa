import ExportDomain
import Foundation
import TestSupport
import Testing

@Suite("Contracts and the cumulative offer process")
struct CumulativeOffersTests {
    /// A random instance of a size drawn from small to medium, every tenth one larger.
    static func instance(_ gen: inout RandomContracts, _ i: Int, reserves: RandomContracts.Reserves = .random)
        -> ContractProblem
    {
        let big = i % 10 == 0
        return gen.make(
            firms: big ? 30 + gen.rng.below(50) : 1 + gen.rng.below(16), desks: 1 + gen.rng.below(big ? 10 : 5),
            maxCapacity: 1 + gen.rng.below(big ? 8 : 4), maxContracts: 1 + gen.rng.below(9),
            markets: 2 + gen.rng.below(5), emerging: 1 + gen.rng.below(2), reserves: reserves,
            structured: gen.rng.chance(0.5))
    }

    @Test(arguments: [EmergingReserveRule.soft, .hard])
    func everyOutcomeIsFeasibleAndNoContractBlocksIt(rule: EmergingReserveRule) {
        var gen = RandomContracts(rng: SeededRandom(seed: rule == .soft ? 11 : 12))
        for i in 0..<2_000 {
            let p = Self.instance(&gen, i)
            let o = CumulativeOffers.solve(p, rule: rule)
            if let problem = ContractReference.instability(p, o.contracts, rule: rule) {
                Issue.record("instance \(i): \(problem)")
                return
            }
            // The desk-side bookkeeping agrees with the firm side.
            for d in 0..<p.deskCount {
                let mine = (0..<p.firmCount).filter { o.desk(of: $0, in: p) == d }
                #expect(o.held[d].count == mine.count && o.held[d].count <= p.capacities[d])
                #expect(Set(o.held[d]) == Set(mine.map { o.matchedContract[$0] }))
            }
        }
    }

    @Test(arguments: [EmergingReserveRule.soft, .hard])
    func equalsAPlainSecondImplementationContractForContract(rule: EmergingReserveRule) {
        var gen = RandomContracts(rng: SeededRandom(seed: rule == .soft ? 21 : 22))
        var order = SeededRandom(seed: 5)
        for i in 0..<2_000 {
            let p = Self.instance(&gen, i)
            let fast = CumulativeOffers.solve(p, rule: rule)
            let slow = ContractReference.solve(p, rule: rule, rng: &order)
            #expect(fast.contracts == slow.matched, "instance \(i)")
            let (all, emerging) = ContractReference.applicants(p, slow)
            #expect(fast.applicants == all && fast.emergingApplicants == emerging, "instance \(i)")
            #expect(fast.offers == slow.offered.reduce(0) { $0 + $1.count }, "instance \(i)")
        }
    }

    @Test(arguments: [EmergingReserveRule.soft, .hard])
    func theOutcomeDoesNotDependOnTheOrderOfOffers(rule: EmergingReserveRule) {
        var gen = RandomContracts(rng: SeededRandom(seed: rule == .soft ? 31 : 32))
        var order = SeededRandom(seed: 6)
        var differentOrders = 0
        for i in 0..<1_000 {
            let p = Self.instance(&gen, i)
            let a = ContractReference.solve(p, rule: rule, rng: &order)
            let b = ContractReference.solve(p, rule: rule, rng: &order)
            #expect(a.matched == b.matched, "instance \(i): two random orders")
            if a.offered != b.offered { differentOrders += 1 }
            // The fast process on the firms relabelled: its own order changes, its outcome not.
            var perm = Array(0..<p.firmCount)
            gen.shuffle(&perm)
            var lists = [[ContractProblem.Contract]](repeating: [], count: p.firmCount)
            for f in 0..<p.firmCount { lists[perm[f]] = Array(p.list(f)) }
            let q = ContractProblem(capacities: p.capacities, reserves: p.reserves, lists: lists)
            let o = CumulativeOffers.solve(q, rule: rule)
            for f in 0..<p.firmCount {
                let mine = a.matched[f].map { p.contracts[$0] }
                let relabelled = o.contracts[perm[f]].map { q.contracts[$0] }
                #expect(mine == relabelled, "instance \(i) firm \(f)")
            }
        }
        #expect(differentOrders > 500, "the random orders must differ to test anything")
    }

    @Test(arguments: [EmergingReserveRule.soft, .hard])
    func reservedSlotsHoldEmergingContractsWheneverThatManyFirmsOfferedOne(rule: EmergingReserveRule) {
        var gen = RandomContracts(rng: SeededRandom(seed: rule == .soft ? 41 : 42))
        var short = 0
        var filled = 0
        for i in 0..<2_000 {
            let p = Self.instance(&gen, i, reserves: .quota([250, 500, 1000][i % 3]))
            let o = CumulativeOffers.solve(p, rule: rule)
            let emergingHeld = o.emergingHeld(in: p)
            for d in 0..<p.deskCount {
                let r = min(p.reserves[d], p.capacities[d])
                #expect(emergingHeld[d] >= min(r, o.emergingApplicants[d]), "instance \(i) desk \(d)")
                if r > 0 && o.emergingApplicants[d] < r { short += 1 }
                if r > 0 && emergingHeld[d] >= r { filled += 1 }
                // Hard: a reserved slot never holds anything but an emerging contract.
                if rule == .hard { #expect(o.held[d].count - emergingHeld[d] <= p.capacities[d] - r) }
            }
        }
        #expect(short > 100 && filled > 100, "both cases must occur: \(short) short, \(filled) filled")
    }

    /// Strategy-proofness for firms: on small instances, no firm gets a contract it prefers by
    /// reporting another list (random subsets of its contracts in random orders).
    @Test(arguments: [EmergingReserveRule.soft, .hard])
    func noFirmGainsByMisreportingItsList(rule: EmergingReserveRule) {
        var gen = RandomContracts(rng: SeededRandom(seed: rule == .soft ? 51 : 52))
        var gains = 0
        var tries = 0
        for i in 0..<300 {
            let p = gen.make(
                firms: 2 + gen.rng.below(6), desks: 1 + gen.rng.below(3), maxCapacity: 2, maxContracts: 5, markets: 3,
                emerging: 1, structured: i % 2 == 0)
            let truth = CumulativeOffers.solve(p, rule: rule)
            for f in 0..<p.firmCount where !p.list(f).isEmpty {
                let honest = truth.contracts[f].map { $0 - p.listStart[f] } ?? Int.max
                for _ in 0..<12 {
                    var lie = Array(p.list(f).indices)
                    gen.shuffle(&lie)
                    lie = Array(lie.prefix(1 + gen.rng.below(lie.count)))
                    var lists = (0..<p.firmCount).map { Array(p.list($0)) }
                    lists[f] = lie.map { p.contracts[$0] }
                    let q = ContractProblem(capacities: p.capacities, reserves: p.reserves, lists: lists)
                    let o = CumulativeOffers.solve(q, rule: rule)
                    tries += 1
                    guard let x = o.contracts[f] else { continue }
                    // The contract it got, at its place on the true list.
                    let got = lie[x - q.listStart[f]] - p.listStart[f]
                    if got < honest { gains += 1 }
                }
            }
        }
        #expect(tries > 3_000)
        #expect(gains == 0, "\(gains) profitable misreports")
    }

    @Test func withoutReservesAndOneContractPerDeskItIsDeferredAcceptance() {
        var gen = RandomContracts(rng: SeededRandom(seed: 61))
        for i in 0..<2_000 {
            let p = Self.instance(&gen, i, reserves: .none).firstContractPerDesk
            #expect(
                CumulativeOffers.solve(p, rule: .soft).contracts == ContractReference.residentOptimal(p),
                "instance \(i)")
            #expect(CumulativeOffers.solve(p, rule: .hard).contracts == ContractReference.residentOptimal(p))
        }
    }

    /// The same instances solved by the `matching` package's hospital/residents solver
    /// (resident-optimal), pair for pair.
    @Test func withoutReservesItEqualsTheMatchingPackage() throws {
        var gen = RandomContracts(rng: SeededRandom(seed: 71))
        var games: [String] = []
        var ours: [[String]] = []
        for i in 0..<400 {
            let p = Self.instance(&gen, i, reserves: .none).firstContractPerDesk
            let o = CumulativeOffers.solve(p, rule: .soft)
            var residents: [String] = []
            var byDesk = [[(Int32, Int)]](repeating: [], count: p.deskCount)
            // A desk of capacity 0 accepts no one: the package wants such hospitals left out.
            for f in 0..<p.firmCount {
                let l = p.list(f).filter { p.capacities[Int($0.desk)] > 0 }
                guard !l.isEmpty else { continue }
                residents.append("\"r\(f)\":[" + l.map { "\"h\($0.desk)\"" }.joined(separator: ",") + "]")
                for c in l { byDesk[Int(c.desk)].append((c.deskRank, f)) }
            }
            var hospitals: [String] = []
            var capacities: [String] = []
            for d in 0..<p.deskCount where !byDesk[d].isEmpty {
                let order = byDesk[d].sorted { $0.0 < $1.0 }.map { "\"r\($0.1)\"" }
                hospitals.append("\"h\(d)\":[" + order.joined(separator: ",") + "]")
                capacities.append("\"h\(d)\":\(p.capacities[d])")
            }
            games.append(
                "{\"residents\":{\(residents.joined(separator: ","))},\"hospitals\":{\(hospitals.joined(separator: ","))},"
                    + "\"capacities\":{\(capacities.joined(separator: ","))}}")
            ours.append((0..<p.firmCount).compactMap { f in o.desk(of: f, in: p).map { "r\(f) h\($0)" } }.sorted())
        }
        let path = NSTemporaryDirectory() + "exportgrid-hr-\(UUID().uuidString).json"
        try Data(("[" + games.joined(separator: ",\n") + "]").utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let out = try TestPython.run(
            """
            import json, sys, warnings
            from matching.games import HospitalResident
            warnings.simplefilter("ignore")
            with open(sys.argv[1]) as f:
                games = json.load(f)
            for g in games:
                if not g["residents"] or not g["hospitals"]:
                    print("")
                    continue
                game = HospitalResident.create_from_dictionaries(g["residents"], g["hospitals"], g["capacities"])
                m = game.solve(optimal="resident")
                print(";".join(sorted(f"{r.name} {h.name}" for h, rs in m.items() for r in rs)))
            """, arguments: [path])
        let theirs = out.split(separator: "\n", omittingEmptySubsequences: false).prefix(games.count).map {
            $0.isEmpty ? [] : $0.split(separator: ";").map(String.init)
        }
        #expect(theirs.count == ours.count)
        var matchedPairs = 0
        for (i, (a, b)) in zip(ours, theirs).enumerated() {
            #expect(a == b, "instance \(i)")
            matchedPairs += a.count
        }
        #expect(matchedPairs > 1_000)
    }

    @Test func reserveAllocationSumsToTheCappedReserveProportionallyWithinOneSeat() {
        var rng = SeededRandom(seed: 81)
        for _ in 0..<3_000 {
            let n = 1 + rng.below(30)
            let caps = (0..<n).map { _ in 1 + rng.below(25) }
            let covers = (0..<n).map { _ in rng.chance(0.6) }
            let q = [0, 1, 100, 250, 333, 500, 999, 1000][rng.below(8)]
            let res = EmergingReserve.allocate(capacities: caps, coversEmerging: covers, quotaPermille: q)
            let seats = caps.reduce(0, +)
            let eligible = zip(caps, covers).filter(\.1).reduce(0) { $0 + $1.0 }
            let r = min((seats * q + 999) / 1000, eligible)
            #expect(res.reduce(0, +) == r)
            for d in 0..<n {
                #expect(covers[d] || res[d] == 0)
                #expect(res[d] <= caps[d])
                if covers[d] {
                    // Within one seat of the exact share r x c / eligible.
                    let exact = Double(r) * Double(caps[d]) / Double(eligible)
                    #expect(abs(Double(res[d]) - exact) < 1, "desk \(d): \(res[d]) vs \(exact)")
                }
            }
            // Deterministic, and ties go to the lower desk index (company id order).
            #expect(res == EmergingReserve.allocate(capacities: caps, coversEmerging: covers, quotaPermille: q))
        }
        // Two desks of 3 at a reserve of 1: the tie goes to the first.
        #expect(
            EmergingReserve.allocate(capacities: [3, 3], coversEmerging: [true, true], quotaPermille: 100) == [1, 0])
        // Capped by the seats of desks covering an emerging market.
        #expect(
            EmergingReserve.allocate(capacities: [10, 2], coversEmerging: [false, true], quotaPermille: 500) == [0, 2])
    }
}
