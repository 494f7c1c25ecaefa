import ExportData
import ExportDomain
import ExportServices
import ProcessSupport

#if canImport(Glibc)
    import Glibc
#endif

/// `exportctl bench match`: private selection for every ecosystem of a generated nation's pool,
/// on one core: the contracts, the cumulative offer process under the configured rule, the two
/// comparison solves (no quota, the other reserve rule), and the whole per-ecosystem computation
/// (with consortia, channels and the new-export-source track); the program's goals on that
/// nation; and the quota-off matching next to the `matching` Python package's resident-optimal
/// solver on the same lists (one contract per firm and desk), pair for pair.
public struct MatchBenchmark {
    public var firms: Int
    public var directory: String
    public var repeats: Int
    public var python: String?
    /// Leave both sides' own lists out: every list computed, uncapped (the heaviest case).
    public var computedOnly: Bool

    public init(firms: Int, directory: String, repeats: Int = 3, python: String? = nil, computedOnly: Bool = false) {
        self.firms = firms
        self.directory = directory
        self.repeats = repeats
        self.python = python
        self.computedOnly = computedOnly
    }

    public struct Figures: Sendable {
        public var pool = 0
        public var ecosystems = 0
        public var desks = 0
        public var seats = 0
        public var contracts = 0
        public var offers = 0
        public var firmsWithOwnLists = 0
        public var desksWithOwnRankings = 0
        public var matched = 0
        public var emergingMatched = 0
        public var quotaPermille = 0
        public var rule = EmergingReserveRule.soft
        public var reserved = 0
        public var unfilled: [DeskReport.UnfilledReason: Int] = [:]
        public var variants: [MatchingVariant] = []
        public var consortia = 0
        public var channels = 0
        /// Best of the repeats, seconds.
        public var preferencesSeconds = Double.infinity
        public var configuredSeconds = Double.infinity
        public var comparisonSeconds = Double.infinity
        public var wholeSeconds = Double.infinity
        public var oursQuotaOffSeconds = Double.infinity
        public var pythonCreateSeconds: Double?
        public var pythonSolveSeconds: Double?
        public var pythonAgrees: Bool?
        public var pythonPairs = 0
        public var pythonProblem: String?

        /// The seats-filled goal's base: min(seats, pool).
        public var fillBase: Int { min(seats, pool) }
    }

    public func run() throws -> Figures {
        if access(directory + "/firms.csv", F_OK) != 0 {
            _ = try NationGenerator(firms: firms, seed: 2016).write(to: directory)
        }
        let (ds, _, reader) = DatasetReader.load(directory: directory)
        guard reader.usable else { throw BenchError(reader.problems.joined(separator: "; ")) }
        let config = ds.configuration
        let evaluator = Evaluator(markets: ds.markets, configuration: config)
        var results: [ChunkResult] = []
        for start in stride(from: 0, to: ds.firms.count, by: config.chunkSize) {
            results.append(
                evaluator.evaluate(Array(ds.firms[start..<min(start + config.chunkSize, ds.firms.count)]), records: []))
        }
        let national = ChunkResult.merge(results, poolSize: config.poolSize)
        let tables = RunTables(
            configuration: config, markets: ds.markets, companies: ds.companies, institutions: ds.institutions,
            targets: ds.targets, applications: computedOnly ? [] : ds.applications,
            deskRankings: computedOnly ? [] : ds.deskRankings)
        let inputs = RunHandlers.ecosystemInputs(national: national, tables: tables)
        let engine = EcosystemEngine(markets: ds.markets, configuration: config)
        var f = Figures()
        f.pool = national.pool.count
        f.ecosystems = inputs.count
        f.quotaPermille = config.emergingQuotaPermille
        f.rule = config.emergingReserve

        var off: [(ContractProblem, MatchingOutcome)] = []
        for _ in 0..<repeats {
            var t = monotonic()
            let prefs = inputs.map { engine.preferences($0) }
            let problems = prefs.map { engine.lists($0) }
            f.preferencesSeconds = min(f.preferencesSeconds, monotonic() - t)
            t = monotonic()
            for p in problems { _ = CumulativeOffers.solve(p, rule: config.emergingReserve) }
            f.configuredSeconds = min(f.configuredSeconds, monotonic() - t)
            t = monotonic()
            for p in problems {
                _ = CumulativeOffers.solve(p.withoutReserves, rule: .soft)
                _ = CumulativeOffers.solve(p, rule: config.emergingReserve == .soft ? .hard : .soft)
            }
            f.comparisonSeconds = min(f.comparisonSeconds, monotonic() - t)
            off = problems.map { p in
                let q = p.withoutReserves.firstContractPerDesk
                return (q, CumulativeOffers.solve(q, rule: .soft))
            }
            t = monotonic()
            for (q, _) in off { _ = CumulativeOffers.solve(q, rule: .soft) }
            f.oursQuotaOffSeconds = min(f.oursQuotaOffSeconds, monotonic() - t)

            t = monotonic()
            let whole = inputs.map { engine.run($0) }
            f.wholeSeconds = min(f.wholeSeconds, monotonic() - t)
            f.record(whole)
        }
        try comparePython(off, &f)
        return f
    }

