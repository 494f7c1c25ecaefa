import ExportData
import ExportDomain

/// How the supported firms' follow-up is written: in `report.json` and every monitoring
/// snapshot (`supported_followup`), in `report.html` ("Supported firms followed") and in
/// `supported_followup.csv` (docs/EVALUATION.md, "Supported firms followed").
extension SupportedFollowUp {
    /// Exports to date projected to the year's end (`projectedToYearEnd`) at this follow-up's period.
    func projected(_ toDate: Int64) -> Int64? { projectedToYearEnd(toDate, periodReached: periodReached) }

    func json(_ w: inout JSONWriter) {
        w.object { w in
            w.field("supported_firms_known", true)
            w.key("national")
            w.object { w in row(&w, national) }
            w.key("regions")
            w.array { w in
                for r in regions {
                    w.object { w in
                        w.field("region", r.region!.rawValue)
                        row(&w, r)
                    }
                }
            }
        }
    }

    private func row(_ w: inout JSONWriter, _ r: FollowUpRow) {
        w.key("supported")
        group(&w, r.supported, firms: true, projected: true)
        w.key("compared")
        group(&w, r.compared, firms: true, projected: true)
        w.key("expected_as_unsupported")
        group(&w, r.expected, firms: false, projected: true)
        w.key("without_comparison")
        w.inlineObject { w in
            w.field("cells", r.cellsWithoutComparison)
            w.field("supported_firms", r.firmsWithoutComparison)
        }
        w.key("unsupported")
        group(&w, r.unsupported, firms: true, projected: false)
    }

    private func group(_ w: inout JSONWriter, _ c: FollowUpCell, firms: Bool, projected withProjection: Bool) {
        w.inlineObject { w in
            if firms { w.field("firms", c.firms) }
            w.field("exporting_firms_to_date", c.exportingFirms)
            w.field("export_usd_k_last_year", c.lastYearUSDk)
            w.field("export_usd_k_to_date", c.toDateUSDk)
            if withProjection {
                w.key("projected_export_usd_k")
                if let p = projected(c.toDateUSDk) { w.int(p) } else { w.null() }
            }
        }
    }

    /// Projected exports over last year's as a percentage with one decimal ("112.5 %"), or nil
    /// before any export record or without exports last year.
    func paceText(_ c: FollowUpCell) -> String? {
        guard let p = projected(c.toDateUSDk), c.lastYearUSDk > 0 else { return nil }
        return Decimal.ratio(p * 100, c.lastYearUSDk, places: 1) + " %"
    }

    static let csvHeader = [
        "region", "supported_firms", "supported_exporting_firms_to_date", "supported_export_usd_k_last_year",
        "supported_export_usd_k_to_date", "supported_projected_export_usd_k", "compared_firms",
        "compared_exporting_firms_to_date", "compared_export_usd_k_last_year", "compared_export_usd_k_to_date",
        "compared_projected_export_usd_k", "expected_exporting_firms_to_date", "expected_export_usd_k_last_year",
        "expected_export_usd_k_to_date", "expected_projected_export_usd_k", "cells_without_comparison",
        "supported_firms_without_comparison", "unsupported_firms", "unsupported_exporting_firms_to_date",
        "unsupported_export_usd_k_last_year", "unsupported_export_usd_k_to_date",
    ]

    /// `supported_followup.csv`: one row per office, then the national row (`NATIONAL`).
    func csv() -> [UInt8] {
        var t = CSVTable(header: Self.csvHeader)
        for r in regions + [national] {
            func p(_ v: Int64) -> CSVCell { projected(v).map { .int($0) } ?? "" }
            t.row([
                .text(r.region?.rawValue ?? "NATIONAL"), .int(r.supported.firms), .int(r.supported.exportingFirms),
                .int(r.supported.lastYearUSDk), .int(r.supported.toDateUSDk), p(r.supported.toDateUSDk),
                .int(r.compared.firms), .int(r.compared.exportingFirms), .int(r.compared.lastYearUSDk),
                .int(r.compared.toDateUSDk), p(r.compared.toDateUSDk), .int(r.expected.exportingFirms),
                .int(r.expected.lastYearUSDk), .int(r.expected.toDateUSDk), p(r.expected.toDateUSDk),
                .int(r.cellsWithoutComparison), .int(r.firmsWithoutComparison), .int(r.unsupported.firms),
                .int(r.unsupported.exportingFirms), .int(r.unsupported.lastYearUSDk), .int(r.unsupported.toDateUSDk),
            ])
        }
        return t.bytes
    }
}

