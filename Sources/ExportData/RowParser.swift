import ExportDomain

/// A column of a file's schema, resolved once to its position in that file's header.
struct Column {
    let name: String
    let index: Int?
}

/// Resolves column names against a file's header.
struct ColumnMap {
    let positions: [String: Int]
    func callAsFunction(_ name: String) -> Column { Column(name: name, index: positions[name]) }
}

/// Reads typed values out of one CSV record by column, keeping the first problem found (the
/// row is then rejected whole with that reason).
struct RowParser {
    let record: CSVRecord
    private(set) var problem: (column: String, reason: String)?

    init(record: CSVRecord) { self.record = record }

    var ok: Bool { problem == nil }

    mutating func fail(_ column: Column, _ reason: String) {
        if problem == nil { problem = (column.name, reason) }
    }

    /// The field's bytes; empty when the column is absent or the row is short.
    @inline(__always)
    func bytes(_ column: Column) -> UnsafeBufferPointer<UInt8> {
        guard let i = column.index else { return UnsafeBufferPointer(start: nil, count: 0) }
        return record.bytes(i)
    }

    func isEmpty(_ column: Column) -> Bool { trimmed(bytes(column)).isEmpty }

    /// Non-empty text, valid UTF-8, trimmed.
    mutating func text(_ column: Column) -> String {
        let b = trimmed(bytes(column))
        guard !b.isEmpty else {
            fail(column, "is empty")
            return ""
        }
        guard !containsReplacementCharacter(b), isValidUTF8(b) else {
            fail(column, "is not valid text (if the file is CP949, give --encoding cp949)")
            return ""
        }
        return String(decoding: b, as: UTF8.self)
    }

    mutating func code<V>(_ column: Column, _ lookup: CodeLookup<V>, what: String) -> V? {
        let b = bytes(column)
        if let v = lookup.lookup(b) { return v }
        fail(column, lookup.unknown(b, what: what))
        return nil
    }

    /// A whole number >= 0 (digits only, spaces around allowed).
    mutating func count(_ column: Column, max: Int64 = Int64.max / 4) -> Int64 {
        let b = trimmed(bytes(column))
        switch parseInteger(b) {
        case .some(let v) where v >= 0 && v <= max: return v
        case .some(let v) where v < 0:
            fail(column, "is negative (\(v))")
        case .some:
            fail(column, "is larger than \(max)")
        case .none:
            fail(column, b.isEmpty ? "is empty" : "is not a whole number ('\(String(decoding: b, as: UTF8.self))')")
        }
        return 0
    }

    /// As `count`, nil when the column is absent or empty.
    mutating func optionalCount(_ column: Column, max: Int64 = Int64.max / 4) -> Int64? {
        isEmpty(column) ? nil : count(column, max: max)
    }

    /// true/false/1/0/Y/N (any case); empty is false.
    mutating func bool(_ column: Column) -> Bool {
        let b = trimmed(bytes(column))
        if b.isEmpty { return false }
        if b.count == 1 {
            switch b[0] {
            case 49, 89, 121: return true  // 1 Y y
            case 48, 78, 110: return false  // 0 N n
            default: break
            }
        }
        if equalsIgnoringCase(b, "true") || equalsIgnoringCase(b, "yes") { return true }
        if equalsIgnoringCase(b, "false") || equalsIgnoringCase(b, "no") { return false }
        fail(
            column,
            "is not a boolean ('\(String(decoding: b, as: UTF8.self).lowercased())'; use true/false, 1/0 or Y/N)")
        return false
    }

    /// A decimal in [0, 1] as permille, with at most three decimals (0.25 -> 250).
    mutating func rate(_ column: Column) -> Int {
        let b = trimmed(bytes(column))
        guard let p = parsePermille(b) else {
            fail(column, b.isEmpty ? "is empty" : "is not a decimal number ('\(String(decoding: b, as: UTF8.self))')")
            return 0
        }
        guard (0...1000).contains(p) else {
            fail(column, "is out of range (\(String(decoding: b, as: UTF8.self)); expected 0 to 1)")
            return 0
        }
        return p
    }

    /// A non-negative decimal with at most `places` decimals, scaled by 10^places (3.99 with 2
    /// places -> 399), within `range` of the scaled value.
    mutating func decimal(_ column: Column, places: Int, range: ClosedRange<Int>) -> Int {
        let b = trimmed(bytes(column))
        let text = String(decoding: b, as: UTF8.self)
        guard let p = parsePermille(b), p % Int(pow10(3 - places)) == 0 else {
            fail(column, b.isEmpty ? "is empty" : "is not a decimal with at most \(places) decimals ('\(text)')")
            return 0
        }
        let v = p / Int(pow10(3 - places))
        guard range.contains(v) else {
            fail(column, "\(text) is out of range")
            return 0
        }
        return v
    }

