import ExportData
import ExportDomain
import Foundation
import Testing

extension PipelineTests {
    /// The mid-sized tracks of a report against the rest of it and against the dataset as a run
    /// reads it: each track lists exactly its group's firms; a LARGE firm shown leading a
    /// consortium is that consortium's leader in `consortia` and every consortium a LARGE firm
    /// leads is shown on its row; each reason for leading none holds; every target is an emerging
    /// market with untapped potential, every first-export market one the firm has not exported
    /// to, and every desk listed covers its market with a desk in the firm's industry, best first.
    func reconcileMidsize(_ r: [String: Any], data: String) throws {
        let (ds, _, _) = DatasetReader.load(directory: data)
        let c = ds.configuration
        let firms = Dictionary(uniqueKeysWithValues: ds.firms.map { ($0.id.description, $0) })
        let companies = Dictionary(uniqueKeysWithValues: ds.companies.map { ($0.id, $0) })
        let groups = r["midsize_groups"] as! [String: Int]
        let tracks = r["midsize_tracks"] as! [String: [String: Any]]
        func list(_ track: String) -> [[String: Any]] { tracks[track]!["list"] as! [[String: Any]] }
        for (track, group) in [
            ("large", MidsizeGroup.LARGE), ("export_oriented", .EXPORT_ORIENTED),
            ("domestic_oriented", .DOMESTIC_ORIENTED),
        ] {
            let rows = list(track)
            #expect(tracks[track]!["firms"] as? Int == groups[group.rawValue], "\(track) firms")
            #expect(rows.count == groups[group.rawValue], "\(track) rows")
            let ids = rows.map { $0["firm_id"] as! String }
            #expect(ids == ids.sorted() && Set(ids).count == ids.count, "\(track) by firm id")
            for row in rows {
                let f = try #require(firms[row["firm_id"] as! String])
                #expect(MidsizeGroup(f, configuration: c) == group, "\(f.id) in \(track)")
                #expect(
                    row["industry"] as? String == f.industry.rawValue && row["region"] as? String == f.region.rawValue)
            }
            #expect(ds.firms.filter { MidsizeGroup($0, configuration: c) == group }.count == rows.count)
        }

        // LARGE firms and the consortia.
        let consortia = r["consortia"] as! [[String: Any]]
        let byID = Dictionary(uniqueKeysWithValues: consortia.map { ($0["consortium_id"] as! String, $0) })
        let matched = Set((r["matches"] as! [[String: Any]]).map { $0["firm_id"] as! String })
        let unplaced = Set((r["unplaced"] as! [[String: Any]]).map { $0["firm_id"] as! String })
        let pool = Set((r["pool"] as! [[String: Any]]).map { $0["firm_id"] as! String })
        let unmatched = Dictionary(
            uniqueKeysWithValues: (r["consortia_by_industry"] as! [[String: Any]]).map {
                ($0["industry"] as! String, $0["unmatched_pool_firms"] as! Int)
            })
        let large = list("large")
        var leading = 0
        for row in large {
            let id = row["firm_id"] as! String
            #expect(row["in_pool"] as? Bool == pool.contains(id))
            let inAny = consortia.filter { ($0["members"] as! [String]).contains(id) }
            if let k = row["consortium_id"] as? String {
                leading += 1
                let consortium = try #require(byID[k], "\(id) leads unknown \(k)")
                #expect(consortium["leader"] as? String == id, "\(id) shown leading \(k)")
                #expect(consortium["target_market"] as? String == row["target_market"] as? String)
                #expect((consortium["members"] as! [String]).count == row["members"] as? Int)
                #expect(row["reason"] is NSNull)
                continue
            }
            let reason = try #require(row["reason"] as? String, "\(id): neither a consortium nor a reason")
            #expect(!inAny.contains { $0["leader"] as? String == id }, "\(id) leads a consortium not shown")
            switch reason {
            case "member_of_another_consortium": #expect(inAny.count == 1, "\(id)")
            case "matched": #expect(matched.contains(id), "\(id)")
            case "unplaced": #expect(unplaced.contains(id), "\(id)")
            case "too_few_unmatched_pool_firms":
                #expect(!pool.contains(id) && unmatched[row["industry"] as! String]! < c.consortiumMin - 1, "\(id)")
            default:
                #expect(["outside_leader_cut", "beyond_leaders_needed", "not_used_by_search"].contains(reason))
                #expect(!pool.contains(id) && inAny.isEmpty, "\(id)")
            }
        }
        let largeIDs = Set(large.map { $0["firm_id"] as! String })
        let ledByLarge = consortia.filter { largeIDs.contains($0["leader"] as! String) }
        for k in ledByLarge {
            let row = large.first { $0["firm_id"] as? String == k["leader"] as? String }!
            #expect(row["consortium_id"] as? String == k["consortium_id"] as? String)
        }
        #expect(ledByLarge.count == leading && tracks["large"]!["leading_consortia"] as? Int == leading)

        // EXPORT_ORIENTED targets and DOMESTIC_ORIENTED first-export markets with their desks.
        for row in list("export_oriented") {
            let targets = row["targets"] as! [[String: Any]]
            #expect(targets.count <= c.topMarkets)
            let untapped = targets.map { $0["untapped_usd_k"] as! Int }
            #expect(untapped == untapped.sorted(by: >) && untapped.allSatisfy { $0 > 0 })
            for t in targets {
                let m = try #require(ds.markets.index(of: t["market"] as! String))
                #expect(ds.markets[m].emerging, "\(row["firm_id"]!) target \(t["market"]!)")
            }
        }
        var withDesk = 0
        for row in list("domestic_oriented") {
            let f = firms[row["firm_id"] as! String]!
            let thisYear = Set(ds.exports.filter { $0.firm == f.id && $0.usdK > 0 }.map(\.market))
            var covered = false
            for m in row["markets"] as! [[String: Any]] {
                let market = try #require(ds.markets.index(of: m["market"] as! String))
                #expect(f.exports(to: market) == 0 && !thisYear.contains(market), "\(f.id) exports to \(market)")
                let desks = m["desks"] as! [[String: Any]]
                #expect(desks.count <= MidsizeTracks.desksPerMarket)
                var previous: (Int, String)?
                for d in desks {
                    let co = try #require(companies[d["company_id"] as! String])
                    #expect(co.desks.contains { $0.industry == f.industry }, "\(co.id) has no \(f.industry) desk")
                    #expect(co.markets.isEmpty || co.markets.contains(market), "\(co.id) does not cover \(market)")
                    if let p = previous {
                        #expect(p.0 > co.successRatePermille || (p.0 == co.successRatePermille && p.1 < co.id))
                    }
                    previous = (co.successRatePermille, co.id)
                }
                if !desks.isEmpty { covered = true }
            }
            if covered { withDesk += 1 }
        }
        #expect(tracks["domestic_oriented"]!["with_covering_desk"] as? Int == withDesk)
    }

    /// The test nation reaches the outcomes `reconcileMidsize` checks: LARGE firms leading
    /// consortia and first-export markets with desks. (The generator makes few EXPORT_ORIENTED
    /// firms, a handful per 20,000; the domain tests cover their targets.)
    func midsizeTracksReachTheirOutcomes(_ json: [UInt8]) throws {
        let r = try JSONSerialization.jsonObject(with: Data(json)) as! [String: Any]
        let t = r["midsize_tracks"] as! [String: [String: Any]]
        #expect((t["large"]!["leading_consortia"] as! Int) > 0)
        #expect((t["domestic_oriented"]!["with_covering_desk"] as! Int) > 0)
    }
}
