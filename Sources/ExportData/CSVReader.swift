#if canImport(Glibc)
    import Glibc
#endif

/// Size limits that keep a hostile or broken file from exhausting memory or time. Defaults are
/// documented in the README (dataset section) and configurable per run.
public struct CSVLimits: Sendable, Equatable {
    /// Longest cell; a longer one rejects its row.
    public var maxCellBytes = 64 * 1024
    /// Longest record (a row, quoted newlines included); a longer one is skipped to its end and
    /// rejects its row.
    public var maxRecordBytes = 1024 * 1024
    /// Largest file; a larger one is refused whole.
    public var maxFileBytes: Int64 = 8 * 1024 * 1024 * 1024
    /// Most columns in a row; more rejects the row.
    public var maxColumns = 512

    public init() {}
}

/// Text encodings of input files.
public enum TextEncoding: String, Sendable, CaseIterable {
    case utf8 = "utf-8"
    case cp949 = "cp949"

    /// Accepts utf-8/utf8 and cp949/euc-kr/euckr/ks_c_5601-1987 (case-insensitive).
    public init?(name: String) {
        switch name.lowercased() {
        case "utf-8", "utf8": self = .utf8
        case "cp949", "euc-kr", "euckr", "uhc", "ks_c_5601-1987": self = .cp949
        default: return nil
        }
    }
}

/// A file that cannot be read at all (as opposed to a row that is rejected).
public struct FileProblem: Error, Equatable, CustomStringConvertible {
    public let file: String
    public let reason: String
    public init(file: String, reason: String) {
        self.file = file
        self.reason = reason
    }
    public var description: String { "\(file): \(reason)" }
}

/// One record of a CSV file: a view into the reader's buffers, valid until its next call.
/// Fields are byte ranges, already unescaped. (Raw pointers rather than arrays: the hot path
/// reads fields millions of times, and a class's array properties would cost an exclusivity
/// check per read.)
public struct CSVRecord {
    /// The physical line (1-based) where the record starts.
    public let line: Int
    /// Set when the record cannot be used (too long, a cell over the limit, text after a
    /// closing quote); the row is rejected with this reason.
    public let problem: String?
    public let count: Int
    let base: UnsafePointer<UInt8>?
    let starts: UnsafePointer<Int32>?
    let ends: UnsafePointer<Int32>?

    /// The bytes of field `i` (empty when the row has fewer fields).
    @inline(__always)
    public func bytes(_ i: Int) -> UnsafeBufferPointer<UInt8> {
        guard i < count, let base, let starts, let ends else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(start: base + Int(starts[i]), count: Int(ends[i] - starts[i]))
    }

    /// Field `i` as text, or nil when it is not valid UTF-8.
    public func string(_ i: Int) -> String? {
        let b = bytes(i)
        return isValidUTF8(b) ? String(decoding: b, as: UTF8.self) : nil
    }

    /// True when every field is empty (a blank line).
    public var isBlank: Bool { (0..<count).allSatisfy { bytes($0).isEmpty } }
}

/// Strict UTF-8 validation with an ASCII fast path (no overlongs, no surrogates, at most
/// U+10FFFF).
func isValidUTF8(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
    var i = 0
    let n = b.count
    while i < n {
        let c = b[i]
        if c < 0x80 {
            i += 1
            continue
        }
        if c >= 0xC2 && c <= 0xDF {
            guard i + 1 < n, b[i + 1] & 0xC0 == 0x80 else { return false }
            i += 2
        } else if c >= 0xE0 && c <= 0xEF {
            guard i + 2 < n, b[i + 1] & 0xC0 == 0x80, b[i + 2] & 0xC0 == 0x80 else { return false }
            if c == 0xE0 && b[i + 1] < 0xA0 { return false }
            if c == 0xED && b[i + 1] > 0x9F { return false }
            i += 3
        } else if c >= 0xF0 && c <= 0xF4 {
            guard i + 3 < n, b[i + 1] & 0xC0 == 0x80, b[i + 2] & 0xC0 == 0x80, b[i + 3] & 0xC0 == 0x80 else {
                return false
            }
            if c == 0xF0 && b[i + 1] < 0x90 { return false }
            if c == 0xF4 && b[i + 1] > 0x8F { return false }
            i += 4
        } else {
            return false
        }
    }
    return true
}

