import ExportData
import ExportDomain
import Foundation
import Testing

@Suite("Dataset ingestion: rows shorter or longer than the header")
struct RowWidthTests {
    /// One good row, then a short one, then a long one, for a file of `header`'s columns: the
    /// short row drops its last cell (a truncated row), the long one adds a non-empty cell.
    static func rows(_ good: String) -> [String] {
        let cells = good.split(separator: ",", omittingEmptySubsequences: false)
        return [good, cells.dropLast().joined(separator: ","), good + ",surplus"]
    }

    @Test func shortAndLongRowsAreRejectedInEveryInputFile() throws {
        let d = ScratchDir()
        let firmHeader = "firm_id,name,region,size_class,industry,role,revenue_krw_m,export_usd_k,export_usd_k_prev"
        let demand = Industry.allCases.map { "demand_" + $0.rawValue.lowercased() }.joined(separator: ",")
        let ones = Industry.allCases.map { _ in "100" }.joined(separator: ",")
        // (file, header, a good row); each file gets the good row, a short copy and a long copy.
        let files: [(DatasetFile, String, String)] = [
            (.firms, firmHeader, "124-81-00998,Alpha Co,SEOUL,SMALL,ELECTRONICS,COMPONENTS,1000,200,100"),
            (
                .companies, "company_id,name,desks,markets,channels,success_rate",
                "TC1,Trade One,ELECTRONICS:5,US;VN,AMAZON,0.5"
            ),
            (.institutions, "institution_id,name,kind,region,industries", "I1,Uni,UNIVERSITY,SEOUL,ELECTRONICS"),
            (.targets, "region,year,target_exporting_firms,target_avg_export_usd_k", "SEOUL,2016,10,500"),
            (.exports, "firm_id,period_start,market,export_usd_k", "124-81-00998,2016-01-04,US,10"),
            (.applications, "firm_id,company_id,rank", "124-81-00998,TC1,1"),
            (.deskRankings, "company_id,industry,firm_id,rank", "TC1,ELECTRONICS,124-81-00998,1"),
            (
                .markets,
                "market,name,bloc,emerging,fta,distance_km,logistics_index,import_growth_pct,\(demand)",
                "US,United States,NORTH_AMERICA,N,Y,10500,3.99,3.5,\(ones)"
            ),
        ]
        var extraMarket = ""
        for (file, header, good) in files {
            var body = Self.rows(good)
            if file == .markets {
                // The companies cover VN too: keep it valid in the replaced table.
                extraMarket = "VN,Vietnam,ASEAN,Y,Y,2750,2.98,12,\(ones)"
                body.insert(extraMarket, at: 1)
            }
            d.write(file.rawValue, header + "\n" + body.joined(separator: "\n") + "\n")
        }
        let (ds, rej, reader) = d.load()
        for (file, header, good) in files {
            let m = header.split(separator: ",").count
            let n = good.split(separator: ",", omittingEmptySubsequences: false).count
            #expect(n == m, "fixture of \(file.rawValue)")
            let first = file == .markets ? 4 : 3  // the short row's line
            let got = rej.filter { $0.file == file.rawValue }
            #expect(
                got == [
                    Rejection(
                        file: file.rawValue, line: first, column: nil,
                        reason: "has \(m - 1) fields, the header has \(m)"),
                    Rejection(
                        file: file.rawValue, line: first + 1, column: nil,
                        reason: "has \(m + 1) fields, the header has \(m)"),
                ], "\(file.rawValue)")
            let r = try #require(reader.report(file))
            let read = file == .markets ? 4 : 3
            #expect(r.rowsRead == read && r.rejected == 2 && r.accepted == read - 2, "\(file.rawValue): \(r)")
            #expect(r.accepted + r.rejected == r.rowsRead)
        }
        #expect(ds.firms.map(\.name) == ["Alpha Co"])
        #expect(ds.exports.count == 1 && ds.applications.count == 1 && ds.deskRankings.count == 1)
        #expect(ds.markets.codes == ["US", "VN"])
    }

    /// Only a truncated row is rejected: trailing empty cells past the header (a trailing comma)
    /// are still taken, and an empty cell inside the row's width is a value (empty), not a
    /// missing one.
    @Test func trailingEmptyCellsAndEmptyValuesAreNotShortRows() {
        let d = ScratchDir()
        d.minimal(firms: [
            "124-81-00998,Alpha Co,SEOUL,SMALL,ELECTRONICS,COMPONENTS,1000,200,100,",
            "220-81-62517,Beta Co,BUSAN,MEDIUM,MACHINERY,EQUIPMENT,5000,0,0,,",
            "101-81-09147,Gamma Co,BUSAN,MEDIUM,MACHINERY,EQUIPMENT,5000,0,",
        ])
        let (ds, rej, reader) = d.load()
        #expect(ds.firms.map(\.name) == ["Alpha Co", "Beta Co"])
        #expect(rej.map(\.description) == ["firms.csv:4: export_usd_k_prev: is empty"])
        #expect(reader.report(.firms)!.rowsRead == 3)
    }
}
