#if canImport(Glibc)
    import Glibc
#endif

/// Where a `CSVReader` gets its bytes: the file as is, or converted to UTF-8 on the way.
protocol ByteSource {
    /// Fills up to `count` bytes at `into`; returns bytes produced (0 at end) and raw bytes read.
    func read(into: UnsafeMutablePointer<UInt8>, count: Int) -> (produced: Int, raw: Int)
}

/// The file's bytes unchanged.
final class RawSource: ByteSource {
    let fd: Int32
    let digest: DigestSink?
    init(fd: Int32, digest: DigestSink?) {
        self.fd = fd
        self.digest = digest
    }

    func read(into p: UnsafeMutablePointer<UInt8>, count: Int) -> (produced: Int, raw: Int) {
        while true {
            let n = Glibc.read(fd, p, count)
            if n < 0 && errno == EINTR { continue }
            if n > 0 { digest?.update(UnsafeRawBufferPointer(start: p, count: n)) }
            return (max(0, n), max(0, n))
        }
    }
}

/// CP949 (EUC-KR and its Unified Hangul extension) converted to UTF-8 with glibc's iconv.
/// A byte sequence iconv cannot convert becomes U+FFFD, so the row holding it is rejected by
/// validation (for example "invalid text") rather than stopping the file.
final class CP949Source: ByteSource {
    struct Unavailable: Error, CustomStringConvertible {
        var description: String { "CP949 conversion is not available (iconv has no CP949)" }
    }

    let fd: Int32
    let digest: DigestSink?
    private let cd: iconv_t
    private var inBuf = [UInt8](repeating: 0, count: 64 * 1024)
    private var inLen = 0
    private var eof = false

    init(fd: Int32, digest: DigestSink?) throws {
        self.fd = fd
        self.digest = digest
        guard let cd = iconv_open("UTF-8", "CP949"), cd != iconv_t(bitPattern: -1) else { throw Unavailable() }
        self.cd = cd
    }

    deinit { iconv_close(cd) }

    /// Whether `sample` converts from CP949 without an invalid sequence (a cut-off one at the
    /// end is fine).
    static func accepts(_ sample: [UInt8]) -> Bool {
        guard let cd = iconv_open("UTF-8", "CP949"), cd != iconv_t(bitPattern: -1) else { return false }
        defer { iconv_close(cd) }
        var input = sample
        var out = [UInt8](repeating: 0, count: sample.count * 2 + 16)
        return input.withUnsafeMutableBufferPointer { ib -> Bool in
            out.withUnsafeMutableBufferPointer { ob -> Bool in
                var ip: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(ib.baseAddress!).assumingMemoryBound(
                    to: CChar.self)
                var op: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(ob.baseAddress!).assumingMemoryBound(
                    to: CChar.self)
                var il = ib.count
                var ol = ob.count
                let r = iconv(cd, &ip, &il, &op, &ol)
                return r != -1 || errno == EINVAL
            }
        }
    }

    func read(into p: UnsafeMutablePointer<UInt8>, count: Int) -> (produced: Int, raw: Int) {
        var raw = 0
        if !eof && inLen < inBuf.count {
            let n = inBuf.withUnsafeMutableBufferPointer { b in Glibc.read(fd, b.baseAddress! + inLen, b.count - inLen)
            }
            if n <= 0 {
                eof = true
            } else {
                inBuf.withUnsafeBytes { digest?.update(UnsafeRawBufferPointer(rebasing: $0[inLen..<inLen + n])) }
                inLen += n
                raw = n
            }
        }
        if inLen == 0 { return (0, raw) }
        var produced = 0
        inBuf.withUnsafeMutableBufferPointer { ib in
            var ip: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(ib.baseAddress!).assumingMemoryBound(
                to: CChar.self)
            var il = inLen
            var op: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(p).assumingMemoryBound(to: CChar.self)
            var ol = count
            while il > 0 && ol >= 4 {
                let r = iconv(cd, &ip, &il, &op, &ol)
                if r != -1 { break }
                if errno == EILSEQ || (errno == EINVAL && eof) {
                    // Replace one undecodable byte with U+FFFD and go on.
                    op![0] = CChar(bitPattern: 0xEF)
                    op![1] = CChar(bitPattern: 0xBF)
                    op![2] = CChar(bitPattern: 0xBD)
                    op = op! + 3
                    ol -= 3
                    ip = ip! + 1
                    il -= 1
                    continue
                }
                break  // EINVAL (sequence cut at the chunk end) or E2BIG: keep the rest for later
            }
            produced = count - ol
            let consumed = inLen - il
            if consumed > 0 && il > 0 {
                memmove(ib.baseAddress!, ib.baseAddress! + consumed, il)
            }
            inLen = il
        }
        if produced == 0 && eof && inLen > 0 {
            inLen = 0  // unconvertible tail; dropped (the row it belonged to is incomplete anyway)
        }
        return (produced, raw)
    }
}