/// Streams RFC 4180 records from a file: a header row, then records, with CRLF or LF line ends,
/// a UTF-8 BOM accepted, quoted fields holding commas, doubled quotes and newlines. Memory is
/// bounded by the largest record (up to `maxRecordBytes`), not by the file size. CP949 input is
/// converted to UTF-8 through iconv as it streams.
public final class CSVReader {
    public let path: String
    /// File name for messages (no directory).
    public let name: String
    public let encoding: TextEncoding
    public let limits: CSVLimits
    /// The header's column names, trimmed.
    public private(set) var header: [String] = []
    /// Bytes read from the file so far (before any transcoding).
    public private(set) var bytesRead: Int64 = 0
    /// The physical line the reader is at, for messages about the file as a whole.
    public var lineForMessages: Int { line }
    /// Bytes of buffer the reader holds: bounded by the longest record, not the file size.
    public var bufferCapacity: Int { capacity }

    private let fd: Int32
    private let source: ByteSource
    private var buf: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var pos = 0
    private var end = 0
    private var eof = false
    private var line = 1
    /// Field offsets of the current record (start, end), grown as needed; owned by this reader.
    private let splitter: RecordSplitter

    /// Opens a file; throws `FileProblem` when it is missing, not text, or over the size limit.
    /// `encoding` nil detects UTF-8 or CP949 from the first 64 KiB.
    public init(
        path: String, encoding: TextEncoding? = nil, limits: CSVLimits = CSVLimits(), digest: DigestSink? = nil
    ) throws(FileProblem) {
        self.path = path
        self.name = path.split(separator: "/").last.map(String.init) ?? path
        self.limits = limits
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw FileProblem(
                file: path.split(separator: "/").last.map(String.init) ?? path, reason: String(cString: strerror(errno))
            )
        }
        var st = stat()
        fstat(fd, &st)
        if (st.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw FileProblem(file: path, reason: "is a directory")
        }
        if Int64(st.st_size) > limits.maxFileBytes {
            close(fd)
            throw FileProblem(
                file: path, reason: "file is \(st.st_size) bytes, over the limit of \(limits.maxFileBytes)")
        }
        self.fd = fd
        capacity = 256 * 1024
        buf = .allocate(capacity: capacity)
        splitter = RecordSplitter(limits: limits)
        // Sniff the start: NUL bytes mean binary; otherwise UTF-8 if valid, else CP949 if iconv
        // takes it.
        var sample = [UInt8](repeating: 0, count: 64 * 1024)
        let n = pread(fd, &sample, sample.count, 0)
        let head = Array(sample[0..<max(0, n)])
        if head.contains(0) {
            close(fd)
            buf.deallocate()
            throw FileProblem(file: name, reason: "not a text file (it contains NUL bytes)")
        }
        let chosen: TextEncoding
        if let encoding {
            chosen = encoding
        } else if UTF8Evidence(head).looksLikeUTF8 {
            chosen = .utf8
        } else if CP949Source.accepts(head) {
            chosen = .cp949
        } else {
            close(fd)
            buf.deallocate()
            throw FileProblem(file: name, reason: "not UTF-8 or CP949 text (give the encoding with --encoding)")
        }
        self.encoding = chosen
        do {
            digest?.beginFile(name: name, size: Int64(st.st_size))
            source = chosen == .utf8 ? RawSource(fd: fd, digest: digest) : try CP949Source(fd: fd, digest: digest)
        } catch {
            close(fd)
            buf.deallocate()
            throw FileProblem(file: name, reason: "\(error)")
        }
        try readHeader()
    }

    deinit {
        close(fd)
        buf.deallocate()
    }

    private func readHeader() throws(FileProblem) {
        guard fill() else { throw FileProblem(file: name, reason: "the file is empty (no header row)") }
        // A UTF-8 BOM (also after transcoding).
        if end - pos >= 3 && buf[pos] == 0xEF && buf[pos + 1] == 0xBB && buf[pos + 2] == 0xBF { pos += 3 }
        guard let h = try next() else { throw FileProblem(file: name, reason: "the file is empty (no header row)") }
        if let p = h.problem { throw FileProblem(file: name, reason: "header row: \(p)") }
        var names: [String] = []
        for i in 0..<h.count {
            guard let s = h.string(i) else { throw FileProblem(file: name, reason: "header row is not valid text") }
            names.append(s.trimmingSpaces())
        }
        header = names
    }

    /// Reads more input after `end`; false at end of file. Keeps bytes from `pos` on.
    private func fill() -> Bool {
        if eof { return false }
        if pos > 0 {
            let live = end - pos
            if live > 0 { memmove(buf, buf + pos, live) }
            end = live
            pos = 0
        }
        if end == capacity {
            let newCap = capacity * 2
            let nb = UnsafeMutablePointer<UInt8>.allocate(capacity: newCap)
            nb.update(from: buf, count: end)
            buf.deallocate()
            buf = nb
            capacity = newCap
        }
        let (n, raw) = source.read(into: buf + end, count: capacity - end)
        bytesRead += Int64(raw)
        if n <= 0 {
            eof = true
            return false
        }
        end += n
        return true
    }

    /// The next record, or nil at end of file. Throws `FileProblem` when the file ends inside a
    /// quoted field or cannot be read.
    public func next() throws(FileProblem) -> CSVRecord? {
        while true {
            guard let raw = try nextRaw() else { return nil }
            if let problem = raw.problem {
                return CSVRecord(line: raw.line, problem: problem, count: 0, base: nil, starts: nil, ends: nil)
            }
            if raw.length == 0 { continue }  // a blank line is not a row
            let offset = raw.start - buf
            splitter.split(buf, from: offset, to: offset + raw.length)
            return splitter.record(line: raw.line, base: UnsafePointer(buf))
        }
    }

    /// The next record's raw bytes (valid until the next call), without splitting it into fields.
    func nextRaw() throws(FileProblem) -> RawRecord? {
        if pos >= end && !fill() { return nil }
        let startLine = line
        guard let (recordEnd, next, lines) = try findRecordEnd() else {
            return RawRecord(
                line: startLine, start: buf, length: 0,
                problem: "the line is longer than \(limits.maxRecordBytes) bytes")
        }
        let record = RawRecord(line: startLine, start: buf + pos, length: recordEnd - pos, problem: nil)
        pos = next
        line += lines
        return record
    }

    /// Finds where the record at `pos` ends, reading more input as needed (without changing any
    /// byte). Returns the end of its content (line terminator excluded), where the next record
    /// starts, and the physical lines it spans; nil when it is longer than the limit (it is
    /// then skipped, `pos` and `line` moved past it).
    private func findRecordEnd() throws(FileProblem) -> (Int, Int, Int)? {
        var scanned = 0
        var inQuotes = false
        var lines = 0
        while true {
            var i = pos + scanned
            while i < end {
                let c = buf[i]
                if c == 34 {
                    inQuotes.toggle()
                } else if c == 10 {
                    if !inQuotes {
                        let contentEnd = i > pos && buf[i - 1] == 13 ? i - 1 : i
                        return (contentEnd, i + 1, lines + 1)
                    }
                    lines += 1
                } else if c == 13 && !inQuotes {
                    // A lone CR ends a line too (old spreadsheet exports); CRLF is handled at LF.
                    if i + 1 < end {
                        if buf[i + 1] != 10 { return (i, i + 1, lines + 1) }
                    } else if eof {
                        return (i, i + 1, lines + 1)
                    } else {
                        break  // need the next byte to decide
                    }
                }
                i += 1
            }
            scanned = i - pos
            if i >= end && eof || !fillKeepingRecord() {
                if inQuotes {
                    throw FileProblem(file: name, reason: "line \(line): the file ends inside a quoted field")
                }
                return (end, end, lines + 1)
            }
            if scanned > limits.maxRecordBytes {
                try skip(inQuotes: inQuotes, lines: lines, from: pos + scanned)
                return nil
            }
        }
    }

    /// Refills, keeping the current record; false at end of file.
    private func fillKeepingRecord() -> Bool { fill() }

    /// Discards the rest of an over-long record (tracking quotes), leaving `pos` after it.
    private func skip(inQuotes startInQuotes: Bool, lines startLines: Int, from start: Int) throws(FileProblem) {
        var inQuotes = startInQuotes
        var lines = startLines
        var i = start
        while true {
            while i < end {
                let c = buf[i]
                if c == 34 {
                    inQuotes.toggle()
                } else if c == 10 {
                    if !inQuotes {
                        pos = i + 1
                        line += lines + 1
                        return
                    }
                    lines += 1
                }
                i += 1
            }
            // Drop what was scanned; keep nothing of the over-long record.
            pos = end
            if !fill() {
                if inQuotes {
                    throw FileProblem(file: name, reason: "line \(line): the file ends inside a quoted field")
                }
                line += lines + 1
                return
            }
            i = pos
        }
    }

}

