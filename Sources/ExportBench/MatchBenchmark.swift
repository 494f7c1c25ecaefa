import ExportData
import ExportDomain
import ProcessSupport

#if canImport(Glibc)
    import Glibc
#endif

/// `exportctl bench match`: preferences, matching with reserves, consortia and channels for
/// every ecosystem of a generated nation's pool, on one core; and the matching alone next to
/// the `matching` Python package's resident-optimal solver on the same instance (quota off).
public struct MatchBenchmark {
    public var firms: Int
    public var directory: String
    public var repeats: Int

    public init(firms: Int, directory: String, repeats: Int = 3) {
        self.firms = firms
        self.directory = directory
        self.repeats = repeats
    }

    public struct Figures: Sendable {
        public var pool = 0
        public var ecosystems = 0
        public var companies = 0
        public var desks = 0
        public var seats = 0
        public var pairs = 0
        public var matched = 0
        public var emergingMatched = 0
        public var consortia = 0
        public var channels = 0
        /// Best of the repeats, seconds.
        public var preferencesSeconds = Double.infinity
        public var solveSeconds = Double.infinity
        public var solveQuotaOffSeconds = Double.infinity
        public var wholeSeconds = Double.infinity
        public var pythonCreateSeconds: Double?
        public var pythonSolveSeconds: Double?
        public var pythonAgrees: Bool?
        public var pythonProblem: String?
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
        let inputs = Industry.allCases.map { industry in
            EcosystemInput(
                industry: industry, firms: national.pool.filter { $0.firm.industry == industry },
                newExportSources: national.newExportSources.filter { $0.firm.industry == industry },
                companies: ds.companies.filter { $0.desks.contains { $0.industry == industry } },
                institutions: ds.institutions.filter { $0.industries.contains(industry) })
        }
        var f = Figures()
        f.pool = national.pool.count
        f.ecosystems = inputs.count
        f.companies = ds.companies.count
        f.desks = ds.companies.reduce(0) { $0 + $1.desks.count }
        f.seats = ds.companies.reduce(0) { $0 + $1.desks.reduce(0) { $0 + $1.capacity } }
        let engine = EcosystemEngine(markets: ds.markets, configuration: config)
        var off = config
        off.emergingQuotaPermille = 0
        let engineOff = EcosystemEngine(markets: ds.markets, configuration: off)

        var problemsOff: [MatchingProblem] = []
        var outcomesOff: [MatchingOutcome] = []
        for _ in 0..<repeats {
            var t = monotonic()
            let prefs = inputs.map { engine.preferences($0) }
            f.preferencesSeconds = min(f.preferencesSeconds, monotonic() - t)
            t = monotonic()
            let outcomes = prefs.map { DeferredAcceptance.solve($0.problem) }
            f.solveSeconds = min(f.solveSeconds, monotonic() - t)
            problemsOff = inputs.map { engineOff.preferences($0).problem }
            t = monotonic()
            outcomesOff = problemsOff.map { DeferredAcceptance.solve($0) }
            f.solveQuotaOffSeconds = min(f.solveQuotaOffSeconds, monotonic() - t)
            f.pairs = prefs.reduce(0) { $0 + $1.problem.pairs.count }
            _ = outcomes
            t = monotonic()
            let whole = inputs.map { engine.run($0) }
            f.wholeSeconds = min(f.wholeSeconds, monotonic() - t)
            f.matched = whole.reduce(0) { $0 + $1.matches.count }
            f.emergingMatched = whole.reduce(0) { $0 + $1.matches.filter(\.emerging).count }
            f.consortia = whole.reduce(0) { $0 + $1.consortia.count }
            f.channels = whole.reduce(0) { $0 + $1.channels.count }
        }
        try comparePython(problemsOff, outcomesOff, &f)
        return f
    }

    /// Writes the quota-off instance for the Python package, runs it, and checks that both
    /// give the same matching.
    func comparePython(_ problems: [MatchingProblem], _ outcomes: [MatchingOutcome], _ f: inout Figures) throws {
        guard let python = findExecutable("python3") else {
            f.pythonProblem = "python3 not found"
            return
        }
        // Firms "e.f" list desks "e.d" (e = ecosystem); desks list the firms that list them, in
        // the desk's order.
        var residents: [String] = []
        var hospitals: [String] = []
        var capacities: [String] = []
        var ours: [String] = []
        for (e, p) in problems.enumerated() {
            var byDesk = [[(Int32, Int)]](repeating: [], count: p.deskCount)
            for firm in 0..<p.firmCount {
                let l = p.list(firm)
                guard !l.isEmpty else { continue }
                residents.append("\"\(e).\(firm)\":[" + l.map { "\"\(e).\($0.desk)\"" }.joined(separator: ",") + "]")
                for pair in l { byDesk[Int(pair.desk)].append((pair.deskRank, firm)) }
                if let d = outcomes[e].desk(of: firm, in: p) { ours.append("\(e).\(firm) \(e).\(d)") }
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
        let p = try ChildProcess(
            executable: python, arguments: ["-c", Self.pythonReference, input], stdoutPath: output,
            stderrPath: directory + "/.hr-stderr")
        let status = p.wait()
        guard status == 0, let text = try? readText(output) else {
            let err = (try? readText(directory + "/.hr-stderr")) ?? ""
            f.pythonProblem =
                err.contains("No module named 'matching'")
                ? "the Python package is missing: pip install matching==1.4.3" : "python exited \(status)"
            return
        }
        var lines = text.split(separator: "\n").map(String.init)
        guard lines.count >= 1 else { return }
        let times = lines.removeFirst().split(separator: " ")
        f.pythonCreateSeconds = Double(times.first ?? "")
        f.pythonSolveSeconds = Double(times.dropFirst().first ?? "")
        f.pythonAgrees = lines.sorted() == ours.sorted()
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

func writeText(_ path: String, _ text: String) throws {
    guard let fp = fopen(path, "w") else { throw BenchError("cannot write \(path)") }
    defer { fclose(fp) }
    _ = text.utf8CString.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count - 1, fp) }
}
