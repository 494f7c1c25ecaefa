import ExportDomain

extension ReportHTML {
    /// Rows shown per track; the CSV tables have every firm.
    static let midsizeRows = 30

    /// "Mid-sized firms: tailored tracks": a summary per group and its largest firms by revenue.
    func midsizeTracks() -> String {
        let t = r.midsizeTracks
        let groups = r.midsizeGroups
        var h = "<h2>Mid-sized firms: tailored tracks</h2>\n"
        h +=
            "<p>\(num(groups.reduce(0, +))) mid-sized firms, each group on a track of its own: LARGE firms lead export consortia as ecosystem leaders, EXPORT_ORIENTED firms get emerging-market diversification targets, DOMESTIC_ORIENTED firms get first-export markets with the trading-company desks that cover them. "
        h +=
            "Each table shows the \(Self.midsizeRows) largest firms by revenue; every firm is in midsize_large.csv, midsize_export_oriented.csv and midsize_domestic_oriented.csv.</p>\n"
        h += largeTrack(t)
        h += exportOrientedTrack(t)
        h += domesticTrack(t)
        return h
    }

    func largest<T>(_ xs: [T], _ entry: (T) -> MidsizeEntry) -> ArraySlice<T> {
        xs.sorted { (entry($1).revenueKRWm, entry($0).firm) < (entry($0).revenueKRWm, entry($1).firm) }
            .prefix(Self.midsizeRows)
    }

    func firmCells(_ e: MidsizeEntry) -> String {
        "<td class=l>\(e.firm)</td><td class=l>\(e.industry.rawValue)</td><td class=l>\(e.region.rawValue)</td><td>\(num(e.revenueKRWm))</td><td>\(num(e.exportUSDk))</td>"
    }

    static let firmHeader =
        "<th class=l>Firm</th><th class=l>Industry</th><th class=l>Office</th><th>Revenue (KRW m)</th><th>Exports last year (USD k)</th>"

    /// A market with its figure and entry gate (`*` when the firm does not hold it yet).
    func pickText(_ m: MarketPick, _ value: Int64) -> String {
        let gate = m.gate.map { "; \($0.rawValue)\(m.gateHeld ? "" : "*")" } ?? ""
        return "\(r.marketCode(m.market)) (\(num(value))\(gate))"
    }

    /// Why a LARGE firm leads no consortium, in words.
    static func reasonText(_ r: LargeFirmTrack.Reason) -> String {
        switch r {
        case .member_of_another_consortium: return "a member of another firm's consortium"
        case .matched: return "a pool firm matched to a trading company"
        case .unplaced: return "a pool firm neither matched nor in a consortium"
        case .too_few_unmatched_pool_firms: return "too few unmatched pool firms in its industry"
        case .outside_leader_cut: return "beyond its industry's cut of leaders"
        case .beyond_leaders_needed: return "not among the leaders its industry's consortia needed"
        case .not_used_by_search: return "not chosen by its industry's consortium search"
        }
    }

    func largeTrack(_ t: MidsizeTracks) -> String {
        var h = "<h3>LARGE firms as ecosystem leaders</h3>\n"
        let outside = t.large.filter { $0.consortium != nil && !$0.inPool }.count
        h +=
            "<p><b>\(num(t.largeLeading)) of \(num(t.large.count))</b> LARGE firms lead a consortium (\(num(outside)) of them from outside the pool)."
        let none = t.largeReasons.filter { $0.firms > 0 }
        if !none.isEmpty {
            h +=
                " Leading none: "
                + none.map { "\(num($0.firms)) \(Self.reasonText($0.reason))" }.joined(separator: "; ")
            h += "."
        }
        h += "</p>\n"
        guard !t.large.isEmpty else { return h }
        h +=
            "<table><tr>\(Self.firmHeader)<th class=l>Consortium</th><th class=l>Target</th><th>Members</th><th class=l>Why none</th></tr>\n"
        for l in largest(t.large, \.entry) {
            h += "<tr>\(firmCells(l.entry))"
            if let k = l.consortium {
                h +=
                    "<td class=l>\(esc(k.id))\(l.inPool ? "" : " (outside the pool)")</td><td class=l>\(r.marketCode(k.targetMarket))</td><td>\(k.members.count)</td><td></td></tr>\n"
            } else {
                let why = l.reason.map { Self.reasonText($0) + (l.detail.isEmpty ? "" : ": " + l.detail) } ?? ""
                h += "<td class=l>–</td><td></td><td></td><td class=l>\(esc(why))</td></tr>\n"
            }
        }
        return h + "</table>\n"
    }

