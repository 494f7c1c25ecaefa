import ExportData
import ExportDomain

#if canImport(Glibc)
    import Glibc
#endif

/// `exportctl bench evaluate`: the evaluation of a generated nation on one core.
public struct EvaluateBenchmark {
    public var firms: Int
    public var directory: String

    public init(firms: Int, directory: String) {
        self.firms = firms
        self.directory = directory
    }

    public struct Figures: Sendable {
        public var firms = 0
        public var markets = 0
        public var potentialSeconds = 0.0
        public var evaluateSeconds = 0.0
        public var chunks = 0
        public var mergeSeconds = 0.0
        public var poolSize = 0
        public var eligible = 0
    }

    public func run() throws -> Figures {
        if access(directory + "/firms.csv", F_OK) != 0 {
            _ = try NationGenerator(firms: firms, seed: 2016).write(to: directory)
        }
        let (ds, _, reader) = DatasetReader.load(directory: directory)
        guard reader.usable else { throw BenchError(reader.problems.joined(separator: "; ")) }
        var f = Figures()
        f.firms = ds.firms.count
        f.markets = ds.markets.count
        let config = ds.configuration
        let evaluator = Evaluator(markets: ds.markets, configuration: config)

        // Potentials alone: every firm, every market.
        var scratch: [Double] = []
        var sink = 0.0
        var t = monotonic()
        for firm in ds.firms {
            evaluator.model.potentials(firm, into: &scratch)
            sink += scratch[0]
        }
        f.potentialSeconds = monotonic() - t
        if sink < 0 { print(sink) }

        // The whole evaluation, chunk by chunk as the jobs do it, records included.
        var recordsByFirm: [UInt64: [ExportRecord]] = [:]
        for r in ds.exports { recordsByFirm[r.firm.value, default: []].append(r) }
        var chunks: [([Firm], [ExportRecord])] = []
        for start in stride(from: 0, to: ds.firms.count, by: config.chunkSize) {
            let part = Array(ds.firms[start..<min(start + config.chunkSize, ds.firms.count)])
            chunks.append((part, part.flatMap { recordsByFirm[$0.id.value] ?? [] }))
        }
        t = monotonic()
        var results: [ChunkResult] = []
        for (part, records) in chunks { results.append(evaluator.evaluate(part, records: records)) }
        f.evaluateSeconds = monotonic() - t
        f.chunks = chunks.count
        t = monotonic()
        let merged = ChunkResult.merge(results, poolSize: config.poolSize)
        f.mergeSeconds = monotonic() - t
        f.poolSize = merged.pool.count
        f.eligible = ds.firms.filter(CandidatePool.isEligible).count
        return f
    }
}
