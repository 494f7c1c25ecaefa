/// Binary forms of a market pick and of a mid-sized firm's track entry.
extension MarketPick {
    public func encode(into w: inout BinaryWriter) {
        w.u8(market)
        w.int(potentialUSDk)
        w.int(untappedUSDk)
        // 0: no gate; 1 + the certification's index, plus 128 when the firm holds it.
        w.u8(gate.map { UInt8(Certification.allCases.firstIndex(of: $0)! + 1) | (gateHeld ? 128 : 0) } ?? 0)
    }

    public static func decode(_ r: inout BinaryReader, markets n: Int) throws(DecodeError) -> MarketPick {
        let market = try r.market(n)
        let potential = try r.int()
        let untapped = try r.int()
        guard potential >= 0, (0...potential).contains(untapped) else {
            throw DecodeError("market pick: potential \(potential), untapped \(untapped)")
        }
        let g = try r.u8()
        let index = Int(g & 127)
        guard index <= Certification.allCases.count, g & 128 == 0 || index > 0 else {
            throw DecodeError("entry gate \(g) out of range")
        }
        return MarketPick(
            market: market, potentialUSDk: potential, untappedUSDk: untapped,
            gate: index > 0 ? Certification.allCases[index - 1] : nil, gateHeld: g & 128 != 0)
    }
}

extension MidsizeEntry {
    /// The fewest bytes an entry takes (a bound for hostile counts).
    static let minBytes = 9

    public func encode(into w: inout BinaryWriter) {
        w.firmID(firm)
        w.code(region)
        w.code(industry)
        w.code(group)
        for v in [revenueKRWm, exportUSDk, marketExportUSDk, emergingExportUSDk] { w.int(v) }
        w.list(markets) { w, m in m.encode(into: &w) }
    }

    public static func decode(_ r: inout BinaryReader, markets n: Int) throws(DecodeError) -> MidsizeEntry {
        let firm = try r.firmID()
        let region = try r.code(Office.self)
        let industry = try r.code(Industry.self)
        let group = try r.code(MidsizeGroup.self)
        let revenue = try r.int()
        let exports = try r.int()
        let known = try r.int()
        let emerging = try r.int()
        guard revenue >= 0, exports >= 0, known >= 0, (0...known).contains(emerging) else {
            throw DecodeError("mid-sized firm \(firm): amounts out of range")
        }
        let markets = try r.list(minElementBytes: 4) { (r: inout BinaryReader) throws(DecodeError) in
            try MarketPick.decode(&r, markets: n)
        }
        guard group != .LARGE || markets.isEmpty else { throw DecodeError("LARGE firm \(firm) with markets") }
        return MidsizeEntry(
            firm: firm, region: region, industry: industry, group: group, revenueKRWm: revenue, exportUSDk: exports,
            marketExportUSDk: known, emergingExportUSDk: emerging, markets: markets)
    }
}
