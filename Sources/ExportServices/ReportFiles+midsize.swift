import ExportData
import ExportDomain

extension ReportFiles {
    /// The mid-sized tracks' tables, by firm id: `midsize_large.csv` (a row per firm),
    /// `midsize_export_oriented.csv` (a row per emerging-market target) and
    /// `midsize_domestic_oriented.csv` (a row per first-export market, its desks `;`-separated);
    /// a firm without a market still has one row, its market cells empty.
    static func midsizeTables(_ r: NationalReport) -> [String: [UInt8]] {
        let t = r.midsizeTracks
        let firm = ["firm_id", "region", "industry", "revenue_krw_m", "export_usd_k"]
        func cells(_ e: MidsizeEntry) -> [CSVCell] {
            [
                .text(e.firm.description), .text(e.region.rawValue), .text(e.industry.rawValue), .int(e.revenueKRWm),
                .int(e.exportUSDk),
            ]
        }
        func gate(_ m: MarketPick) -> [CSVCell] {
            [.text(m.gate?.rawValue ?? ""), m.gate == nil ? "" : (m.gateHeld ? "true" : "false")]
        }
        var files: [String: [UInt8]] = [:]

        var large = CSVTable(
            header: firm + [
                "in_pool", "consortium_id", "target_market", "target_emerging", "members", "reason", "detail",
            ])
        for l in t.large {
            var row = cells(l.entry) + [l.inPool ? "true" : "false"]
            if let k = l.consortium {
                row += [
                    .text(k.id), .text(r.marketCode(k.targetMarket)), r.targetsEmerging(k) ? "true" : "false",
                    .int(k.members.count), "", "",
                ]
            } else {
                row += ["", "", "", "", .text(l.reason?.rawValue ?? ""), .text(l.detail)]
            }
            large.row(row)
        }
        files["midsize_large.csv"] = large.bytes

        var oriented = CSVTable(
            header: firm + [
                "market_export_usd_k", "emerging_export_usd_k", "emerging_share", "rank", "market", "potential_usd_k",
                "untapped_usd_k", "entry_gate", "gate_held",
            ])
        for e in t.exportOriented {
            let share: CSVCell =
                e.marketExportUSDk > 0
                ? .number(Decimal.ratio(e.emergingExportUSDk, e.marketExportUSDk, places: 4)) : ""
            let head = cells(e) + [.int(e.marketExportUSDk), .int(e.emergingExportUSDk), share]
            if e.markets.isEmpty { oriented.row(head + ["", "", "", "", "", ""]) }
            for (i, m) in e.markets.enumerated() {
                oriented.row(
                    head + [.int(i + 1), .text(r.marketCode(m.market)), .int(m.potentialUSDk), .int(m.untappedUSDk)]
                        + gate(m))
            }
        }
        files["midsize_export_oriented.csv"] = oriented.bytes

        var domestic = CSVTable(
            header: firm + ["rank", "market", "potential_usd_k", "entry_gate", "gate_held", "desks"])
        for d in t.domesticOriented {
            let head = cells(d.entry)
            if d.markets.isEmpty { domestic.row(head + ["", "", "", "", "", ""]) }
            for (i, m) in d.markets.enumerated() {
                domestic.row(
                    head + [.int(i + 1), .text(r.marketCode(m.pick.market)), .int(m.pick.potentialUSDk)] + gate(m.pick)
                        + [.text(m.desks.map(\.company).joined(separator: ";"))])
            }
        }
        files["midsize_domestic_oriented.csv"] = domestic.bytes
        return files
    }
}
