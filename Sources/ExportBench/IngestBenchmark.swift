import ExportData
import ExportDomain
import ProcessSupport

#if canImport(Glibc)
    import Glibc
#endif

/// `exportctl bench ingest`: generation of a nation, then parse + validation of its firms.csv
/// (in a child process, so its peak memory is its own), next to Python's csv module reading
/// the same file in the same run.
public struct IngestBenchmark {
    public var firms: Int
    public var directory: String
    public var selfPath: String

    public init(firms: Int, directory: String, selfPath: String) {
        self.firms = firms
        self.directory = directory
        self.selfPath = selfPath
    }

    public struct Figures: Sendable {
        public var generateSeconds = 0.0
        public var fileBytes: Int64 = 0
        public var rows = 0
        public var parseSeconds = 0.0
        public var parseMaxRSSkB = 0
        public var pythonSeconds: Double?
        public var pythonRows = 0
    }

    public func run() throws -> Figures {
        var f = Figures()
        var t = monotonic()
        _ = try NationGenerator(firms: firms, seed: 2016).write(to: directory)
        f.generateSeconds = monotonic() - t
        var st = stat()
        stat(directory + "/firms.csv", &st)
        f.fileBytes = Int64(st.st_size)
        // Parse + validate in a child: `exportctl bench ingest-parse DIR` prints rows and seconds.
        let out = directory + "/.parse-output"
        unlink(out)
        let child = try ChildProcess(
            executable: selfPath, arguments: ["bench", "ingest-parse", directory], stdoutPath: out,
            stderrPath: "/dev/null")
        let (status, rss) = child.waitWithUsage()
        guard status == 0, let text = try? readText(out) else {
            throw BenchError("the parse child failed (exit \(status))")
        }
        let parts = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        f.rows = Int(parts.first ?? "0") ?? 0
        f.parseSeconds = Double(parts.dropFirst().first ?? "0") ?? 0
        f.parseMaxRSSkB = rss
        // Python's csv module just reading the same file.
        if let python = findExecutable("python3") {
            let pyOut = directory + "/.python-output"
            unlink(pyOut)
            t = monotonic()
            let p = try ChildProcess(
                executable: python,
                arguments: [
                    "-c",
                    "import csv,sys,time\nt=time.time()\nn=0\nfor _ in csv.reader(open(sys.argv[1], newline='', encoding='utf-8')): n+=1\nprint(n-1, time.time()-t)",
                    directory + "/firms.csv",
                ], stdoutPath: pyOut, stderrPath: "/dev/null")
            if p.wait() == 0, let text = try? readText(pyOut) {
                let parts = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
                f.pythonRows = Int(parts.first ?? "0") ?? 0
                f.pythonSeconds = Double(parts.dropFirst().first ?? "") ?? (monotonic() - t)
            }
        }
        return f
    }

    /// The child's side: parse and validate firms.csv, print "rows seconds".
    public static func parseOnly(directory: String) -> (rows: Int, seconds: Double, report: FileReport) {
        let t = monotonic()
        var n = 0
        let reader = DatasetReader(directory: directory) { _ in }
        let report = reader.readFirmsOnly { _ in n += 1 }
        return (report.rowsRead, monotonic() - t, report)
    }
}

func monotonic() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func readText(_ path: String) throws -> String {
    guard let f = fopen(path, "r") else { throw BenchError("cannot open \(path)") }
    defer { fclose(f) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = fread(&buf, 1, buf.count, f)
        if n <= 0 { break }
        out += buf[..<n]
    }
    return String(decoding: out, as: UTF8.self)
}
