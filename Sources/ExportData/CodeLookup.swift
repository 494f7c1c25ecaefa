import ExportDomain

/// Maps field bytes to a code, ignoring ASCII case and surrounding spaces, without allocating:
/// an open-addressing table of FNV-1a hashes of the upper-cased keys.
public struct CodeLookup<Value: Sendable>: Sendable {
    private var keys: [[UInt8]] = []
    private var values: [Value] = []
    /// Slot -> key index + 1 (0 = empty); size a power of two, at least 4x the keys.
    private var slots: [Int32] = []
    private var hashes: [UInt64] = []
    private var mask = 0
    /// The valid codes, for suggestions.
    public let codes: [String]

    public init(_ pairs: [(String, Value)]) {
        codes = pairs.map(\.0).sorted()
        var size = 8
        while size < pairs.count * 4 { size *= 2 }
        slots = [Int32](repeating: 0, count: size)
        hashes = [UInt64](repeating: 0, count: size)
        mask = size - 1
        for (k, v) in pairs {
            let key = Array(k.uppercased().utf8)
            let h = key.withUnsafeBufferPointer { Self.hash($0) }
            var i = Int(h & UInt64(mask))
            while slots[i] != 0 { i = (i + 1) & mask }
            keys.append(key)
            values.append(v)
            slots[i] = Int32(keys.count)
            hashes[i] = h
        }
    }

    /// FNV-1a over the trimmed, upper-cased bytes.
    @inline(__always)
    static func hash(_ b: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for c in b {
            h ^= UInt64((c >= 97 && c <= 122) ? c - 32 : c)
            h &*= 0x100_0000_01b3
        }
        return h
    }

    public func lookup(_ bytes: UnsafeBufferPointer<UInt8>) -> Value? {
        let key = trimmed(bytes)
        guard !key.isEmpty else { return nil }
        let h = Self.hash(key)
        var i = Int(h & UInt64(mask))
        while true {
            let s = slots[i]
            if s == 0 { return nil }
            if hashes[i] == h {
                let k = keys[Int(s) - 1]
                if k.count == key.count {
                    var same = true
                    for j in 0..<key.count {
                        let c = key[j]
                        if k[j] != ((c >= 97 && c <= 122) ? c - 32 : c) {
                            same = false
                            break
                        }
                    }
                    if same { return values[Int(s) - 1] }
                }
            }
            i = (i + 1) & mask
        }
    }

    /// The reason text for an unknown code, with the closest valid code when plausible.
    public func unknown(_ bytes: UnsafeBufferPointer<UInt8>, what: String) -> String {
        let text = String(decoding: bytes, as: UTF8.self).trimmingSpaces()
        if text.isEmpty { return "\(what) is empty" }
        if let near = closestCode(to: text, among: codes) { return "unknown \(what) '\(text)' (did you mean \(near)?)" }
        return codes.count <= 16
            ? "unknown \(what) '\(text)' (valid: \(codes.joined(separator: ", ")))" : "unknown \(what) '\(text)'"
    }
}

extension CodeLookup where Value: DomainCode {
    /// A lookup over every case of a code enum.
    public static func of(_: Value.Type) -> CodeLookup<Value> {
        CodeLookup<Value>(Value.allCases.map { ($0.rawValue, $0) })
    }
}

/// The lookups ingestion uses, built once.
public struct Lookups: Sendable {
    public let office = CodeLookup.of(Office.self)
    public let industry = CodeLookup.of(Industry.self)
    public let role = CodeLookup.of(ValueChainRole.self)
    public let size = CodeLookup.of(SizeClass.self)
    public let channel = CodeLookup.of(Channel.self)
    public let recommender = CodeLookup.of(Recommender.self)
    public let certification = CodeLookup.of(Certification.self)
    public let institutionKind = CodeLookup.of(InstitutionKind.self)
    public let bloc = CodeLookup.of(Bloc.self)
    public let market: CodeLookup<UInt8>

