import ExportDomain

/// Decodes one `firms.csv` row into a `Firm`, or leaves the first problem on the parser. The hot
/// path of ingestion (a million rows): straight-line code, columns resolved once, lists
/// scanned in place, no closures.
struct FirmDecoder {
    let firmId, name, region, size, industry, role, revenue, exports, exportsPrev: Column
    let employees, hsChapters, exportMarkets, certifications, rnd, procurement, homeShopping: Column
    let channels, recommenders, debt, patents: Column
    let l: Lookups

    init(columns col: ColumnMap, lookups: Lookups) {
        firmId = col("firm_id")
        name = col("name")
        region = col("region")
        size = col("size_class")
        industry = col("industry")
        role = col("role")
        revenue = col("revenue_krw_m")
        exports = col("export_usd_k")
        exportsPrev = col("export_usd_k_prev")
        employees = col("employees")
        hsChapters = col("hs_chapters")
        exportMarkets = col("export_markets")
        certifications = col("certifications")
        rnd = col("rnd_success")
        procurement = col("procurement_excellent")
        homeShopping = col("home_shopping_bestseller")
        channels = col("online_channels")
        recommenders = col("recommended_by")
        debt = col("debt_ratio_pct")
        patents = col("patents")
        l = lookups
    }

    func decode(_ p: inout RowParser) -> Firm? {
        var id = BusinessNumber(unchecked: 0)
        switch BusinessNumber.parse(bytes: p.bytes(firmId)) {
        case .success(let v): id = v
        case .failure(let e): p.fail(firmId, e.description)
        }
        let name = p.text(self.name)
        let region = p.code(self.region, l.office, what: "office code")
        let size = p.code(self.size, l.size, what: "size class")
        let industry = p.code(self.industry, l.industry, what: "industry")
        let role = p.code(self.role, l.role, what: "value-chain role")
        let revenue = p.count(self.revenue)
        let exports = p.count(self.exports)
        let exportsPrev = p.count(self.exportsPrev)
        let employees = p.optionalCount(self.employees, max: 10_000_000)
        let chapters = hs(&p)
        let markets = marketExports(&p)
        let certs = p.codeSet(certifications, l.certification, what: "certification") { $0.bit }
        let rnd = p.bool(self.rnd)
        let procurement = p.bool(self.procurement)
        let homeShopping = p.bool(self.homeShopping)
        let channels = UInt8(p.codeSet(self.channels, l.channel, what: "channel") { UInt16($0.bit) })
        let recommenders = UInt8(p.codeSet(self.recommenders, l.recommender, what: "recommender") { UInt16($0.bit) })
        let debt = p.optionalCount(self.debt, max: 100_000)
        let patents = p.optionalCount(self.patents, max: 1_000_000)
        if p.ok {
            var listed: Int64 = 0
            for m in markets { listed += m.usdK }
            if listed > exports { p.fail(exportMarkets, "adds up to \(listed), more than export_usd_k (\(exports))") }
        }
        guard p.ok, let region, let size, let industry, let role else { return nil }
        return Firm(
            id: id, name: name, region: region, sizeClass: size, industry: industry, role: role, revenueKRWm: revenue,
            exportUSDk: exports, exportPrevUSDk: exportsPrev, employees: employees.map { Int($0) },
            hsChapters: chapters,
            exportMarkets: markets, certifications: certs, rndSuccess: rnd, procurementExcellent: procurement,
            homeShoppingBestseller: homeShopping, onlineChannels: channels, recommendedBy: recommenders,
            debtRatioPct: debt.map { Int($0) }, patents: patents.map { Int($0) })
    }

    /// `hs_chapters`: `;`-separated 2-digit chapters 01..97, sorted, without repeats.
    private func hs(_ p: inout RowParser) -> [UInt8] {
        let b = p.bytes(hsChapters)
        guard !b.isEmpty else { return [] }
        var out: [UInt8] = []
        var start = 0
        for i in 0...b.count where i == b.count || b[i] == 59 {
            let item = trimmed(UnsafeBufferPointer(rebasing: b[start..<i]))
            start = i + 1
            if item.isEmpty { continue }
            guard let v = parseInteger(item), (1...97).contains(v), item.count <= 2 else {
                p.fail(hsChapters, "'\(String(decoding: item, as: UTF8.self))' is not an HS chapter (01 to 97)")
                return []
            }
            if !out.contains(UInt8(v)) { out.append(UInt8(v)) }
        }
        out.sort()
        return out
    }

    /// `export_markets`: `;`-separated `MARKET:usd_k`, sorted by market, each market once.
    private func marketExports(_ p: inout RowParser) -> [MarketExport] {
        let b = p.bytes(exportMarkets)
        guard !b.isEmpty else { return [] }
        var out: [MarketExport] = []
        var start = 0
        for i in 0...b.count where i == b.count || b[i] == 59 {
            let item = trimmed(UnsafeBufferPointer(rebasing: b[start..<i]))
            start = i + 1
            if item.isEmpty { continue }
            guard let colon = item.firstIndex(of: 58) else {
                p.fail(exportMarkets, "'\(String(decoding: item, as: UTF8.self))' is not MARKET:usd_k")
                return []
            }
            let code = UnsafeBufferPointer(rebasing: item[..<colon])
            let amount = trimmed(UnsafeBufferPointer(rebasing: item[(colon + 1)...]))
            guard let m = l.market.lookup(code) else {
                p.fail(exportMarkets, l.market.unknown(code, what: "market"))
                return []
            }
            guard let v = parseInteger(amount), v >= 0 else {
                p.fail(exportMarkets, "amount for \(String(decoding: code, as: UTF8.self)) is not a whole number >= 0")
                return []
            }
            if out.contains(where: { $0.market == m }) {
                p.fail(exportMarkets, "market \(String(decoding: code, as: UTF8.self)) is listed twice")
                return []
            }
            out.append(MarketExport(market: m, usdK: v))
        }
        out.sort { $0.market < $1.market }
        return out
    }
}
