#if canImport(Glibc)
    import Glibc
#endif

/// One cell of a table the project writes: text, or a number.
///
/// Text cells are neutralised against CSV formula injection (OWASP): a spreadsheet opening the
/// file runs a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return as a formula
/// (a firm named `=HYPERLINK(...)` becomes a live link in `pool.csv`), so such a text cell is
/// written with a single quote `'` in front, then quoted per RFC 4180 when it needs it. A number
/// is written as it is, so a negative amount stays a number: only a `.number` whose text really
/// is a decimal number (`-?[0-9]+(.[0-9]+)?`) escapes the prefix; anything else given as a number
/// is written as text.
public enum CSVCell: Sendable, Equatable, ExpressibleByStringLiteral {
    case text(String)
    /// A number already formatted (`-12`, `0.125`).
    case number(String)

    public static func int(_ v: some BinaryInteger) -> CSVCell { .number(String(v)) }

    public init(stringLiteral value: String) { self = .text(value) }

    /// Appends the cell's bytes (without a separator) to `out`.
    public func append(to out: inout [UInt8]) {
        switch self {
        case .text(let s): CSVCell.appendText(s.utf8, to: &out)
        case .number(let s):
            if CSVCell.isNumber(s.utf8) { out += s.utf8 } else { CSVCell.appendText(s.utf8, to: &out) }
        }
    }

    /// True for the first bytes a spreadsheet takes as the start of a formula.
    @inline(__always)
    static func startsFormula(_ b: UInt8) -> Bool { b == 61 || b == 43 || b == 45 || b == 64 || b == 9 || b == 13 }

    /// `-?[0-9]+(.[0-9]+)?`
    static func isNumber<C: Collection>(_ b: C) -> Bool where C.Element == UInt8 {
        var i = b.startIndex
        if i < b.endIndex && b[i] == 45 { i = b.index(after: i) }
        var digits = 0
        var dot = false
        var fraction = 0
        while i < b.endIndex {
            let c = b[i]
            if c >= 48 && c <= 57 {
                if dot { fraction += 1 } else { digits += 1 }
            } else if c == 46 && !dot && digits > 0 {
                dot = true
            } else {
                return false
            }
            i = b.index(after: i)
        }
        return digits > 0 && (!dot || fraction > 0)
    }

    /// A text cell: neutralised (see the type's comment), quoted when it holds a comma, a quote or
    /// a line break.
    static func appendText<C: Collection>(_ b: C, to out: inout [UInt8]) where C.Element == UInt8 {
        let neutralise = b.first.map(startsFormula) ?? false
        if b.contains(where: { $0 == 44 || $0 == 34 || $0 == 10 || $0 == 13 }) {
            out.append(34)
            if neutralise { out.append(39) }
            for c in b {
                if c == 34 { out.append(34) }
                out.append(c)
            }
            out.append(34)
        } else {
            if neutralise { out.append(39) }
            out += b
        }
    }
}

/// A CSV table in memory (RFC 4180 quoting, LF line ends, UTF-8), text cells neutralised as
/// `CSVCell` says.
public struct CSVTable: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(header: [String]) { row(header.map(CSVCell.text)) }

    public mutating func row(_ cells: [CSVCell]) {
        for (i, c) in cells.enumerated() {
            if i > 0 { bytes.append(44) }
            c.append(to: &bytes)
        }
        bytes.append(10)
    }
}

/// Writes CSV (RFC 4180, LF line ends) through a buffer; quotes fields holding commas, quotes
/// or newlines, and neutralises text cells that a spreadsheet would run as formulas (see
/// `CSVCell`): `field(String)` is a text cell, `field(Int)` and `number(String)` are numbers.
/// Optionally writes CP949 instead of UTF-8 (through iconv).
public final class CSVWriter {
    public let path: String
    private let fd: Int32
    private var buf: [UInt8] = []
    private var firstField = true
    private let cp949: Iconv?

    public init(path: String, encoding: TextEncoding = .utf8) throws(FileProblem) {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileProblem(file: path, reason: String(cString: strerror(errno))) }
        if encoding == .cp949 {
            guard let cd = Iconv(from: "UTF-8", to: "CP949") else {
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
    }

    /// Appends raw bytes to the current field (no quoting, no neutralising: the caller knows they
    /// are safe).
    public func raw<C: Collection>(_ bytes: C) where C.Element == UInt8 { buf.append(contentsOf: bytes) }

    /// A text cell (neutralised, quoted when needed).
    public func field(_ s: String) {
        separator()
        CSVCell.appendText(s.utf8, to: &buf)
    }

    /// A cell of either kind.
    public func field(_ cell: CSVCell) {
        separator()
        cell.append(to: &buf)
    }

    /// A number already formatted (`-12`, `0.125`): written as it is; text that is not a number
    /// is written as a text cell.
    public func number(_ s: String) { field(.number(s)) }

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

    /// A text cell whose bytes are given (neutralised, quoted when needed).
    public func field(bytes: [UInt8]) {
        separator()
        CSVCell.appendText(bytes, to: &buf)
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

    /// A row of text cells.
    public func row(_ fields: [String]) throws(FileProblem) {
        for f in fields { field(f) }
        try endRow()
    }

    public func row(_ cells: [CSVCell]) throws(FileProblem) {
        for c in cells { field(c) }
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

    private func convert(_ input: [UInt8], _ cd: Iconv) throws(FileProblem) -> [UInt8] {
        let (out, outcome) = cd.convert(input)
        guard outcome == .complete else { throw FileProblem(file: path, reason: "text cannot be written in CP949") }
        return out
    }
}
