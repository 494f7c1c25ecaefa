import ExportDomain

extension Demo {
    /// The mid-sized tracks' figures from `report.json`'s `midsize_tracks`.
    func summarizeMidsize(_ obj: [String: Any]) {
        guard let t = obj["midsize_tracks"] as? [String: Any], let large = t["large"] as? [String: Any],
            let oriented = t["export_oriented"] as? [String: Any],
            let domestic = t["domestic_oriented"] as? [String: Any]
        else { return }
        func n(_ v: Any?) -> String { v.map { "\($0)" } ?? "-" }
        let reasons = (large["leading_none_by_reason"] as? [String: Any]) ?? [:]
        let none = LargeFirmTrack.Reason.allCases.compactMap { r -> String? in
            guard let k = reasons[r.rawValue] as? Int, k > 0 else { return nil }
            return "\(k) \(r.rawValue)"
        }
        print("Mid-sized tracks:")
        print(
            "  LARGE \(n(large["firms"])): \(n(large["leading_consortia"])) lead a consortium "
                + "(\(n(large["leading_from_outside_the_pool"])) from outside the pool)"
                + (none.isEmpty ? "" : "; leading none: " + none.joined(separator: ", ")))
        print(
            "  EXPORT_ORIENTED \(n(oriented["firms"])): \(n(oriented["with_emerging_target"])) with an emerging-market "
                + "target; emerging share of their exports now \(n(oriented["emerging_share"])); "
                + "\(n(oriented["targets_gate_not_held"])) of \(n(oriented["targets"])) targets need a certification")
        print(
            "  DOMESTIC_ORIENTED \(n(domestic["firms"])): \(n(domestic["with_first_export_market"])) with a first-export "
                + "market, \(n(domestic["with_covering_desk"])) with a desk covering it")
    }
}
