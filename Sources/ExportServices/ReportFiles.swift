import ExportData
import ExportDomain

/// The files of a run's report: `report.json`, `report.html` and the CSV tables. Rendered once
/// by the collector and stored with the run, so `exportctl report` only writes them out. Every
/// table cell says whether it is text or a number: text cells starting with `=`, `+`, `-`, `@`,
/// a tab or a CR get a `'` in front (`CSVCell`), so a hostile firm name cannot run as a formula
/// in the spreadsheet an officer opens `pool.csv` with; numbers are written as they are.
public enum ReportFiles {
    public static let tables = [
        "regions.csv", "pool.csv", "matches.csv", "desks.csv", "consortia.csv", "unplaced.csv", "channels.csv",
        "new_export_sources.csv", "rejections.csv", "supported_followup.csv", "midsize_large.csv",
        "midsize_export_oriented.csv", "midsize_domestic_oriented.csv",
    ]

    public static func render(_ r: NationalReport) -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        files["report.json"] = r.json()
        files["report.html"] = Array(ReportHTML(r).render().utf8)

        var t = CSVTable(header: [
            "region", "firms", "exporting_firms", "export_usd_k", "target_exporting_firms",
            "exporting_firms_to_date", "avg_export_usd_k", "target_avg_export_usd_k", "export_usd_k_to_date",
            "behind_pace", "behind_on",
        ])
        for (s, a) in zip(r.regions, r.attainment) {
            t.row([
                .text(s.region.rawValue), .int(s.firms), .int(s.exportingFirms), .int(s.exportUSDk),
                a.targetExportingFirms.map { .int($0) } ?? "", .int(a.exportingFirmsToDate),
                a.averageExportToDate.map { .int($0) } ?? "", a.targetAverageExport.map { .int($0) } ?? "",
                .int(a.exportsToDate), a.behindPace ? "true" : "false",
                .text(a.behindOn.map(\.rawValue).joined(separator: " ")),
            ])
        }
        files["regions.csv"] = t.bytes

        t = CSVTable(header: ["rank", "firm_id", "name", "region", "industry", "readiness", "priority"])
        for (i, p) in r.national.pool.enumerated() {
            t.row([
                .int(i + 1), .text(p.firm.id.description), .text(p.firm.name), .text(p.firm.region.rawValue),
                .text(p.firm.industry.rawValue), .number(Decimal.fixed(Int64(p.readiness), places: 2)),
                p.priority ? "true" : "false",
            ])
        }
        files["pool.csv"] = t.bytes

        t = CSVTable(header: [
            "firm_id", "company_id", "industry", "target_market", "emerging", "firm_choice", "desk_rank",
        ])
        for m in r.matches {
            t.row([
                .text(m.firm.description), .text(m.company), .text(m.industry.rawValue),
                .text(r.marketCode(m.targetMarket)), m.emerging ? "true" : "false", .int(m.firmChoice),
                .int(m.deskRank),
            ])
        }
        files["matches.csv"] = t.bytes

        t = CSVTable(header: [
            "company_id", "industry", "capacity", "reserved", "matched", "emerging_matched", "applicants",
            "emerging_applicants", "reserve_unfilled", "unfilled_reason", "own_ranking",
        ])
        for d in r.desks {
            t.row([
                .text(d.company), .text(d.industry.rawValue), .int(d.capacity), .int(d.reserved), .int(d.matched),
                .int(d.emergingMatched), .int(d.applicants), .int(d.emergingApplicants),
                d.reserveUnfilled ? "true" : "false", .text(d.unfilledReason?.rawValue ?? ""),
                d.ownRanking ? "true" : "false",
            ])
        }
        files["desks.csv"] = t.bytes

        t = CSVTable(header: [
            "consortium_id", "industry", "leader", "leader_from_outside_the_pool", "members", "target_market",
            "target_emerging", "target_rule", "institutions", "support_institution", "objective",
        ])
        for k in r.consortia {
            t.row([
                .text(k.id), .text(k.industry.rawValue), .text(k.leader.description),
                k.leaderFromOutside ? "true" : "false", .text(k.members.map(\.description).joined(separator: ";")),
                .text(r.marketCode(k.targetMarket)), r.targetsEmerging(k) ? "true" : "false",
                .text(k.targetRule.rawValue), .text(k.institutions.joined(separator: ";")), .text(k.support ?? ""),
                .int(k.objective),
            ])
        }
        files["consortia.csv"] = t.bytes

        t = CSVTable(header: ["firm_id", "reason"])
        for u in r.unplaced { t.row([.text(u.firm.description), .text(u.reason)]) }
        files["unplaced.csv"] = t.bytes

        t = CSVTable(header: ["firm_id", "channel", "route", "market"])
        var recs: [ChannelRecommendation] = r.ecosystems.flatMap(\.channels) + r.storeAdmissions
        recs.sort { ($0.firm, $0.channel.bit) < ($1.firm, $1.channel.bit) }
        for c in recs {
            t.row([
                .text(c.firm.description), .text(c.channel.rawValue), .text(c.route.rawValue),
                .text(c.market.map { r.marketCode($0) } ?? ""),
            ])
        }
        files["channels.csv"] = t.bytes

        t = CSVTable(header: [
            "firm_id", "readiness", "market", "potential_usd_k", "untapped_usd_k", "entry_gate", "gate_held",
        ])
        for s in r.newExportSources {
            for m in s.markets {
                t.row([
                    .text(s.firm.description), .number(Decimal.fixed(Int64(s.readiness), places: 2)),
                    .text(r.marketCode(m.market)), .int(m.potentialUSDk), .int(m.untappedUSDk),
                    .text(m.gate?.rawValue ?? ""), m.gate == nil ? "" : (m.gateHeld ? "true" : "false"),
                ])
            }
        }
        files["new_export_sources.csv"] = t.bytes

        t = CSVTable(header: ["file", "line", "column", "reason"])
        for x in r.input.rejections { t.row([.text(x.file), .int(x.line), .text(x.column ?? ""), .text(x.reason)]) }
        files["rejections.csv"] = t.bytes

        files["supported_followup.csv"] = r.followUp.csv()
        files.merge(midsizeTables(r)) { a, _ in a }
        return files
    }
}