/// Splits one complete record into fields, unescaping quoted fields in place. Owns the offset
/// buffers (raw memory: the hot path reads them millions of times); one per thread.
final class RecordSplitter {
    private(set) var starts: UnsafeMutablePointer<Int32>
    private(set) var ends: UnsafeMutablePointer<Int32>
    private var capacity = 64
    private(set) var count = 0
    private(set) var problem: String?
    let limits: CSVLimits

    init(limits: CSVLimits) {
        self.limits = limits
        starts = .allocate(capacity: 64)
        ends = .allocate(capacity: 64)
    }

    deinit {
        starts.deallocate()
        ends.deallocate()
    }

    /// Splits [start, stop) of `buf`; offsets are relative to `buf`.
    func split(_ buf: UnsafeMutablePointer<UInt8>, from start: Int, to stop: Int) {
        var problem: String?
        func note(_ p: String) { if problem == nil { problem = p } }
        let maxCell = limits.maxCellBytes
        var starts = self.starts
        var ends = self.ends
        var cap = capacity
        var n = 0
        @inline(__always) func add(_ s: Int, _ e: Int) {
            if n == cap {
                let ns = UnsafeMutablePointer<Int32>.allocate(capacity: cap * 2)
                let ne = UnsafeMutablePointer<Int32>.allocate(capacity: cap * 2)
                ns.update(from: starts, count: n)
                ne.update(from: ends, count: n)
                starts.deallocate()
                ends.deallocate()
                starts = ns
                ends = ne
                cap *= 2
            }
            starts[n] = Int32(s)
            ends[n] = Int32(e)
            n += 1
        }
        var i = start
        while true {
            if i < stop && buf[i] == 34 {
                let fieldStart = i + 1
                var r = fieldStart
                var w = fieldStart
                while r < stop {
                    let c = buf[r]
                    if c == 34 {
                        if r + 1 < stop && buf[r + 1] == 34 {
                            buf[w] = 34
                            w += 1
                            r += 2
                            continue
                        }
                        break
                    }
                    buf[w] = c
                    w += 1
                    r += 1
                }
                add(fieldStart, w)
                if w - fieldStart > maxCell { note("a cell is longer than \(maxCell) bytes") }
                // Past the closing quote: a separator or the end of the record.
                var j = r + 1
                if j < stop && buf[j] != 44 {
                    note("text after a closing quote")
                    while j < stop && buf[j] != 44 { j += 1 }
                }
                if j >= stop { break }
                i = j + 1
            } else {
                var j = i
                while j < stop && buf[j] != 44 { j += 1 }
                add(i, j)
                if j - i > maxCell { note("a cell is longer than \(maxCell) bytes") }
                if j >= stop { break }
                i = j + 1
            }
        }
        if n > limits.maxColumns { note("more than \(limits.maxColumns) columns") }
        self.starts = starts
        self.ends = ends
        capacity = cap
        count = n
        self.problem = problem
    }

