/// Writes JSON with keys in the order given, integers and exact decimals as plain numbers, and
/// nothing that depends on the platform (no floats): the same values give the same bytes.
struct JSONWriter {
    private(set) var bytes: [UInt8] = []
    private var indent = 0
    /// Per open container: has it an element yet.
    private var first: [Bool] = []
    private let pretty: Bool
    /// Open `inlineObject`s: their elements go on one line, a space apart.
    private var inlineDepth = 0

    init(pretty: Bool = true) {
        self.pretty = pretty
        bytes.reserveCapacity(1 << 16)
    }

    private mutating func raw(_ s: String) { bytes.append(contentsOf: s.utf8) }

    private mutating func newline() {
        guard pretty else { return }
        if inlineDepth > 0 {
            bytes.append(32)
            return
        }
        bytes.append(10)
        for _ in 0..<indent { bytes.append(32) }
    }

    private mutating func beforeValue() {
        guard !first.isEmpty else { return }
        if first[first.count - 1] { first[first.count - 1] = false } else { bytes.append(44) }
        newline()
    }

    private mutating func open(_ c: UInt8) {
        bytes.append(c)
        first.append(true)
        indent += 2
    }

    private mutating func close(_ c: UInt8) {
        indent -= 2
        let empty = first.removeLast()
        if !empty { newline() }
        bytes.append(c)
    }

    // Containers: call `key` first inside objects.
    mutating func key(_ k: String) {
        beforeValue()
        string(k, asValue: false)
        raw(pretty ? ": " : ":")
        pendingKey = true
    }

    private var pendingKey = false

    private mutating func valueStart() {
        if pendingKey { pendingKey = false } else { beforeValue() }
    }

    mutating func object(_ body: (inout JSONWriter) -> Void) {
        valueStart()
        open(123)
        body(&self)
        close(125)
    }

    /// An object on one line (when pretty): for small groups of figures read side by side.
    mutating func inlineObject(_ body: (inout JSONWriter) -> Void) {
        valueStart()
        open(123)
        inlineDepth += 1
        body(&self)
        close(125)
        inlineDepth -= 1
    }

    mutating func array(_ body: (inout JSONWriter) -> Void) {
        valueStart()
        open(91)
        body(&self)
        close(93)
    }

    mutating func int<I: BinaryInteger>(_ v: I) {
        valueStart()
        raw(String(v))
    }

    mutating func bool(_ v: Bool) {
        valueStart()
        raw(v ? "true" : "false")
    }

    mutating func null() {
        valueStart()
        raw("null")
    }

    /// A number given as exact decimal text (from `Decimal.fixed`).
    mutating func number(_ text: String) {
        valueStart()
        raw(text)
    }

    mutating func string(_ s: String) { string(s, asValue: true) }

    private mutating func string(_ s: String, asValue: Bool) {
        if asValue { valueStart() }
        bytes.append(34)
        for b in s.utf8 {
            switch b {
            case 34: raw("\\\"")
            case 92: raw("\\\\")
            case 10: raw("\\n")
            case 13: raw("\\r")
            case 9: raw("\\t")
            case 0..<32:
                let hex = Array("0123456789abcdef".utf8)
                bytes += Array("\\u00".utf8) + [hex[Int(b >> 4)], hex[Int(b & 15)]]
            default: bytes.append(b)
            }
        }
        bytes.append(34)
    }

    // Conveniences for objects.
    mutating func field(_ k: String, _ v: Int) {
        key(k)
        int(v)
    }
    mutating func field(_ k: String, _ v: Int64) {
        key(k)
        int(v)
    }
    mutating func field(_ k: String, _ v: String) {
        key(k)
        string(v)
    }
    mutating func field(_ k: String, _ v: Bool) {
        key(k)
        bool(v)
    }
    mutating func decimalField(_ k: String, _ text: String) {
        key(k)
        number(text)
    }
}

/// Exact decimal text from integers.
enum Decimal {
    /// numerator / denominator rounded half up to `places` decimals ("0.2513"); "0" when the
    /// denominator is 0.
    static func ratio(_ numerator: Int64, _ denominator: Int64, places: Int) -> String {
        guard denominator != 0 else { return "0" }
        var scale: Int64 = 1
        for _ in 0..<places { scale *= 10 }
        let neg = (numerator < 0) != (denominator < 0)
        let n = abs(numerator) * scale
        let d = abs(denominator)
        let q = (2 * n + d) / (2 * d)
        return (neg && q != 0 ? "-" : "") + fixed(q, places: places)
    }

    /// An integer in units of 10^-places as decimal text (12345, 2 -> "123.45").
    static func fixed(_ v: Int64, places: Int) -> String {
        guard places > 0 else { return String(v) }
        let neg = v < 0
        var digits = String(abs(v))
        while digits.count <= places { digits = "0" + digits }
        let cut = digits.index(digits.endIndex, offsetBy: -places)
        return (neg ? "-" : "") + digits[..<cut] + "." + digits[cut...]
    }
}