    public init(markets: MarketTable) {
        market = CodeLookup<UInt8>(markets.markets.enumerated().map { ($0.element.code, UInt8($0.offset)) })
    }
}

/// Firm ids seen so far, with the line and industry of each: open addressing over raw memory,
/// one 64-bit word per slot (id + 1 in the low 35 bits, line in the next 24, industry in the top
/// 5), a multiplicative hash, one probe sequence per insert. Swift's Dictionary would SipHash
/// every key and take four times the memory. Owner: the reader that builds it.
public final class UInt64Map: @unchecked Sendable {
    private var slots: UnsafeMutablePointer<UInt64>
    private var mask: Int
    private(set) var count = 0

    static let keyBits: UInt64 = 35
    static let lineBits: UInt64 = 24

    public init(capacity: Int = 1024) {
        var size = 16
        while size < capacity * 2 { size *= 2 }
        slots = .allocate(capacity: size)
        slots.initialize(repeating: 0, count: size)
        mask = size - 1
    }

    deinit { slots.deallocate() }

    /// The line (low 32 bits) and industry index (bits 32-39) stored for `k`.
    public subscript(_ k: UInt64) -> UInt64? {
        let stored = k &+ 1
        let slots = self.slots
        let mask = self.mask
        var i = Int(truncatingIfNeeded: (k &* 0x9E37_79B9_7F4A_7C15) >> 24) & mask
        while true {
            let e = slots[i]
            if e == 0 { return nil }
            if e & ((1 << Self.keyBits) - 1) == stored { return Self.unpack(e) }
            i = (i + 1) & mask
        }
    }

    /// Inserts (line | industry << 32) for `k` unless present; returns the existing value, or nil.
    @discardableResult
    public func insertIfAbsent(_ k: UInt64, _ v: UInt64) -> UInt64? {
        if (count + 1) * 2 > mask + 1 { grow() }
        let stored = k &+ 1
        let line = min(v & 0xFFFF_FFFF, (1 << Self.lineBits) - 1)
        let packed = stored | line << Self.keyBits | (v >> 32) << (Self.keyBits + Self.lineBits)
        let slots = self.slots
        let mask = self.mask
        var i = Int(truncatingIfNeeded: (k &* 0x9E37_79B9_7F4A_7C15) >> 24) & mask
        while true {
            let e = slots[i]
            if e == 0 {
                slots[i] = packed
                count += 1
                return nil
            }
            if e & ((1 << Self.keyBits) - 1) == stored { return Self.unpack(e) }
            i = (i + 1) & mask
        }
    }

    /// Touches the slots `keys` hash to, with independent loads the CPU overlaps, so the
    /// inserts that follow find them in cache (the table is far larger than the cache).
    func prefetch(_ keys: UnsafeBufferPointer<UInt64>) {
        let slots = self.slots
        let mask = self.mask
        var sink: UInt64 = 0
        for k in keys { sink &+= slots[Int(truncatingIfNeeded: (k &* 0x9E37_79B9_7F4A_7C15) >> 24) & mask] }
        if sink == 0x5EED { count += 0 }
    }

    private static func unpack(_ e: UInt64) -> UInt64 {
        (e >> keyBits) & ((1 << lineBits) - 1) | (e >> (keyBits + lineBits)) << 32
    }

    private func grow() {
        let old = slots
        let oldSize = mask + 1
        let size = oldSize * 2
        slots = .allocate(capacity: size)
        slots.initialize(repeating: 0, count: size)
        mask = size - 1
        for j in 0..<oldSize where old[j] != 0 {
            let e = old[j]
            let k = (e & ((1 << Self.keyBits) - 1)) &- 1
            var i = Int(truncatingIfNeeded: (k &* 0x9E37_79B9_7F4A_7C15) >> 24) & mask
            while slots[i] != 0 { i = (i + 1) & mask }
            slots[i] = e
        }
        old.deallocate()
    }
}
