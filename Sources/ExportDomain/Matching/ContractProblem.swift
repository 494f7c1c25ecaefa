/// A many-to-one matching problem over contracts, in index form: firms 0..<firmCount offer
/// contracts to desks 0..<deskCount. A contract is (firm, desk, target market); only contracts
/// acceptable to both sides appear. Firm `f`'s list is `contracts[listStart[f]..<listStart[f + 1]]`,
/// best first.
public struct ContractProblem: Sendable, Equatable {
    /// One acceptable contract as seen from its firm's list.
    public struct Contract: Sendable, Equatable {
        public var desk: Int32
        /// Index into the run's `MarketTable`.
        public var market: UInt8
        /// The market is emerging: the contract can fill a reserved slot.
        public var emerging: Bool
        /// The desk's order over every contract it can receive (lower is better; distinct within
        /// a desk, not necessarily dense).
        public var deskRank: Int32

        public init(desk: Int32, market: UInt8, emerging: Bool, deskRank: Int32) {
            self.desk = desk
            self.market = market
            self.emerging = emerging
            self.deskRank = deskRank
        }
    }

    public var capacities: [Int]
    /// Reserved slots per desk (at most its capacity), filled before its open slots.
    public var reserves: [Int]
    public var listStart: [Int]
    public var contracts: [Contract]

    public var firmCount: Int { listStart.count - 1 }
    public var deskCount: Int { capacities.count }

    public init(capacities: [Int], reserves: [Int], lists: [[Contract]]) {
        precondition(capacities.count == reserves.count)
        self.capacities = capacities
        self.reserves = reserves
        var start = [0]
        var all: [Contract] = []
        all.reserveCapacity(lists.reduce(0) { $0 + $1.count })
        for l in lists {
            all.append(contentsOf: l)
            start.append(all.count)
        }
        listStart = start
        contracts = all
    }

    public func list(_ f: Int) -> ArraySlice<Contract> { contracts[listStart[f]..<listStart[f + 1]] }

    /// The firm of every contract, by contract index.
    public func firmOfContract() -> [Int32] {
        var out = [Int32](repeating: 0, count: contracts.count)
        for f in 0..<firmCount { for c in listStart[f]..<listStart[f + 1] { out[c] = Int32(f) } }
        return out
    }

    /// The same problem with no reserved slot.
    public var withoutReserves: ContractProblem {
        var p = self
        p.reserves = [Int](repeating: 0, count: deskCount)
        return p
    }

    /// The same lists keeping only each firm's first contract with each desk: a problem with one
    /// contract per firm and desk (the hospital/residents form).
    public var firstContractPerDesk: ContractProblem {
        var lists: [[Contract]] = []
        var seen = [Int](repeating: -1, count: deskCount)
        for f in 0..<firmCount {
            var l: [Contract] = []
            for c in list(f) where seen[Int(c.desk)] != f {
                seen[Int(c.desk)] = f
                l.append(c)
            }
            lists.append(l)
        }
        return ContractProblem(capacities: capacities, reserves: reserves, lists: lists)
    }

    /// Each computed list cut to its first `k` contracts (`preference_list_length`); lists in
    /// `keep` stay whole.
    public func cut(to k: Int, keep: (Int) -> Bool) -> ContractProblem {
        var lists: [[Contract]] = []
        for f in 0..<firmCount { lists.append(Array(keep(f) ? list(f) : list(f).prefix(k))) }
        return ContractProblem(capacities: capacities, reserves: reserves, lists: lists)
    }
}
