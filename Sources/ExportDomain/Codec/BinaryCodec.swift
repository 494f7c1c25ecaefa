/// A compact, deterministic binary encoding for values that travel between machines through
/// Redis: unsigned LEB128 varints, zigzag for signed, length-prefixed bytes. The same value
/// always encodes to the same bytes.
public struct BinaryWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init() { bytes.reserveCapacity(256) }

    /// Empties the buffer, keeping its capacity.
    public mutating func reset() { bytes.removeAll(keepingCapacity: true) }

    public mutating func u8(_ v: UInt8) { bytes.append(v) }

    public mutating func varint(_ v: UInt64) {
        var x = v
        while x >= 0x80 {
            bytes.append(UInt8(x & 0x7F) | 0x80)
            x >>= 7
        }
        bytes.append(UInt8(x))
    }

    public mutating func int(_ v: Int64) { varint(UInt64(bitPattern: (v << 1) ^ (v >> 63))) }
    public mutating func int(_ v: Int) { int(Int64(v)) }
    public mutating func bool(_ v: Bool) { u8(v ? 1 : 0) }

    public mutating func bytes<C: Collection>(_ b: C) where C.Element == UInt8 {
        varint(UInt64(b.count))
        bytes.append(contentsOf: b)
    }

    public mutating func string(_ s: String) { bytes(Array(s.utf8)) }

    public mutating func optionalInt(_ v: Int?) {
        if let v {
            u8(1)
            int(v)
        } else {
            u8(0)
        }
    }
}

/// Why bytes could not be decoded. Payloads from Redis are untrusted: every length is bounded
/// before anything is allocated.
public struct DecodeError: Error, Sendable, Equatable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "malformed payload: \(reason)" }
}

public struct BinaryReader {
    private let data: [UInt8]
    private var pos = 0
    /// Longest string or byte field accepted.
    public var maxBytesLength = 1 << 20
    /// Most elements accepted in one list.
    public var maxCount = 10_000_000

    public init(_ bytes: [UInt8]) { self.data = bytes }

    public var isAtEnd: Bool { pos == data.count }

    public mutating func u8() throws(DecodeError) -> UInt8 {
        guard pos < data.count else { throw DecodeError("truncated at byte \(pos)") }
        defer { pos += 1 }
        return data[pos]
    }