    /// A `;`-separated list, each item trimmed, empty items skipped; calls `body` per item.
    func forEachItem(_ column: Column, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        let b = bytes(column)
        var start = 0
        for i in 0...b.count where i == b.count || b[i] == 59 {
            let item = trimmed(UnsafeBufferPointer(rebasing: b[start..<i]))
            if !item.isEmpty { body(item) }
            start = i + 1
        }
    }

    /// A list of codes into a bit mask.
    mutating func codeSet<V>(_ column: Column, _ lookup: CodeLookup<V>, what: String, bit: (V) -> UInt16) -> UInt16 {
        var mask: UInt16 = 0
        var bad: String?
        forEachItem(column) { item in
            if let v = lookup.lookup(item) {
                mask |= bit(v)
            } else if bad == nil {
                bad = lookup.unknown(item, what: what)
            }
        }
        if let bad { fail(column, bad) }
        return mask
    }
}

func pow10(_ n: Int) -> Int64 {
    var v: Int64 = 1
    for _ in 0..<max(0, n) { v *= 10 }
    return v
}

/// ASCII case-insensitive comparison with a lower-case literal.
@inline(__always)
func equalsIgnoringCase(_ b: UnsafeBufferPointer<UInt8>, _ lower: StaticString) -> Bool {
    guard b.count == lower.utf8CodeUnitCount else { return false }
    let l = lower.utf8Start
    for i in 0..<b.count where (b[i] | 0x20) != l[i] { return false }
    return true
}

/// True when the bytes hold U+FFFD (EF BF BD): what CP949 conversion leaves for bytes it could
/// not read.
func containsReplacementCharacter(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
    guard b.count >= 3 else { return false }
    for i in 0..<(b.count - 2) where b[i] == 0xEF && b[i + 1] == 0xBF && b[i + 2] == 0xBD { return true }
    return false
}

/// Bytes without surrounding spaces and tabs.
func trimmed(_ b: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
    var lo = 0
    var hi = b.count
    while lo < hi && (b[lo] == 32 || b[lo] == 9) { lo += 1 }
    while hi > lo && (b[hi - 1] == 32 || b[hi - 1] == 9) { hi -= 1 }
    return UnsafeBufferPointer(rebasing: b[lo..<hi])
}

/// A decimal integer with an optional leading minus; nil when not one or out of range.
func parseInteger(_ b: UnsafeBufferPointer<UInt8>) -> Int64? {
    guard !b.isEmpty else { return nil }
    var i = 0
    var negative = false
    if b[0] == 45 {
        negative = true
        i = 1
        guard b.count > 1 else { return nil }
    } else if b[0] == 43 {
        i = 1
        guard b.count > 1 else { return nil }
    }
    var v: Int64 = 0
    while i < b.count {
        let d = b[i] &- 48
        guard d < 10, b.count - i <= 19 || v < Int64.max / 10 else { return nil }
        let (m, o1) = v.multipliedReportingOverflow(by: 10)
        let (a, o2) = m.addingReportingOverflow(Int64(d))
        guard d < 10, !o1, !o2 else { return nil }
        v = a
        i += 1
    }
    return negative ? -v : v
}

/// A non-negative decimal like `0.25`, `1`, `.5` as permille; nil when not one or when it has
/// more than three decimals.
func parsePermille(_ b: UnsafeBufferPointer<UInt8>) -> Int? {
    guard !b.isEmpty else { return nil }
    var whole = 0
    var frac = 0
    var fracDigits = 0
    var seenDot = false
    var digits = 0
    for c in b {
        if c == 46 {
            if seenDot { return nil }
            seenDot = true
            continue
        }
        guard c >= 48 && c <= 57 else { return nil }
        digits += 1
        if seenDot {
            fracDigits += 1
            guard fracDigits <= 3 else { return nil }
            frac = frac * 10 + Int(c - 48)
        } else {
            whole = whole * 10 + Int(c - 48)
            guard whole < 1_000_000 else { return nil }
        }
    }
    guard digits > 0 else { return nil }
    while fracDigits < 3 {
        frac *= 10
        fracDigits += 1
    }
    return whole * 1000 + frac
}