    /// A view of the fields just split, in `buf`.
    func record(line: Int, base: UnsafePointer<UInt8>) -> CSVRecord {
        CSVRecord(
            line: line, problem: problem, count: count, base: base, starts: UnsafePointer(starts),
            ends: UnsafePointer(ends))
    }
}

/// A record's raw bytes (before splitting), as a reader hands it to another thread.
struct RawRecord {
    let line: Int
    let start: UnsafeMutablePointer<UInt8>
    let length: Int
    /// Set when the record was skipped (over the length limit).
    let problem: String?
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}

/// How a sample of bytes reads as UTF-8: valid multibyte sequences against invalid ones (a
/// sequence cut off at the very end counts as neither).
struct UTF8Evidence {
    var valid = 0
    var invalid = 0

    init(_ bytes: [UInt8]) {
        var i = 0
        let n = bytes.count
        outer: while i < n {
            let b = bytes[i]
            if b < 0x80 {
                i += 1
                continue
            }
            let len: Int
            if b & 0xE0 == 0xC0 && b >= 0xC2 {
                len = 2
            } else if b & 0xF0 == 0xE0 {
                len = 3
            } else if b & 0xF8 == 0xF0 && b <= 0xF4 {
                len = 4
            } else {
                invalid += 1
                i += 1
                continue
            }
            for k in 1..<len {
                if i + k >= n { break outer }
                if bytes[i + k] & 0xC0 != 0x80 {
                    invalid += 1
                    i += 1
                    continue outer
                }
            }
            valid += 1
            i += len
        }
    }

    /// Valid UTF-8, or UTF-8 text with a few foreign cells (those rows are rejected later): a
    /// CP949 file has almost no valid UTF-8 multibyte sequences.
    var looksLikeUTF8: Bool { invalid == 0 || valid >= 4 * invalid }
}