    func exportOrientedTrack(_ t: MidsizeTracks) -> String {
        var h = "<h3>EXPORT_ORIENTED firms: emerging-market diversification</h3>\n"
        let known = t.exportOriented.reduce(Int64(0)) { $0 + $1.marketExportUSDk }
        let emerging = t.exportOriented.reduce(Int64(0)) { $0 + $1.emergingExportUSDk }
        let targets = t.exportOriented.flatMap(\.markets)
        h +=
            "<p><b>\(num(t.exportOrientedWithTarget)) of \(num(t.exportOriented.count))</b> EXPORT_ORIENTED firms have at least one emerging-market target with untapped potential. "
        h +=
            "Today \(Decimal.ratio(emerging * 100, known, places: 1)) % of their exports with a known market go to emerging markets (USD \(num(emerging)) k of \(num(known)) k). "
        h +=
            "\(num(targets.count)) targets, \(num(targets.filter { $0.gate != nil && !$0.gateHeld }.count)) of them behind a certification the firm does not hold yet.</p>\n"
        guard !t.exportOriented.isEmpty else { return h }
        h +=
            "<table><tr>\(Self.firmHeader)<th>Emerging share now</th><th class=l>Emerging targets by untapped potential (USD k; entry gate, * when not yet held)</th></tr>\n"
        for e in largest(t.exportOriented, { $0 }) {
            let share =
                e.marketExportUSDk > 0
                ? Decimal.ratio(e.emergingExportUSDk * 100, e.marketExportUSDk, places: 1) + " %" : "–"
            let targets = e.markets.map { pickText($0, $0.untappedUSDk) }.joined(separator: ", ")
            h += "<tr>\(firmCells(e))<td>\(share)</td><td class=l>\(targets.isEmpty ? "none" : targets)</td></tr>\n"
        }
        return h + "</table>\n"
    }

    func domesticTrack(_ t: MidsizeTracks) -> String {
        var h = "<h3>DOMESTIC_ORIENTED firms: first exports</h3>\n"
        let markets = t.domesticOriented.flatMap(\.markets)
        h +=
            "<p><b>\(num(t.domesticWithDesk)) of \(num(t.domesticOriented.count))</b> DOMESTIC_ORIENTED firms have a first-export market with a desk of their industry covering it (\(num(t.domesticWithMarket)) have a first-export market). "
        h +=
            "\(num(markets.count)) markets proposed, \(num(markets.filter(\.desks.isEmpty).count)) without a covering desk, \(num(markets.filter { $0.pick.gate != nil && !$0.pick.gateHeld }.count)) behind a certification not held yet; up to \(MidsizeTracks.desksPerMarket) desks per market, the best success rate first.</p>\n"
        guard !t.domesticOriented.isEmpty else { return h }
        h +=
            "<table><tr>\(Self.firmHeader)<th class=l>First-export markets by potential (USD k; entry gate, * when not yet held): desks</th></tr>\n"
        for d in largest(t.domesticOriented, \.entry) {
            let ms = d.markets.map { m in
                pickText(m.pick, m.pick.potentialUSDk) + ": "
                    + (m.desks.isEmpty ? "no desk" : m.desks.map { esc($0.company) }.joined(separator: ", "))
            }
            h +=
                "<tr>\(firmCells(d.entry))<td class=l>\(ms.isEmpty ? "none" : ms.joined(separator: "<br>"))</td></tr>\n"
        }
        return h + "</table>\n"
    }
}
