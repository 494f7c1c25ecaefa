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
    private let iconv: Iconv
    private var inBuf = [UInt8](repeating: 0, count: 64 * 1024)
    private var inLen = 0
    private var eof = false

    init(fd: Int32, digest: DigestSink?) throws {
        self.fd = fd
        self.digest = digest
        guard let iconv = Iconv(from: "CP949", to: "UTF-8") else { throw Unavailable() }
        self.iconv = iconv
    }

    /// Whether `sample` converts from CP949 without an invalid sequence (a cut-off one at the
    /// end is fine).
    static func accepts(_ sample: [UInt8]) -> Bool {
        guard let iconv = Iconv(from: "CP949", to: "UTF-8") else { return false }
        return iconv.convert(sample).outcome != .invalid
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
            var ip = ib.baseAddress!
            var il = inLen
            var op = p
            var ol = count
            // An undecodable byte becomes U+FFFD; a sequence cut at the chunk end, or a full
            // output, waits for the next call.
            _ = iconv.step(&ip, &il, &op, &ol, replacing: true, atEnd: eof)
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
