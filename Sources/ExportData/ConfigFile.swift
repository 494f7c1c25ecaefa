import ExportDomain

/// `config.toml`: the subset of TOML a flat configuration needs: `key = value` lines, `#`
/// comments, basic strings, integers (with `_` separators), decimals, booleans and bare dates.
/// Tables and arrays are refused with a clear message. (A full TOML library would add a C++
/// dependency to every build for a file of a dozen keys.)
enum ConfigFile {
    struct Outcome {
        var settings = 0
        var rejections: [Rejection] = []
        var warnings: [String] = []
        /// Keys this program does not know, with their lines.
        var unknownKeys: [(line: Int, key: String)] = []
    }

    static let file = DatasetFile.config.rawValue

    static func parse(_ bytes: [UInt8], into config: inout ProgramConfiguration) -> Outcome {
        var out = Outcome()
        guard let text = String(validating: bytes, as: UTF8.self) else {
            out.rejections.append(Rejection(file: file, line: 1, column: nil, reason: "is not valid UTF-8"))
            out.settings = 1
            return out
        }
        var seen: [String: Int] = [:]
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = n + 1
            let content = stripComment(Substring(raw.hasSuffix("\r") ? raw.dropLast() : raw)).trimmingSpaces()
            if content.isEmpty { continue }
            out.settings += 1
            func reject(_ key: String?, _ reason: String) {
                out.rejections.append(Rejection(file: file, line: line, column: key, reason: reason))
            }
            if content.hasPrefix("[") {
                reject(nil, "tables are not used; write every setting as key = value at the top level")
                continue
            }
            guard let eq = content.firstIndex(of: "=") else {
                reject(nil, "expected key = value")
                continue
            }
            let key = String(content[..<eq]).trimmingSpaces().lowercased()
            let value = String(content[content.index(after: eq)...]).trimmingSpaces()
            if let first = seen[key] {
                reject(key, "set twice (first on line \(first))")
                continue
            }
            seen[key] = line
            if let problem = apply(key: key, value: value, to: &config) {
                if problem == unknownKey {
                    out.settings -= 1
                    out.warnings.append("line \(line): unknown key \(key) ignored")
                    out.unknownKeys.append((line, key))
                } else {
                    reject(key, problem)
                }
            }
        }
        let problems = config.validate()
        for p in problems {
            let key = String(p.prefix(while: { $0 != " " }))
            out.rejections.append(Rejection(file: file, line: seen[key] ?? 1, column: key, reason: p))
        }
        if !problems.isEmpty {
            // Out-of-range values fall back to their defaults, key by key.
            let defaults = ProgramConfiguration()
            var fixed = config
            for p in problems {
                switch String(p.prefix(while: { $0 != " " })) {
                case "pool_size": fixed.poolSize = defaults.poolSize
                case "emerging_quota": fixed.emergingQuotaPermille = defaults.emergingQuotaPermille
                case "preference_list_length": fixed.preferenceListLength = defaults.preferenceListLength
                case "consortium_min", "consortium_max":
                    fixed.consortiumMin = defaults.consortiumMin
                    fixed.consortiumMax = defaults.consortiumMax
                case "consortium_max_institutions": fixed.consortiumMaxInstitutions = defaults.consortiumMaxInstitutions
                case "consortium_emerging_tie":
                    fixed.consortiumEmergingTiePermille = defaults.consortiumEmergingTiePermille
                case "consortium_emerging_share":
                    fixed.consortiumEmergingSharePermille = defaults.consortiumEmergingSharePermille
                case "fx_krw_per_usd": fixed.fxKRWPerUSD = defaults.fxKRWPerUSD
                case "export_oriented_threshold":
                    fixed.exportOrientedThresholdPermille = defaults.exportOrientedThresholdPermille
                case "rnd_priority_floor": fixed.rndPriorityFloor = defaults.rndPriorityFloor
                case "rnd_selection_band": fixed.rndSelectionBand = defaults.rndSelectionBand
                case "excellent_store_places": fixed.excellentStorePlaces = defaults.excellentStorePlaces
                case "national_goal_usd_k": fixed.nationalGoalUSDk = defaults.nationalGoalUSDk
                case "chunk_size": fixed.chunkSize = defaults.chunkSize
                case "top_markets": fixed.topMarkets = defaults.topMarkets
                case "mid_size_large_krw_m": fixed.midSizeLargeKRWm = defaults.midSizeLargeKRWm
                default: break
                }
            }
            config = fixed
        }
        return out
    }

    static let unknownKey = "unknown key"

    /// Sets one key; returns a problem, or nil.
    static func apply(key: String, value: String, to c: inout ProgramConfiguration) -> String? {
        func int(_ set: (Int) -> Void) -> String? {
            guard let v = Int(value.filter { $0 != "_" }) else { return "'\(value)' is not an integer" }
            set(v)
            return nil
        }
        func permille(_ set: (Int) -> Void) -> String? {
            let bytes = Array(value.utf8)
            let parsed: Int? = bytes.withUnsafeBufferPointer { parsePermille($0) }
            guard let p = parsed else { return "'\(value)' is not a decimal between 0 and 1 with at most 3 decimals" }
            set(p)
            return nil
        }
        switch key {
        case "pool_size": return int { c.poolSize = $0 }
        case "emerging_quota": return permille { c.emergingQuotaPermille = $0 }
        case "preference_list_length": return int { c.preferenceListLength = $0 }
        case "consortium_min": return int { c.consortiumMin = $0 }
        case "consortium_max": return int { c.consortiumMax = $0 }
        case "consortium_max_institutions": return int { c.consortiumMaxInstitutions = $0 }
        case "consortium_emerging_tie": return permille { c.consortiumEmergingTiePermille = $0 }
        case "consortium_emerging_share": return permille { c.consortiumEmergingSharePermille = $0 }
        case "fx_krw_per_usd": return int { c.fxKRWPerUSD = $0 }
        case "export_oriented_threshold": return permille { c.exportOrientedThresholdPermille = $0 }
        case "rnd_priority_floor": return int { c.rndPriorityFloor = $0 }
        case "rnd_selection_band": return int { c.rndSelectionBand = $0 }
        case "national_goal_usd_k": return int { c.nationalGoalUSDk = Int64($0) }
        case "chunk_size": return int { c.chunkSize = $0 }
        case "top_markets": return int { c.topMarkets = $0 }
        case "program_year": return int { c.programYear = $0 }
        case "mid_size_large_krw_m": return int { c.midSizeLargeKRWm = Int64($0) }
        case "excellent_store_places": return int { c.excellentStorePlaces = $0 }
        case "emerging_reserve":
            var v = value
            if v.hasPrefix("\"") && v.hasSuffix("\"") && v.count >= 2 { v = String(v.dropFirst().dropLast()) }
            guard let rule = EmergingReserveRule(rawValue: v) else {
                return "'\(value)' is not a reserve rule: \"soft\" (a reserved seat no emerging contract claims "
                    + "goes to the best other contract) or \"hard\" (it stays empty)"
            }
            c.emergingReserve = rule
            return nil
        case "program_start":
            var v = value
            if v.hasPrefix("\"") && v.hasSuffix("\"") && v.count >= 2 { v = String(v.dropFirst().dropLast()) }
            guard let d = CivilDate(iso: v) else { return "'\(value)' is not a date (YYYY-MM-DD)" }
            c.programStart = d
            return nil
        default:
            return unknownKey
        }
    }

    /// The line without a `#` comment (a `#` inside a basic string is kept).
    static func stripComment(_ s: Substring) -> String {
        var inString = false
        var escaped = false
        var out = ""
        for ch in s {
            if inString {
                if escaped {
                    escaped = false
                } else if ch == "\\" {
                    escaped = true
                } else if ch == "\"" {
                    inString = false
                }
            } else if ch == "\"" {
                inString = true
            } else if ch == "#" {
                break
            }
            out.append(ch)
        }
        return out
    }
}
