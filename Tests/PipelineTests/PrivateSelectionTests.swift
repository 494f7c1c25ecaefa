import ExportDomain
import Foundation
import TestSupport
import Testing

/// Private selection end to end: both sides' own lists, contract by contract, through submit,
/// the workers and the collector, into report.json; the outcome worked out by hand from the
/// rules in docs/MATCHING.md.
@Suite("Private selection, end to end", .serialized)
struct PrivateSelectionTests {
    /// Five cosmetics firms A to E (ids in that order) and three desks:
    ///
    /// - TC1: 2 seats, covers CN, VN, US; TC2: 1 seat, covers JP, ID; TC3: 1 seat, covers US.
    ///   Seats 4, R = ceil(0.25 x 4) = 1, spread over TC1 and TC2 (3 emerging-covering seats) by
    ///   largest remainder: TC1 (remainder 2/3) takes it.
    /// - A: TC1 for CN, TC1 for VN, TC3 for US. B: TC1 for CN, TC2 for JP. C: TC1 for VN.
    ///   D: TC2 for ID, TC1 for CN. E: TC3 without a market (its only covered market, US).
    /// - TC1 ranks B, A, D, C; TC2 ranks D, B; TC3 ranks E, A.
    ///
    /// Soft reserve: TC1 first holds C (VN, reserved slot) and B (CN); A then offers VN and, ranked
    /// above C, takes the reserved slot. Outcome A-TC1 VN, B-TC1 CN, D-TC2 ID, E-TC3 US; C
    /// unmatched. With no quota TC1 holds B and A on CN.
    static let firms = (0..<5).map { BusinessNumber.completing(UInt64(220_81_6000 + 7 * $0)) }

    static func write(_ dir: String, shuffled: Bool, seed: UInt64 = 1) throws {
        var rng = SeededRandom(seed: seed)
        func lines(_ header: String, _ rows: [String]) -> String {
            var r = rows
            if shuffled { for i in stride(from: r.count - 1, to: 0, by: -1) { r.swapAt(i, rng.below(i + 1)) } }
            return ([header] + r).joined(separator: "\n") + "\n"
        }
        let (a, b, c, d, e) = (firms[0], firms[1], firms[2], firms[3], firms[4])
        let files = [
            "firms.csv": lines(
                "firm_id,name,region,size_class,industry,role,revenue_krw_m,export_usd_k,export_usd_k_prev,recommended_by,export_markets",
                firms.enumerated().map { i, id in
                    "\(id),Firm \(i),SEOUL,SMALL,COSMETICS_BEAUTY,FINISHED_GOODS,\(3_000 + 500 * i),\(200 + 50 * i),150,ASSOCIATION,CN:\(100 + 10 * i)"
                }),
            "trading_companies.csv": lines(
                "company_id,name,desks,markets,channels,success_rate",
                [
                    "TC1,One,COSMETICS_BEAUTY:2,CN;VN;US,,0.5", "TC2,Two,COSMETICS_BEAUTY:1,JP;ID,,0.6",
                    "TC3,Three,COSMETICS_BEAUTY:1,US,,0.4",
                ]),
            "institutions.csv": lines(
                "institution_id,name,kind,region,industries", ["I1,Uni,UNIVERSITY,SEOUL,COSMETICS_BEAUTY"]),
            "targets.csv": lines(
                "region,year,target_exporting_firms,target_avg_export_usd_k", ["SEOUL,2016,5,300"]),
            "applications.csv": lines(
                "firm_id,company_id,rank,target_market",
                [
                    "\(a),TC1,1,CN", "\(a),TC1,2,VN", "\(a),TC3,3,US", "\(b),TC1,1,CN", "\(b),TC2,2,JP",
                    "\(c),TC1,1,VN", "\(d),TC2,1,ID", "\(d),TC1,2,CN", "\(e),TC3,1,",
                ]),
            "desk_rankings.csv": lines(
                "company_id,industry,firm_id,rank",
                [
                    "TC1,COSMETICS_BEAUTY,\(b),1", "TC1,COSMETICS_BEAUTY,\(a),2", "TC1,COSMETICS_BEAUTY,\(d),3",
                    "TC1,COSMETICS_BEAUTY,\(c),4", "TC2,COSMETICS_BEAUTY,\(d),1", "TC2,COSMETICS_BEAUTY,\(b),2",
                    "TC3,COSMETICS_BEAUTY,\(e),1", "TC3,COSMETICS_BEAUTY,\(a),2",
                ]),
        ]
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for (name, text) in files {
            try Data(text.utf8).write(to: URL(fileURLWithPath: dir + "/" + name))
        }
    }

