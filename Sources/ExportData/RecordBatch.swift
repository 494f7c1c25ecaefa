/// Raw records copied out of a reader's buffer (one copy each), so another thread can split
/// and parse them.
final class RecordBatch: @unchecked Sendable {
    private var bytes: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var used = 0
    private var offsets: [Int] = []
    private var lengths: [Int] = []
    private var lines: [Int] = []
    private var problems: [String?] = []

    var count: Int { lines.count }

    init(capacity: Int = 512 * 1024) {
        self.capacity = capacity
        bytes = .allocate(capacity: capacity)
    }

    deinit { bytes.deallocate() }

    func append(_ raw: RawRecord) {
        if used + raw.length > capacity {
            let bigger = max(capacity * 2, used + raw.length)
            let nb = UnsafeMutablePointer<UInt8>.allocate(capacity: bigger)
            nb.update(from: bytes, count: used)
            bytes.deallocate()
            bytes = nb
            capacity = bigger
        }
        (bytes + used).update(from: raw.start, count: raw.length)
        offsets.append(used)
        lengths.append(raw.length)
        lines.append(raw.line)
        problems.append(raw.problem)
        used += raw.length
    }

    /// A row rejected whole, with no bytes (cut off by the end of the file, too long).
    func appendProblem(line: Int, reason: String) {
        offsets.append(used)
        lengths.append(0)
        lines.append(line)
        problems.append(reason)
    }

    var byteCount: Int { used }

    /// Splits each record (in place, in this batch's own copy) and calls `body` with a view of
    /// it, in order. Blank lines are skipped.
    func forEach(_ splitter: RecordSplitter, _ body: (CSVRecord) -> Void) {
        for k in 0..<lines.count {
            if let problem = problems[k] {
                body(CSVRecord(line: lines[k], problem: problem, count: 0, base: nil, starts: nil, ends: nil))
                continue
            }
            if lengths[k] == 0 { continue }
            splitter.split(bytes, from: offsets[k], to: offsets[k] + lengths[k])
            body(splitter.record(line: lines[k], base: UnsafePointer(bytes)))
        }
    }
}

#if canImport(Glibc)
    import Glibc
#endif

/// Online CPU cores.
enum ProcessorCount {
    static var online: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
}