extension ReportHTML {
    func followUp() -> String {
        let f = r.followUp
        var h = "<h2>Supported firms followed</h2>\n"
        h +=
            "<p>The firms the program supports, \(num(f.national.supported.firms)) of them (\(num(r.matchedCount)) matched to a trading company's desk and \(num(r.consortia.reduce(0) { $0 + $1.members.count })) members of export consortia, leaders included, \(num(r.consortiaLedFromOutside)) of them from outside the pool), "
        h +=
            "exported USD \(num(f.national.supported.toDateUSDk)) k this year to date against USD \(num(f.national.supported.lastYearUSDk)) k last year"
        if let pace = f.paceText(f.national.supported) {
            h += ": at this pace, <b>\(pace)</b> of last year by the year's end"
        }
        h += "."
        if let a = f.paceText(f.national.compared), let b = f.paceText(f.national.expected) {
            h +=
                " Compared with unsupported firms of the same office, industry and export tier, the \(num(f.national.compared.firms)) supported firms that have such firms beside them are on pace for <b>\(a)</b> of last year, where they would be on pace for <b>\(b)</b> had they fared like those unsupported firms."
        }
        h += "</p>\n"
        h +=
            "<p class=\"note\">Method: firms are grouped into cells by office, industry and export tier (last year's exports). In each cell with unsupported firms, the supported firms' expected figures are their count times the unsupported firms' average (exports to date, last year's exports, firms exporting to date), rounded half up; the national line adds up the offices. Supported firms in a cell without any unsupported firm are counted but left out of the comparison (the last column). Pace: exports to date x 26 / periods reached\(f.periodReached >= 0 ? " (\(f.periodReached + 1))" : ""), over last year's exports; compare the paces rather than the amounts, since within a tier (STRONG has no upper bound) supported firms can be far larger than unsupported ones. This compares firms of like industry and size; it does not isolate the program's effect, since firms are chosen for support on their readiness.</p>\n"
        h +=
            "<table><tr><th class=l>Office</th><th>Supported firms</th><th>Exporting to date</th><th>Last year (USD k)</th><th>To date (USD k)</th><th>Pace vs last year</th>"
        h +=
            "<th>Compared firms</th><th>Compared: to date (USD k)</th><th>As unsupported: to date (USD k)</th><th>Compared: pace</th><th>As unsupported: pace</th><th>Without comparison (cells / firms)</th></tr>\n"
        func line(_ name: String, _ x: FollowUpRow, bold: Bool) -> String {
            var s = "<tr\(bold ? " class=configured" : "")><td class=l>\(name)</td><td>\(num(x.supported.firms))</td>"
            s += "<td>\(num(x.supported.exportingFirms))</td><td>\(num(x.supported.lastYearUSDk))</td>"
            s += "<td>\(num(x.supported.toDateUSDk))</td><td>\(f.paceText(x.supported) ?? "–")</td>"
            s += "<td>\(num(x.compared.firms))</td><td>\(num(x.compared.toDateUSDk))</td>"
            s += "<td>\(num(x.expected.toDateUSDk))</td><td>\(f.paceText(x.compared) ?? "–")</td>"
            s += "<td>\(f.paceText(x.expected) ?? "–")</td>"
            s += "<td>\(num(x.cellsWithoutComparison)) / \(num(x.firmsWithoutComparison))</td></tr>\n"
            return s
        }
        for x in f.regions { h += line(x.region!.rawValue, x, bold: false) }
        h += line("National", f.national, bold: true)
        return h + "</table>\n"
    }
}
