#if canImport(Glibc)
    import Glibc
#endif

/// One iconv conversion (for example UTF-8 to CP949), the only place that calls iconv.
final class Iconv {
    /// How a conversion of a whole buffer ended.
    enum Outcome {
        /// Every byte converted.
        case complete
        /// A sequence the source encoding does not have (or the target cannot hold).
        case invalid
        /// A multi-byte sequence cut off at the end of the input.
        case truncated
    }

    private let cd: iconv_t

    /// Nil when this system's iconv lacks one of the encodings.
    init?(from: String, to: String) {
        guard let cd = iconv_open(to, from), cd != iconv_t(bitPattern: -1) else { return nil }
        self.cd = cd
    }

    deinit { iconv_close(cd) }

    /// Converts as much of `input` (`inputCount` bytes) into `output` (`outputCount` bytes) as
    /// fits, advancing both; `replacing` writes U+FFFD for each byte that cannot be converted
    /// (and for a cut-off sequence when `atEnd`) and goes on. Returns how it stopped: nil when
    /// the input is used up, else the errno (E2BIG: the output is full; EINVAL: a sequence cut
    /// at the end of the input; EILSEQ: an invalid sequence, never with `replacing`).
    func step(
        _ input: inout UnsafeMutablePointer<UInt8>, _ inputCount: inout Int,
        _ output: inout UnsafeMutablePointer<UInt8>,
        _ outputCount: inout Int, replacing: Bool = false, atEnd: Bool = false
    ) -> Int32? {
        while inputCount > 0 {
            var ip: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(input).assumingMemoryBound(to: CChar.self)
            var op: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(output).assumingMemoryBound(to: CChar.self)
            let r = iconv(cd, &ip, &inputCount, &op, &outputCount)
            let e = errno
            input = UnsafeMutableRawPointer(ip!).assumingMemoryBound(to: UInt8.self)
            output = UnsafeMutableRawPointer(op!).assumingMemoryBound(to: UInt8.self)
            if r != -1 { return nil }
            guard replacing, e == EILSEQ || (e == EINVAL && atEnd), outputCount >= 3 else { return e }
            // U+FFFD for the one byte that cannot be converted, then on.
            output[0] = 0xEF
            output[1] = 0xBF
            output[2] = 0xBD
            output += 3
            outputCount -= 3
            input += 1
            inputCount -= 1
        }
        return nil
    }

    /// Converts a whole buffer: the bytes produced (up to the first problem) and how it ended.
    func convert(_ bytes: [UInt8]) -> (bytes: [UInt8], outcome: Outcome) {
        var input = bytes
        var out = [UInt8](repeating: 0, count: bytes.count * 4 + 16)
        var produced = 0
        var outcome = Outcome.complete
        input.withUnsafeMutableBufferPointer { ib in
            out.withUnsafeMutableBufferPointer { ob in
                guard var ip = ib.baseAddress, var op = ob.baseAddress else { return }
                var il = ib.count
                var ol = ob.count
                switch step(&ip, &il, &op, &ol) {
                case nil: outcome = .complete
                case EINVAL: outcome = .truncated
                default: outcome = .invalid
                }
                produced = ob.count - ol
            }
        }
        return (Array(out[0..<produced]), outcome)
    }
}