    /// A JSON value as text.
    func t(_ v: Any?) -> String { v.map { "\($0)" } ?? "nil" }
    /// A JSON boolean as true/false.
    func flag(_ v: Any?) -> String { (v as? Bool).map { $0 ? "true" : "false" } ?? "not a boolean" }

    func json(_ bytes: [UInt8]?) throws -> [String: Any] {
        let data = Data(try #require(bytes))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test func ownListsGiveTheOutcomeWorkedOutByHand() async throws {
        let f = try PipelineFixture()
        let data = f.dir + "/hand"
        try Self.write(data, shuffled: false)
        let files = try await f.cleanRun(data, run: "hand", workers: 1)
        let r = try json(files["report.json"])
        let (a, b, d, e) = (Self.firms[0], Self.firms[1], Self.firms[3], Self.firms[4])
        let matches = (r["matches"] as? [[String: Any]] ?? []).map { (x: [String: Any]) -> String in
            "\(t(x["firm_id"])) \(t(x["company_id"])) \(t(x["target_market"])) \(flag(x["emerging"])) \(t(x["firm_choice"]))"
        }
        #expect(
            matches == [
                "\(a) TC1 VN true 2", "\(b) TC1 CN false 1", "\(d) TC2 ID true 1", "\(e) TC3 US false 1",
            ])
        let desks = (r["desks"] as? [[String: Any]] ?? []).map { (x: [String: Any]) -> String in
            "\(t(x["company_id"])) cap \(t(x["capacity"])) res \(t(x["reserved"])) matched \(t(x["matched"]))/\(t(x["emerging_matched"])) applied \(t(x["applicants"]))/\(t(x["emerging_applicants"])) own \(flag(x["own_ranking"]))"
        }
        #expect(
            desks == [
                "TC1 cap 2 res 1 matched 2/1 applied 3/2 own true", "TC2 cap 1 res 0 matched 1/1 applied 1/1 own true",
                "TC3 cap 1 res 0 matched 1/0 applied 1/0 own true",
            ])
        let m = try #require(r["matching"] as? [String: Any])
        #expect(m["firms_with_own_lists"] as? Int == 5 && m["desks_with_own_rankings"] as? Int == 3)
        #expect(m["seats"] as? Int == 4 && m["empty_seats"] as? Int == 0)
        let tradeOff = (m["quota_trade_off"] as? [[String: Any]] ?? []).map { (x: [String: Any]) -> String in
            "\(t(x["rule"])) \(t(x["matched"])) \(t(x["emerging_matched"])) \(flag(x["configured"])) \(t(x["median_choice"]))"
        }
        #expect(tradeOff == ["no_quota 4 1 false 1.0", "soft 4 2 true 1.0", "hard 4 2 false 1.0"])
        let markets = try #require(r["markets"] as? [String: Any])
        #expect("\(markets["emerging_share_of_matches"]!)" == "0.5")
        // C was turned away everywhere and is listed with a reason.
        let unplaced = (r["unplaced"] as? [[String: Any]] ?? []).map { "\($0["firm_id"]!)" }
        #expect(unplaced == ["\(Self.firms[2])"])
        let desksCSV = String(decoding: try #require(files["desks.csv"]), as: UTF8.self)
        #expect(desksCSV.hasPrefix("company_id,industry,capacity,reserved,matched,emerging_matched,applicants,"))
    }

    @Test func shuffledRowsGiveTheSameReport() async throws {
        var reports: [String] = []
        for (i, shuffled) in [false, true, true].enumerated() {
            let f = try PipelineFixture()
            let data = f.dir + "/hand-\(i)"
            try Self.write(data, shuffled: shuffled, seed: UInt64(i))
            let files = try await f.cleanRun(data, run: "hand", workers: 2)
            // The digest is over the files' bytes, which the shuffle changes; everything else
            // must be the same bytes.
            let text = String(decoding: try #require(files["report.json"]), as: UTF8.self)
            reports.append(
                text.split(separator: "\n").filter { !$0.contains("\"dataset_digest\"") }.joined(separator: "\n"))
        }
        #expect(reports[0].contains("\"matches\""))
        #expect(reports[1] == reports[0] && reports[2] == reports[0])
    }
}