    public mutating func varint() throws(DecodeError) -> UInt64 {
        var v: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try u8()
            guard shift < 64 && (shift < 63 || b <= 1) else { throw DecodeError("varint too long at byte \(pos)") }
            v |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return v }
            shift += 7
        }
    }

    public mutating func int() throws(DecodeError) -> Int64 {
        let u = try varint()
        return Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }

    public mutating func intValue() throws(DecodeError) -> Int {
        let v = try int()
        guard let i = Int(exactly: v) else { throw DecodeError("integer out of range") }
        return i
    }

    public mutating func bool() throws(DecodeError) -> Bool {
        switch try u8() {
        case 0: return false
        case 1: return true
        default: throw DecodeError("bad boolean at byte \(pos - 1)")
        }
    }

    /// A count for a list, checked against `maxCount` and against the bytes left (every element
    /// takes at least `minElementBytes`).
    public mutating func count(minElementBytes: Int = 1) throws(DecodeError) -> Int {
        let n = try varint()
        guard n <= UInt64(maxCount), n <= UInt64(data.count - pos) / UInt64(max(1, minElementBytes)) else {
            throw DecodeError("list of \(n) elements does not fit the payload")
        }
        return Int(n)
    }

    public mutating func bytes() throws(DecodeError) -> [UInt8] {
        let n = try varint()
        guard n <= UInt64(maxBytesLength), n <= UInt64(data.count - pos) else {
            throw DecodeError("field of \(n) bytes does not fit the payload")
        }
        defer { pos += Int(n) }
        return Array(data[pos..<pos + Int(n)])
    }

    /// Reads a length-prefixed field's position without copying it (for fields decoded later,
    /// or never).
    public mutating func byteRange() throws(DecodeError) -> Range<Int> {
        let n = try varint()
        guard n <= UInt64(maxBytesLength), n <= UInt64(data.count - pos) else {
            throw DecodeError("field of \(n) bytes does not fit the payload")
        }
        defer { pos += Int(n) }
        return pos..<pos + Int(n)
    }

    public mutating func string() throws(DecodeError) -> String {
        let b = try bytes()
        guard let s = String(validating: b, as: UTF8.self) else { throw DecodeError("invalid UTF-8 text") }
        return s
    }

    public mutating func optionalInt() throws(DecodeError) -> Int? { try bool() ? intValue() : nil }

    public mutating func code<E: DomainCode>(_: E.Type) throws(DecodeError) -> E {
        let i = try intValue()
        let all = Array(E.allCases)
        guard i >= 0 && i < all.count else { throw DecodeError("\(E.self) code \(i) out of range") }
        return all[i]
    }

    /// Checks the envelope: magic "EG", the payload kind and a supported version.
    public mutating func envelope(kind: UInt8, version: UInt8) throws(DecodeError) {
        guard try u8() == 0x45, try u8() == 0x47 else { throw DecodeError("not an ExportGrid payload") }
        let k = try u8()
        guard k == kind else { throw DecodeError("payload kind \(k), expected \(kind)") }
        let v = try u8()
        guard v == version else { throw DecodeError("payload version \(v); this program reads version \(version)") }
    }

    public func expectEnd() throws(DecodeError) {
        guard isAtEnd else { throw DecodeError("\(data.count - pos) trailing bytes") }
    }
}

extension BinaryWriter {
    public mutating func envelope(kind: UInt8, version: UInt8) {
        u8(0x45)
        u8(0x47)
        u8(kind)
        u8(version)
    }

    public mutating func code<E: DomainCode>(_ e: E) { int(Array(E.allCases).firstIndex(of: e)!) }
}

/// Payload kinds (the third envelope byte).
public enum PayloadKind {
    public static let firms: UInt8 = 1
    public static let chunkResult: UInt8 = 2
    public static let pool: UInt8 = 3
    public static let ecosystemInput: UInt8 = 4
    public static let ecosystemResult: UInt8 = 5
    public static let dataset: UInt8 = 6
    public static let runTables: UInt8 = 7
    public static let exportRecords: UInt8 = 8
}

extension BinaryWriter {
    public mutating func list<T>(_ xs: [T], _ body: (inout BinaryWriter, T) -> Void) {
        varint(UInt64(xs.count))
        for x in xs { body(&self, x) }
    }

    public mutating func firmID(_ id: BusinessNumber) { varint(id.value) }
}

extension BinaryReader {
    /// A list whose elements each take at least `minElementBytes` (bounds the count before
    /// anything is allocated).
    public mutating func list<T>(
        minElementBytes: Int, _ body: (inout BinaryReader) throws(DecodeError) -> T
    ) throws(DecodeError) -> [T] {
        let n = try count(minElementBytes: minElementBytes)
        var out: [T] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try body(&self)) }
        return out
    }

    public mutating func firmID() throws(DecodeError) -> BusinessNumber {
        let v = try varint()
        guard v < 10_000_000_000 else { throw DecodeError("firm id out of range") }
        return BusinessNumber(unchecked: v)
    }

    /// A market index below `markets`.
    public mutating func market(_ markets: Int) throws(DecodeError) -> UInt8 {
        let m = try u8()
        guard Int(m) < markets else { throw DecodeError("market index \(m) out of range") }
        return m
    }

    /// An integer in `range`.
    public mutating func int(in range: ClosedRange<Int>, _ what: String) throws(DecodeError) -> Int {
        let v = try intValue()
        guard range.contains(v) else { throw DecodeError("\(what) \(v) out of range") }
        return v
    }
}
