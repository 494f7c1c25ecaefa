import ExportData
import ExportDomain

/// The files of a run's report: `report.json`, `report.html` and the CSV tables. Rendered once
/// by the collector and stored with the run, so `exportctl report` only writes them out.
public enum ReportFiles {
    public static let tables = [
        "regions.csv", "pool.csv", "matches.csv", "desks.csv", "consortia.csv", "unplaced.csv", "channels.csv",
        "new_export_sources.csv", "rejections.csv",
    ]

    public static func render(_ r: NationalReport) -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        files["report.json"] = r.json()
        files["report.html"] = Array(ReportHTML(r).render().utf8)

        var t = CSVText([
            "region", "firms", "exporting_firms", "export_usd_k", "target_exporting_firms",
            "exporting_firms_to_date", "avg_export_usd_k", "target_avg_export_usd_k", "export_usd_k_to_date",
            "behind_pace",
        ])
        for (s, a) in zip(r.regions, r.attainment) {
            t.row([
                s.region.rawValue, "\(s.firms)", "\(s.exportingFirms)", "\(s.exportUSDk)",
                a.targetExportingFirms.map { "\($0)" } ?? "", "\(a.exportingFirmsToDate)",
                a.averageExportToDate.map { "\($0)" } ?? "", a.targetAverageExport.map { "\($0)" } ?? "",
                "\(a.exportsToDate)", a.behindPace ? "true" : "false",
            ])
        }
        files["regions.csv"] = t.bytes

        t = CSVText(["rank", "firm_id", "name", "region", "industry", "readiness", "priority"])
        for (i, p) in r.national.pool.enumerated() {
            t.row([
                "\(i + 1)", p.firm.id.description, p.firm.name, p.firm.region.rawValue, p.firm.industry.rawValue,
                Decimal.fixed(Int64(p.readiness), places: 2), p.priority ? "true" : "false",
            ])
        }
        files["pool.csv"] = t.bytes

        t = CSVText(["firm_id", "company_id", "industry", "target_market", "emerging", "firm_choice", "desk_rank"])
        for m in r.matches {
            t.row([
                m.firm.description, m.company, m.industry.rawValue, r.marketCode(m.targetMarket),
                m.emerging ? "true" : "false", "\(m.firmChoice)", "\(m.deskRank)",
            ])
        }
        files["matches.csv"] = t.bytes

        t = CSVText([
            "company_id", "industry", "capacity", "reserved", "matched", "emerging_matched", "applicants",
            "emerging_applicants", "reserve_unfilled", "unfilled_reason", "own_ranking",
        ])
        for d in r.desks {
            t.row([
                d.company, d.industry.rawValue, "\(d.capacity)", "\(d.reserved)", "\(d.matched)",
                "\(d.emergingMatched)", "\(d.applicants)", "\(d.emergingApplicants)",
                d.reserveUnfilled ? "true" : "false", d.unfilledReason?.rawValue ?? "", d.ownRanking ? "true" : "false",
            ])
        }
        files["desks.csv"] = t.bytes

        t = CSVText(["consortium_id", "industry", "leader", "members", "target_market", "institutions", "objective"])
        for k in r.consortia {
            t.row([
                k.id, k.industry.rawValue, k.leader.description, k.members.map(\.description).joined(separator: ";"),
                r.marketCode(k.targetMarket), k.institutions.joined(separator: ";"), "\(k.objective)",
            ])
        }
        files["consortia.csv"] = t.bytes

        t = CSVText(["firm_id", "reason"])
        for u in r.unplaced { t.row([u.firm.description, u.reason]) }
        files["unplaced.csv"] = t.bytes

        t = CSVText(["firm_id", "channel", "route", "market"])
        var recs: [ChannelRecommendation] = r.ecosystems.flatMap(\.channels)
        recs.sort { ($0.firm, $0.channel.bit) < ($1.firm, $1.channel.bit) }
        for c in recs {
            t.row([c.firm.description, c.channel.rawValue, c.route.rawValue, c.market.map { r.marketCode($0) } ?? ""])
        }
        files["channels.csv"] = t.bytes

        t = CSVText(["firm_id", "readiness", "market", "potential_usd_k", "untapped_usd_k"])
        for s in r.newExportSources {
            for m in s.markets {
                t.row([
                    s.firm.description, Decimal.fixed(Int64(s.readiness), places: 2), r.marketCode(m.market),
                    "\(m.potentialUSDk)", "\(m.untappedUSDk)",
                ])
            }
        }
        files["new_export_sources.csv"] = t.bytes

        t = CSVText(["file", "line", "column", "reason"])
        for x in r.input.rejections { t.row([x.file, "\(x.line)", x.column ?? "", x.reason]) }
        files["rejections.csv"] = t.bytes
        return files
    }
}

/// CSV in memory (RFC 4180 quoting, LF line ends, UTF-8).
struct CSVText {
    private(set) var bytes: [UInt8] = []

    init(_ header: [String]) { row(header) }

    mutating func row(_ fields: [String]) {
        for (i, f) in fields.enumerated() {
            if i > 0 { bytes.append(44) }
            if f.utf8.contains(where: { $0 == 44 || $0 == 34 || $0 == 10 || $0 == 13 }) {
                bytes.append(34)
                for b in f.utf8 {
                    if b == 34 { bytes.append(34) }
                    bytes.append(b)
                }
                bytes.append(34)
            } else {
                bytes += f.utf8
            }
        }
        bytes.append(10)
    }
}
