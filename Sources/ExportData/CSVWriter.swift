#if canImport(Glibc)
    import Glibc
#endif

/// Writes CSV (RFC 4180, LF line ends) through a buffer; quotes fields holding commas, quotes
/// or newlines. Optionally writes CP949 instead of UTF-8 (through iconv).
public final class CSVWriter {
    public let path: String
    private let fd: Int32
    private var buf: [UInt8] = []
    private var firstField = true
    private let cp949: iconv_t?

    public init(path: String, encoding: TextEncoding = .utf8) throws(FileProblem) {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileProblem(file: path, reason: String(cString: strerror(errno))) }
        if encoding == .cp949 {
            guard let cd = iconv_open("CP949", "UTF-8"), cd != iconv_t(bitPattern: -1) else {
                close(fd)
                throw FileProblem(file: path, reason: "CP949 is not available in iconv")
            }
            cp949 = cd
        } else {
            cp949 = nil
        }
        buf.reserveCapacity(1 << 20)
    }

    deinit {
        try? flush()
        close(fd)
        if let cp949 { iconv_close(cp949) }
    }

    /// Appends raw bytes to the current field (no quoting: the caller knows they are safe).
    public func raw<C: Collection>(_ bytes: C) where C.Element == UInt8 { buf.append(contentsOf: bytes) }

    public func field(_ s: String) {
        separator()
        var s = s
        s.withUTF8 { b in
            if b.contains(where: { $0 == 44 || $0 == 34 || $0 == 10 || $0 == 13 }) {
                buf.append(34)
                for c in b {
                    if c == 34 { buf.append(34) }
                    buf.append(c)
                }
                buf.append(34)
            } else {
                buf.append(contentsOf: b)
            }
        }
    }

    public func field(_ v: Int) { field(Int64(v)) }

    public func field(_ v: Int64) {
        separator()
        if v == 0 {
            buf.append(48)
            return
        }
        var x = v.magnitude
        var tmp:
            (
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                UInt8, UInt8, UInt8, UInt8, UInt8
            ) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &tmp) { t in
            while x > 0 {
                t[n] = UInt8(48 + x % 10)
                x /= 10
                n += 1
            }
            if v < 0 { buf.append(45) }
            for i in stride(from: n - 1, through: 0, by: -1) { buf.append(t[i]) }
        }
    }

    /// A field whose bytes are given (quoted when needed).
    public func field(bytes: [UInt8]) {
        separator()
        if bytes.contains(where: { $0 == 44 || $0 == 34 || $0 == 10 || $0 == 13 }) {
            buf.append(34)
            for c in bytes {
                if c == 34 { buf.append(34) }
                buf.append(c)
            }
            buf.append(34)
        } else {
            buf.append(contentsOf: bytes)
        }
    }

    /// Starts a new field without writing it (for `raw`).
    public func beginField() { separator() }

    private func separator() {
        if !firstField { buf.append(44) }
        firstField = false
    }

    public func endRow() throws(FileProblem) {
        buf.append(10)
        firstField = true
        if buf.count >= 1 << 20 { try flush() }
    }

    public func row(_ fields: [String]) throws(FileProblem) {
        for f in fields { field(f) }
        try endRow()
    }

    public func flush() throws(FileProblem) {
        guard !buf.isEmpty else { return }
        var out = buf
        if let cp949 { out = try convert(out, cp949) }
        let failure: String? = out.withUnsafeBytes { p in
            var off = 0
            while off < p.count {
                let n = write(fd, p.baseAddress! + off, p.count - off)
                if n < 0 {
                    if errno == EINTR { continue }
                    return String(cString: strerror(errno))
                }
                off += n
            }
            return nil
        }
        if let failure { throw FileProblem(file: path, reason: failure) }
        buf.removeAll(keepingCapacity: true)
    }

    private func convert(_ input: [UInt8], _ cd: iconv_t) throws(FileProblem) -> [UInt8] {
        var inp = input
        var out = [UInt8](repeating: 0, count: input.count * 2 + 16)
        var produced = 0
        let ok = inp.withUnsafeMutableBufferPointer { ib in
            out.withUnsafeMutableBufferPointer { ob -> Bool in
                var ip: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(ib.baseAddress!).assumingMemoryBound(
                    to: CChar.self)
                var op: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(ob.baseAddress!).assumingMemoryBound(
                    to: CChar.self)
                var il = ib.count
                var ol = ob.count
                let r = iconv(cd, &ip, &il, &op, &ol)
                produced = ob.count - ol
                return r != -1
            }
        }
        guard ok else { throw FileProblem(file: path, reason: "text cannot be written in CP949") }
        return Array(out[0..<produced])
    }
}
