/// A Korean business registration number: 10 digits (`123-45-67890`), the last a check digit.
///
/// Check digit: with digits d1..d10 and weights 1,3,7,1,3,7,1,3,5 on d1..d9,
/// s = sum(di * wi) + floor(d9 * 5 / 10), and d10 must equal (10 - s mod 10) mod 10.
public struct BusinessNumber: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The 10 digits as an integer (leading zeros allowed).
    public let value: UInt64

    public init(unchecked value: UInt64) { self.value = value }

    public static func < (a: Self, b: Self) -> Bool { a.value < b.value }

    /// `123-45-67890`.
    public var description: String {
        var digits = Array(String(value).utf8)
        while digits.count < 10 { digits.insert(48, at: 0) }
        return String(decoding: digits[0..<3], as: UTF8.self) + "-" + String(decoding: digits[3..<5], as: UTF8.self)
            + "-"
            + String(decoding: digits[5..<10], as: UTF8.self)
    }

    /// Why a text is not a valid number.
    public enum Problem: Error, Equatable, CustomStringConvertible {
        case format
        case checkDigit(expected: UInt8, found: UInt8)

        public var description: String {
            switch self {
            case .format: return "not a business registration number (10 digits, dashes allowed)"
            case .checkDigit(let e, let f): return "check digit is \(f), expected \(e)"
            }
        }
    }

    /// Parses `1234567890` or `123-45-67890` (dashes anywhere are ignored; spaces around are
    /// tolerated) and verifies the check digit.
    public static func parse<C: Collection>(_ bytes: C) -> Result<BusinessNumber, Problem> where C.Element == UInt8 {
        var digits: [UInt8] = []
        digits.reserveCapacity(10)
        for b in bytes {
            switch b {
            case 48...57:
                guard digits.count < 10 else { return .failure(.format) }
                digits.append(b - 48)
            case 45, 32: continue
            default: return .failure(.format)
            }
        }
        guard digits.count == 10 else { return .failure(.format) }
        let expected = checkDigit(digits)
        guard expected == digits[9] else { return .failure(.checkDigit(expected: expected, found: digits[9])) }
        var v: UInt64 = 0
        for d in digits { v = v * 10 + UInt64(d) }
        return .success(BusinessNumber(unchecked: v))
    }

    public static func parse(_ text: String) -> Result<BusinessNumber, Problem> { parse(Array(text.utf8)) }

    /// The allocation-free form of `parse` for raw field bytes.
    public static func parse(bytes b: UnsafeBufferPointer<UInt8>) -> Result<BusinessNumber, Problem> {
        var v: UInt64 = 0
        var n = 0
        var s = 0
        var d9 = 0
        var last = 0
        for c in b {
            switch c {
            case 48...57:
                guard n < 10 else { return .failure(.format) }
                let d = Int(c - 48)
                if n < 9 { s += d * [1, 3, 7, 1, 3, 7, 1, 3, 5][n] }
                if n == 8 { d9 = d }
                if n == 9 { last = d }
                v = v * 10 + UInt64(d)
                n += 1
            case 45, 32: continue
            default: return .failure(.format)
            }
        }
        guard n == 10 else { return .failure(.format) }
        let expected = UInt8((10 - (s + d9 * 5 / 10) % 10) % 10)
        guard expected == UInt8(last) else { return .failure(.checkDigit(expected: expected, found: UInt8(last))) }
        return .success(BusinessNumber(unchecked: v))
    }

    static let weights: [Int] = [1, 3, 7, 1, 3, 7, 1, 3, 5]

    /// The check digit for the first nine digits.
    public static func checkDigit(_ digits: [UInt8]) -> UInt8 {
        var s = 0
        for i in 0..<9 { s += Int(digits[i]) * weights[i] }
        s += Int(digits[8]) * 5 / 10
        return UInt8((10 - s % 10) % 10)
    }

    /// The valid number whose first nine digits are those of `prefix` (0 ..< 10^9).
    public static func completing(_ prefix: UInt64) -> BusinessNumber {
        var digits = [UInt8](repeating: 0, count: 10)
        var p = prefix
        for i in (0..<9).reversed() {
            digits[i] = UInt8(p % 10)
            p /= 10
        }
        return BusinessNumber(unchecked: prefix * 10 + UInt64(checkDigit(digits)))
    }
}
