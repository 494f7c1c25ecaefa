import ExportData
import ExportDomain
import Foundation
import Testing

@Suite("Dataset ingestion: rows, files and limits")
struct IngestionTests {
    /// Every rejection of `file` as `line: column: reason`.
    func reasons(_ r: [Rejection], _ file: String) -> [String] {
        r.filter { $0.file == file }.map { "\($0.line): " + ($0.column.map { "\($0): " } ?? "") + $0.reason }
    }

    @Test func minimalDatasetIsAcceptedWhole() {
        let d = ScratchDir()
        d.minimal()
        let (ds, rej, reader) = d.load()
        #expect(rej.isEmpty)
        #expect(reader.usable)
        #expect(ds.firms.map(\.name) == ["Alpha Co", "Beta Co"])
        #expect(ds.companies.first?.desks == [Desk(industry: .ELECTRONICS, capacity: 5)])
        #expect(ds.companies.first?.successRatePermille == 500)
    }

    @Test func everyFirmRuleRejectsItsRowWithAReason() {
        let d = ScratchDir()
        d.minimal(firms: [
            "124-81-00998,Good,SEOUL,SMALL,ELECTRONICS,COMPONENTS,1000,200,100",  // 2 ok
            "124-81-00997,Bad check,SEOUL,SMALL,ELECTRONICS,COMPONENTS,1,0,0",  // 3
            "220-81-62517,Typo office,SEOUK,SMALL,ELECTRONICS,COMPONENTS,1,0,0",  // 4
            "220-81-62517,Typo industry,SEOUL,SMALL,ELECTRONIC,COMPONENTS,1,0,0",  // 5
            "220-81-62517,Typo role,SEOUL,SMALL,ELECTRONICS,COMPONENT,1,0,0",  // 6
            "220-81-62517,Negative,SEOUL,SMALL,ELECTRONICS,COMPONENTS,-5,0,0",  // 7
            "220-81-62517,Not a number,SEOUL,SMALL,ELECTRONICS,COMPONENTS,12k,0,0",  // 8
            "220-81-62517,Size,SEOUL,HUGE,ELECTRONICS,COMPONENTS,1,0,0",  // 9
            "124-81-00998,Duplicate,SEOUL,SMALL,ELECTRONICS,COMPONENTS,1,0,0",  // 10
            "220-81-62517,,SEOUL,SMALL,ELECTRONICS,COMPONENTS,1,0,0",  // 11 empty name
            "220-81-62517,Late ok,seoul ,small,Electronics,COMPONENTS,1,0,0",  // 12 ok: case and spaces
        ])
        let (ds, rej, reader) = d.load()
        #expect(
            reasons(rej, "firms.csv") == [
                "3: firm_id: check digit is 7, expected 8",
                "4: region: unknown office code 'SEOUK' (did you mean SEOUL?)",
                "5: industry: unknown industry 'ELECTRONIC' (did you mean ELECTRONICS?)",
                "6: role: unknown value-chain role 'COMPONENT' (did you mean COMPONENTS?)",
                "7: revenue_krw_m: is negative (-5)",
                "8: revenue_krw_m: is not a whole number ('12k')",
                "9: size_class: unknown size class 'HUGE' (valid: MEDIUM, MIDSIZE, SMALL)",
                "10: firm_id: duplicate firm_id 124-81-00998 (first on line 2)",
                "11: name: is empty",
            ])
        #expect(ds.firms.map(\.name) == ["Good", "Late ok"])
        let r = reader.report(.firms)!
        #expect(r.rowsRead == 11 && r.accepted == 2 && r.rejected == 9)
    }

    @Test func optionalFirmColumnsListsAndBooleans() throws {
        let d = ScratchDir()
        d.minimal()
        d.write(
            "firms.csv",
            """
            firm_id,name,region,size_class,industry,role,revenue_krw_m,export_usd_k,export_usd_k_prev,hs_chapters,export_markets,certifications,rnd_success,procurement_excellent,home_shopping_bestseller,online_channels,recommended_by,patents,extra
            124-81-00998,A,SEOUL,SMALL,COSMETICS_BEAUTY,FINISHED_GOODS,1000,300,10,33; 34 ,VN:100; us:200,HALAL;FDA,Y,true,0,AMAZON;QOO10,ASSOCIATION,3,x
            220-81-62517,B,SEOUL,SMALL,COSMETICS_BEAUTY,FINISHED_GOODS,1000,300,10,,VN:100;XX:5,,maybe,,,,,,
            101-81-09147,C,SEOUL,SMALL,COSMETICS_BEAUTY,FINISHED_GOODS,1000,100,10,,VN:100;US:5,,,,,,,,
            101-10-00001,D,SEOUL,SMALL,COSMETICS_BEAUTY,FINISHED_GOODS,1000,100,10,,,,1,,,EBEY,,,
            102-10-00004,E,SEOUL,SMALL,COSMETICS_BEAUTY,FINISHED_GOODS,1000,100,10,98,,,,,,,,,

            """)
        let (ds, rej, reader) = d.load()
        let f = try #require(ds.firms.first)
        #expect(f.hsChapters == [33, 34])
        #expect(f.exportMarkets.map { ds.markets[$0.market].code }.sorted() == ["US", "VN"])
        #expect(f.has(.HALAL) && f.has(.FDA) && !f.has(.CE))
        #expect(f.rndSuccess && f.procurementExcellent && !f.homeShoppingBestseller)
        #expect(f.sells(on: .AMAZON) && f.sells(on: .QOO10) && !f.sells(on: .EBAY))
        #expect(f.patents == 3 && f.employees == nil)
        #expect(
            reasons(rej, "firms.csv") == [
                "3: export_markets: unknown market 'XX' (did you mean MX?)",
                "4: export_markets: adds up to 105, more than export_usd_k (100)",
                "5: online_channels: unknown channel 'EBEY' (did you mean EBAY?)",
                "6: hs_chapters: '98' is not an HS chapter (01 to 97)",
            ])
        #expect(reader.report(.firms)!.warnings == ["unknown column ignored: extra"])
    }

    @Test func booleansTakeEveryAllowedSpelling() {
        let d = ScratchDir()
        d.minimal()
        var rows: [String] = []
        let spellings = ["true", "false", "1", "0", "Y", "N", "y", "n", "TRUE", "False", ""]
        for (i, s) in spellings.enumerated() {
            rows.append(
                "\(BusinessNumber.completing(UInt64(200_000_000 + i))),F\(i),SEOUL,SMALL,MACHINERY,EQUIPMENT,1,0,0,\(s)"
            )
        }
        rows.append("\(BusinessNumber.completing(300_000_000)),Bad,SEOUL,SMALL,MACHINERY,EQUIPMENT,1,0,0,si")
        d.write(
            "firms.csv",
            "firm_id,name,region,size_class,industry,role,revenue_krw_m,export_usd_k,export_usd_k_prev,rnd_success\n"
                + rows.joined(separator: "\n") + "\n")
        let (ds, rej, _) = d.load()
        #expect(ds.firms.map(\.rndSuccess) == [true, false, true, false, true, false, true, false, true, false, false])
        #expect(rej.map(\.reasonWithColumn) == ["rnd_success: is not a boolean ('si'; use true/false, 1/0 or Y/N)"])
    }

    @Test func companyInstitutionAndTargetRules() {
        let d = ScratchDir()
        d.minimal()
        d.write(
            "trading_companies.csv",
            """
            company_id,name,desks,markets,channels,success_rate
            TC1,One,ELECTRONICS:5;MACHINERY:3,US;VN,AMAZON,0.5
            TC2,Two,SHIPBUILDING:5,US,,0.5
            TC3,Three,ELECTRONICS:0,US,,0.5
            TC4,Four,ELECTRONICS:-2,US,,0.5
            TC5,Five,ELECTRONICS:5,US,,1.5
            TC6,Six,ELECTRONICS:5,US;ZZ,,0.5
            TC1,Dup,ELECTRONICS:5,US,,0.5
            TC8,Eight,ELECTRONICS:5;ELECTRONICS:4,US,,0.5
            "TC 9",Nine,ELECTRONICS:5,US,,0.5

            """)
        d.write(
            "institutions.csv",
            "institution_id,name,kind,region,industries\nI1,U,UNIVERSITY,SEOUL,ELECTRONICS\nI2,R,LAB,SEOUL,ELECTRONICS\nI3,S,SUPPORT,SEOUL,\n"
        )
        d.write(
            "targets.csv",
            "region,year,target_exporting_firms,target_avg_export_usd_k\nSEOUL,2016,10,500\nSEOUL,2016,11,500\nBUSAN,1999,1,1\n"
        )
        let (ds, rej, _) = d.load()
        #expect(ds.companies.map(\.id) == ["TC1"])
        #expect(
            reasons(rej, "trading_companies.csv") == [
                "3: desks: desk names an unknown industry 'SHIPBUILDING' (valid: AUTO_PARTS, CHEMICALS_PLASTICS, CONSUMER_GOODS, CONTENT_CULTURE, COSMETICS_BEAUTY, ELECTRONICS, FOOD_AGRI, ICT_SOFTWARE, MACHINERY, MEDICAL_BIO, SEMICONDUCTOR_DISPLAY, STEEL_METALS, TEXTILES_FASHION)",
                "4: desks: capacity of the ELECTRONICS desk must be positive (is 0)",
                "5: desks: capacity of the ELECTRONICS desk must be positive (is -2)",
                "6: success_rate: is out of range (1.5; expected 0 to 1)",
                "7: markets: unknown market 'ZZ' (did you mean KZ?)",
                "8: company_id: duplicate company_id TC1 (first on line 2)",
                "9: desks: two desks for ELECTRONICS",
                "10: company_id: 'TC 9' is not a usable id (at most 100 bytes, no spaces, commas or semicolons)",
            ])
        #expect(
            reasons(rej, "institutions.csv") == [
                "3: kind: unknown institution kind 'LAB' (valid: RESEARCH, SUPPORT, UNIVERSITY)",
                "4: industries: is empty",
            ])
        #expect(
            reasons(rej, "targets.csv") == [
                "3: region: duplicate target for SEOUL in 2016 (first on line 2)",
                "4: year: 1999 is before 2000",
            ])
    }

    @Test func exportRecordsNeedKnownFirmsAndPeriodsOfTheYear() {
        let d = ScratchDir()
        d.minimal()
        d.write(
            "exports.csv",
            """
            firm_id,period_start,market,export_usd_k
            124-81-00998,2016-01-04,US,10
            124-81-00998,2016-12-19,VN,10
            101-81-09147,2016-01-04,US,10
            124-81-00998,2017-01-02,US,10
            124-81-00998,2015-12-28,US,10
            124-81-00998,2016-01-05,US,10
            124-81-00998,2016-02-30,US,10
            124-81-00998,2016-01-18,ZZ,10
            124-81-00998,2016-01-18,US,-1

            """)
        let (ds, rej, _) = d.load()
        #expect(ds.exports.map(\.period) == [0, 25])
        #expect(
            reasons(rej, "exports.csv") == [
                "4: firm_id: unknown firm 101-81-09147 (not an accepted row of firms.csv)",
                "5: period_start: 2017-01-02 is outside the program year (2016-01-04 to 2017-01-01)",
                "6: period_start: 2015-12-28 is outside the program year (2016-01-04 to 2017-01-01)",
                "7: period_start: 2016-01-05 is not the start of a two-week period (its period starts 2016-01-04)",
                "8: period_start: '2016-02-30' is not a date (YYYY-MM-DD)",
                "9: market: unknown market 'ZZ' (did you mean KZ?)",
                "10: export_usd_k: is negative (-1)",
            ])
    }

    @Test func preferenceFilesRejectUnknownIdsDuplicateRanksAndGaps() {
        let d = ScratchDir()
        d.minimal(firms: [
            "124-81-00998,A,SEOUL,SMALL,ELECTRONICS,COMPONENTS,1000,200,100",
            "220-81-62517,B,SEOUL,SMALL,ELECTRONICS,COMPONENTS,1000,200,100",
            "101-81-09147,C,SEOUL,SMALL,MACHINERY,COMPONENTS,1000,200,100",
        ])
        d.write(
            "trading_companies.csv",
            "company_id,name,desks,markets,channels,success_rate\nTC1,One,ELECTRONICS:5,US,,0.5\nTC2,Two,ELECTRONICS:5,US,,0.5\nTC3,Three,ELECTRONICS:5;MACHINERY:2,US,,0.5\n"
        )
        d.write(
            "applications.csv",
            """
            firm_id,company_id,rank
            124-81-00998,TC1,1
            124-81-00998,TC2,2
            124-81-00998,TC3,4
            220-81-62517,TC1,1
            220-81-62517,TC2,1
            220-81-62517,TC9,2
            101-81-09147,TC1,1
            124-81-00998,TC1,3

            """)
        d.write(
            "desk_rankings.csv",
            """
            company_id,industry,firm_id,rank
            TC1,ELECTRONICS,124-81-00998,1
            TC1,ELECTRONICS,220-81-62517,3
            TC1,MACHINERY,101-81-09147,1
            TC3,MACHINERY,124-81-00998,1
            TC3,MACHINERY,101-81-09147,1

            """)
        let (ds, rej, reader) = d.load()
        #expect(
            reasons(rej, "applications.csv") == [
                "4: rank: rank 4 for firm 124-81-00998, but rank 3 is missing",
                "6: rank: duplicate rank 1 for firm 220-81-62517",
                "7: company_id: unknown company TC9",
                "8: company_id: company TC1 has no MACHINERY desk for firm 101-81-09147",
                "9: company_id: duplicate contract: firm 124-81-00998 names company TC1 twice without a target market (first on line 2)",
            ])
        #expect(ds.applications.count == 3)
        #expect(
            reasons(rej, "desk_rankings.csv") == [
                "3: rank: rank 3 for desk TC1/ELECTRONICS, but rank 2 is missing",
                "4: industry: company TC1 has no MACHINERY desk",
                "5: firm_id: firm 124-81-00998 is in ELECTRONICS, not MACHINERY",
            ])
        #expect(ds.deskRankings.count == 2)
        for f in [DatasetFile.applications, .deskRankings] {
            let r = reader.report(f)!
            #expect(r.accepted + r.rejected == r.rowsRead)
        }
    }

    @Test func applicationsNameContractsWithTargetMarketsTheCompanyCovers() throws {
        let d = ScratchDir()
        d.minimal(firms: [
            "124-81-00998,A,SEOUL,SMALL,ELECTRONICS,COMPONENTS,1000,200,100",
            "220-81-62517,B,SEOUL,SMALL,ELECTRONICS,COMPONENTS,1000,200,100",
            "101-81-09147,C,SEOUL,SMALL,ELECTRONICS,COMPONENTS,1000,200,100",
        ])
        d.write(
            "trading_companies.csv",
            """
            company_id,name,desks,markets,channels,success_rate
            TC1,One,ELECTRONICS:5,US;VN,,0.5
            TC2,Two,ELECTRONICS:5,US;JP;CN,,0.5
            TC3,Three,ELECTRONICS:5,DE;FR;GB;IT;NL;ES;PL;TR;US;CA,,0.5

            """)
        d.write(
            "applications.csv",
            """
            firm_id,company_id,rank,target_market
            124-81-00998,TC1,1,US
            124-81-00998,TC1,2, vn
            124-81-00998,TC2,3,
            124-81-00998,TC1,4,us
            124-81-00998,TC2,4,
            124-81-00998,TC2,4,VN
            124-81-00998,TC2,4,CN
            220-81-62517,TC1,1,VNM
            220-81-62517,TC3,1,VN
            220-81-62517,TC3,2,DE
            220-81-62517,TC3,3,FR
            101-81-09147,TC1,1,
            101-81-09147,TC1,2,US
            101-81-09147,TC2,2,JP

            """)
        let (ds, rej, reader) = d.load()
        #expect(
            reasons(rej, "applications.csv") == [
                "5: company_id: duplicate contract: firm 124-81-00998 offers company TC1 US twice (first on line 2)",
                "6: company_id: duplicate contract: firm 124-81-00998 names company TC2 twice without a target market (first on line 4)",
                "7: target_market: company TC2 does not cover VN (it covers CN, JP, US)",
                "9: target_market: unknown market 'VNM' (did you mean VN?)",
                "10: target_market: company TC3 does not cover VN (it covers CA, DE, ES, FR, GB, IT and 4 more)",
                "11: rank: rank 2 for firm 220-81-62517, but rank 1 is missing",
                "12: rank: rank 3 for firm 220-81-62517, but rank 1 is missing",
                "15: rank: duplicate rank 2 for firm 101-81-09147",
            ])
        let code = { (m: UInt8?) in m.map { ds.markets[$0].code } ?? "-" }
        #expect(
            ds.applications.map { "\($0.firm) \($0.company) \($0.rank) \(code($0.targetMarket))" } == [
                "124-81-00998 TC1 1 US", "124-81-00998 TC1 2 VN", "124-81-00998 TC2 3 -", "124-81-00998 TC2 4 CN",
                "101-81-09147 TC1 1 -", "101-81-09147 TC1 2 US",
            ])
        let r = try #require(reader.report(.applications))
        #expect(r.rowsRead == 14 && r.accepted == 6 && r.rejected == 8)
        #expect(r.accepted + r.rejected == r.rowsRead)
        #expect(r.warnings.isEmpty)
    }

    @Test func csvEdgeCasesBOMCRLFQuotesAndEmbeddedNewlines() {
        let d = ScratchDir()
        d.minimal()
        var bytes: [UInt8] = [0xEF, 0xBB, 0xBF]
        bytes += Array(
            ("firm_id,name,region,size_class,industry,role,revenue_krw_m,export_usd_k,export_usd_k_prev\r\n"
                + "124-81-00998,\"Alpha, \"\"Best\"\" Co\",SEOUL,SMALL,ELECTRONICS,COMPONENTS,1000,200,100\r\n"
                + "220-81-62517,\"Two\nLines\",BUSAN,SMALL,MACHINERY,EQUIPMENT,1,0,0\r\n"
                + "\r\n"
                + "101-81-09147,\"Quote\"after,BUSAN,SMALL,MACHINERY,EQUIPMENT,1,0,0\r\n"
                + "101-10-00001,Last,BUSAN,SMALL,MACHINERY,EQUIPMENT,1,0,0").utf8)
        d.write("firms.csv", bytes)
        let (ds, rej, reader) = d.load()
        #expect(ds.firms.map(\.name) == ["Alpha, \"Best\" Co", "Two\nLines", "Last"])
        // Line numbers count physical lines: the quoted newline moves the next record down.
        #expect(reasons(rej, "firms.csv") == ["6: text after a closing quote"])
        #expect(reader.report(.firms)!.rowsRead == 4)
    }

    @Test func cp949FileWithKoreanNamesIsDetectedAndDecoded() throws {
        let d = ScratchDir()
        d.minimal()
        let text =
            "institution_id,name,kind,region,industries\nI1,한국산학대학교,UNIVERSITY,SEOUL,ELECTRONICS\nI2,부산연구원,RESEARCH,BUSAN,MACHINERY\n"
        d.write("institutions.csv", try cp949(text))
        let (ds, rej, reader) = d.load()
        #expect(rej.isEmpty)
        #expect(ds.institutions.map(\.name) == ["한국산학대학교", "부산연구원"])
        #expect(reader.report(.institutions)!.encoding == "cp949")
        // Forced UTF-8 on a CP949 file: the header is still ASCII, the names are refused.
        let (_, rej2, _) = DatasetReader.load(directory: d.path, encoding: .utf8)
        #expect(rej2.filter { $0.file == "institutions.csv" }.map(\.column) == ["name", "name"])
    }

    @Test func wholeFileProblemsAreClearAndNeverCrash() {
        let d = ScratchDir()
        d.minimal()
        // Binary, empty, header only, missing columns, truncated inside quotes.
        d.write("institutions.csv", [0x00, 0x01, 0x02, 0xFF, 0x00] + Array(repeating: 0x41, count: 100))
        d.write("targets.csv", "")
        d.write("trading_companies.csv", "company_id,name,desks,markets,channels,success_rate\n")
        d.write("exports.csv", "firm_id,market\n124-81-00998,US\n")
        let (_, _, reader) = d.load()
        #expect(reader.report(.institutions)!.problem == "not a text file (it contains NUL bytes)")
        #expect(reader.report(.targets)!.problem == "the file is empty (no header row)")
        #expect(reader.report(.companies)!.problem == "no rows after the header")
        #expect(reader.report(.exports)!.problem == "missing required columns: period_start, export_usd_k")
        #expect(!reader.usable)
        #expect(reader.problems.count == 4)

        let t = ScratchDir()
        t.minimal()
        t.write(
            "firms.csv",
            "firm_id,name,region,size_class,industry,role,revenue_krw_m,export_usd_k,export_usd_k_prev\n124-81-00998,A,SEOUL,SMALL,ELECTRONICS,COMPONENTS,1,0,0\n220-81-62517,\"never closed,SEOUL,SMALL,ELECTRONICS,COMPONENTS,1,0,0\n101-81-09147,C,SEOUL,SMALL,ELECTRONICS,COMPONENTS,1,0,0\n"
        )
        let (ds, rej, r2) = t.load()
        #expect(ds.firms.count == 1)
        #expect(rej.map(\.description) == ["firms.csv:3: line 3: the file ends inside a quoted field"])
        let fr = r2.report(.firms)!
        #expect(fr.rowsRead == 2 && fr.accepted == 1 && fr.rejected == 1)
        #expect(r2.usable)

        let m = ScratchDir()
        #expect(!DatasetReader.load(directory: m.path).reader.usable)
        #expect(DatasetReader.load(directory: m.path).reader.problems.contains("firms.csv: the file is missing"))
    }

    @Test func limitsRejectOverlongLinesAndCellsWithoutStopping() throws {
        let d = ScratchDir()
        d.minimal()
        var text = "firm_id,name,region,size_class,industry,role,revenue_krw_m,export_usd_k,export_usd_k_prev\n"
        text += "124-81-00998,A,SEOUL,SMALL,ELECTRONICS,COMPONENTS,1,0,0\n"
        text +=
            "220-81-62517," + String(repeating: "x", count: 10 * 1024 * 1024)
            + ",SEOUL,SMALL,ELECTRONICS,COMPONENTS,1,0,0\n"
        text +=
            "101-81-09147,\"" + String(repeating: "y", count: 70_000) + "\",SEOUL,SMALL,ELECTRONICS,COMPONENTS,1,0,0\n"
        text += "101-10-00001,D,SEOUL,SMALL,ELECTRONICS,COMPONENTS,1,0,0\n"
        d.write("firms.csv", text)
        let (ds, rej, reader) = d.load()
        #expect(ds.firms.map(\.name) == ["A", "D"])
        #expect(
            rej.map(\.description) == [
                "firms.csv:3: the line is longer than 1048576 bytes", "firms.csv:4: a cell is longer than 65536 bytes",
            ])
        #expect(reader.report(.firms)!.rowsRead == 4)
        var small = CSVLimits()
        small.maxFileBytes = 1000
        let (_, _, r2) = DatasetReader.load(directory: d.path, limits: small)
        #expect(r2.report(.firms)!.problem?.contains("over the limit of 1000") == true)
    }

    @Test func streamingKeepsMemoryFlat() throws {
        // A 24 MB file is read with a buffer of a few hundred KiB.
        let d = ScratchDir()
        let path = d.path + "/big.csv"
        let w = try CSVWriter(path: path)
        try w.row(["a", "b", "c"])
        for i in 0..<400_000 {
            w.field(i)
            w.field("some text, with a comma and \"quotes\"")
            w.field("x")
            try w.endRow()
        }
        try w.flush()
        let reader = try CSVReader(path: path)
        var rows = 0
        while let r = try reader.next() {
            rows += 1
            if rows == 377_777 { #expect(r.string(1) == "some text, with a comma and \"quotes\"") }
        }
        #expect(rows == 400_000)
        #expect(reader.bufferCapacity <= 512 * 1024)
    }

    @Test func configFileKeysDefaultsAndErrors() {
        let d = ScratchDir()
        d.minimal()
        d.write(
            "config.toml",
            """
            # comment
            pool_size = 2_500
            emerging_quota = 0.3   # a third, almost
            program_start = "2016-01-11"
            chunk_size = 0
            consortium_min = 4
            colour = "blue"
            [section]
            pool_size = 7

            """)
        let (ds, rej, reader) = d.load()
        #expect(ds.configuration.poolSize == 2500)
        #expect(ds.configuration.emergingQuotaPermille == 300)
        #expect(ds.configuration.programStart == CivilDate(year: 2016, month: 1, day: 11))
        #expect(ds.configuration.consortiumMin == 4)
        #expect(ds.configuration.chunkSize == ProgramConfiguration().chunkSize)
        #expect(
            rej.map(\.description) == [
                "config.toml:8: tables are not used; write every setting as key = value at the top level",
                "config.toml:9: pool_size: set twice (first on line 2)",
                "config.toml:5: chunk_size: chunk_size must be at least 1",
            ])
        #expect(reader.report(.config)!.warnings == ["line 7: unknown key colour ignored"])
    }

    @Test func reserveRuleAndListCapKeys() {
        let d = ScratchDir()
        d.minimal()
        d.write("config.toml", "emerging_reserve = \"hard\"\npreference_list_length = 12\n")
        var (ds, rej, _) = d.load()
        #expect(rej.isEmpty && ds.configuration.emergingReserve == .hard && ds.configuration.preferenceListLength == 12)
        d.write("config.toml", "emerging_reserve = \"strict\"\npreference_list_length = -1\n")
        (ds, rej, _) = d.load()
        #expect(ds.configuration.emergingReserve == .soft && ds.configuration.preferenceListLength == 0)
        #expect(
            rej.map(\.description) == [
                "config.toml:1: emerging_reserve: '\"strict\"' is not a reserve rule: \"soft\" (a reserved seat no emerging contract claims goes to the best other contract) or \"hard\" (it stays empty)",
                "config.toml:2: preference_list_length: preference_list_length must be 0 (no cap) or a positive number of contracts",
            ])
        // The defaults: soft, no cap.
        #expect(ProgramConfiguration().emergingReserve == .soft && ProgramConfiguration().preferenceListLength == 0)
    }

    @Test func marketsFileReplacesTheBuiltInTable() {
        let d = ScratchDir()
        d.minimal(firms: ["124-81-00998,A,SEOUL,SMALL,ELECTRONICS,COMPONENTS,1000,200,100"])
        let demand = Industry.allCases.map { "demand_" + $0.rawValue.lowercased() }.joined(separator: ",")
        let ones = Industry.allCases.map { _ in "100" }.joined(separator: ",")
        d.write(
            "markets.csv",
            "market,name,bloc,emerging,fta,distance_km,logistics_index,import_growth_pct,\(demand)\nUS,United States,NORTH_AMERICA,N,Y,10500,3.99,3.5,\(ones)\nVN,Vietnam,ASEAN,Y,Y,2750,2.98,12,\(ones)\nXX,Nowhere,MOON,N,N,1,1,1,\(ones)\n"
        )
        let (ds, rej, _) = d.load()
        #expect(ds.markets.codes == ["US", "VN"])
        #expect(ds.markets[1].logisticsIndex == 298 && ds.markets[1].importGrowthPermille == 120)
        #expect(
            rej.map(\.reasonWithColumn) == [
                "bloc: unknown bloc 'MOON' (valid: ASEAN, CIS, EUROPE, GREATER_CHINA, INDIA, JAPAN, LATAM, MENA, NORTH_AMERICA, OCEANIA, OTHER)"
            ])
        #expect(ds.companies.first?.markets.map { ds.markets[$0].code } == ["US", "VN"])
    }
}

/// Text in CP949 bytes (through iconv, as the writer does).
func cp949(_ text: String) throws -> [UInt8] {
    let d = ScratchDir()
    let w = try CSVWriter(path: d.path + "/x", encoding: .cp949)
    w.beginField()
    w.raw(Array(text.utf8))
    try w.flush()
    return Array(FileManager.default.contents(atPath: d.path + "/x")!)
}