    /// Writes the quota-off lists for the Python package, runs it, and checks that both give the
    /// same matching.
    func comparePython(_ instances: [(ContractProblem, MatchingOutcome)], _ f: inout Figures) throws {
        guard let python = python ?? findExecutable("python3") else {
            f.pythonProblem = "python3 not found"
            return
        }
        // Firms "e.f" list desks "e.d" (e = ecosystem); desks list the firms that list them, in
        // the desk's order.
        var residents: [String] = []
        var hospitals: [String] = []
        var capacities: [String] = []
        var ours: [String] = []
        for (e, (p, o)) in instances.enumerated() {
            var byDesk = [[(Int32, Int)]](repeating: [], count: p.deskCount)
            for firm in 0..<p.firmCount {
                let l = p.list(firm)
                guard !l.isEmpty else { continue }
                residents.append("\"\(e).\(firm)\":[" + l.map { "\"\(e).\($0.desk)\"" }.joined(separator: ",") + "]")
                for c in l { byDesk[Int(c.desk)].append((c.deskRank, firm)) }
                if let d = o.desk(of: firm, in: p) { ours.append("\(e).\(firm) \(e).\(d)") }
            }
            for d in 0..<p.deskCount where !byDesk[d].isEmpty {
                let order = byDesk[d].sorted { $0.0 < $1.0 }.map { "\"\(e).\($0.1)\"" }
                hospitals.append("\"\(e).\(d)\":[" + order.joined(separator: ",") + "]")
                capacities.append("\"\(e).\(d)\":\(p.capacities[d])")
            }
        }
        let json =
            "{\"residents\":{" + residents.joined(separator: ",") + "},\"hospitals\":{"
            + hospitals.joined(separator: ",")
            + "},\"capacities\":{" + capacities.joined(separator: ",") + "}}"
        let input = directory + "/.hr-instance.json"
        let output = directory + "/.hr-output"
        try writeText(input, json)
        unlink(output)
        let p: ChildProcess
        do {
            p = try ChildProcess(
                executable: python, arguments: ["-c", Self.pythonReference, input], stdoutPath: output,
                stderrPath: directory + "/.hr-stderr")
        } catch {
            f.pythonProblem = "\(error)"
            return
        }
        let status = p.wait()
        guard status == 0, let text = try? readText(output) else {
            let err = (try? readText(directory + "/.hr-stderr")) ?? ""
            f.pythonProblem =
                err.contains("No module named 'matching'")
                ? "the Python package is missing from \(python): pip install matching==1.4.3 (ops/test makes .venv with it)"
                : "python exited \(status)"
            return
        }
        var lines = text.split(separator: "\n").map(String.init)
        guard lines.count >= 1 else { return }
        let times = lines.removeFirst().split(separator: " ")
        f.pythonCreateSeconds = Double(times.first ?? "")
        f.pythonSolveSeconds = Double(times.dropFirst().first ?? "")
        f.pythonAgrees = lines.sorted() == ours.sorted()
        f.pythonPairs = ours.count
    }

    static let pythonReference = """
        import json, sys, time
        from matching.games import HospitalResident
        d = json.load(open(sys.argv[1]))
        t = time.perf_counter()
        game = HospitalResident.create_from_dictionaries(d["residents"], d["hospitals"], d["capacities"])
        t1 = time.perf_counter()
        m = game.solve(optimal="resident")
        t2 = time.perf_counter()
        print(t1 - t, t2 - t1)
        for h, rs in m.items():
            for r in rs:
                print(f"{r.name} {h.name}")
        """
}

extension MatchBenchmark.Figures {
    /// The national figures of one run over every ecosystem.
    mutating func record(_ results: [EcosystemResult]) {
        let desks = results.flatMap(\.desks)
        self.desks = desks.count
        seats = desks.reduce(0) { $0 + $1.capacity }
        reserved = desks.reduce(0) { $0 + $1.reserved }
        contracts = results.reduce(0) { $0 + $1.contracts }
        offers = results.reduce(0) { $0 + $1.offers }
        firmsWithOwnLists = results.reduce(0) { $0 + $1.firmsWithApplications }
        desksWithOwnRankings = results.reduce(0) { $0 + $1.desksWithRankings }
        matched = results.reduce(0) { $0 + $1.matches.count }
        emergingMatched = results.reduce(0) { $0 + $1.matches.filter(\.emerging).count }
        unfilled = [:]
        for d in desks { if let r = d.unfilledReason { unfilled[r, default: 0] += 1 } }
        variants = MatchingVariant.national(results)
        consortia = results.reduce(0) { $0 + $1.consortia.count }
        channels = results.reduce(0) { $0 + $1.channels.count }
    }
}

func writeText(_ path: String, _ text: String) throws {
    guard let fp = fopen(path, "w") else { throw BenchError("cannot write \(path)") }
    defer { fclose(fp) }
    _ = text.utf8CString.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count - 1, fp) }
}
