/// One command in argv form: every argument is length-prefixed bytes, never interpolated into a
/// format string, so any byte (NUL, CR, LF, non-UTF-8) travels as is.
///
/// Arguments are kept already encoded as RESP bulk strings in one contiguous buffer, so sending
/// a command is one copy into hiredis's output buffer (hiredis's own argv formatting was the
/// largest cost of deep pipelines).
public struct RedisCommand: Sendable, Equatable, ExpressibleByArrayLiteral {
    /// `$<len>\r\n<bytes>\r\n` for each argument, in order.
    var resp: [UInt8] = []
    /// Number of arguments, the command name included.
    public internal(set) var count = 0

    public init() {}

    public init(_ name: String, _ args: [RedisArgument] = []) {
        resp.reserveCapacity(16 + name.utf8.count + args.count * 16)
        append(name)
        for a in args { append(a) }
    }

    public init(arrayLiteral elements: RedisArgument...) {
        for e in elements { append(e) }
    }

    public var isEmpty: Bool { count == 0 }

    /// The bytes of argument `i` (decoded from the RESP buffer; not for hot paths).
    public func argument(_ i: Int) -> ArraySlice<UInt8> {
        precondition(i >= 0 && i < count, "argument index out of range")
        var pos = 0
        var k = 0
        while true {
            pos += 1  // '$'
            var len = 0
            while resp[pos] != 13 {
                len = len * 10 + Int(resp[pos] - 48)
                pos += 1
            }
            pos += 2
            if k == i { return resp[pos..<pos + len] }
            pos += len + 2
            k += 1
        }
    }

    /// The command name, upper-cased, for error messages and metrics.
    public var name: String {
        isEmpty ? "" : String(decoding: argument(0), as: UTF8.self).uppercased()
    }

    public mutating func append(_ s: String) {
        var s = s
        s.withUTF8 { append(bytes: $0) }
    }

    public mutating func append<C: Collection>(bytes: C) where C.Element == UInt8 {
        resp.append(36)  // '$'
        appendDecimal(bytes.count)
        resp.append(13)
        resp.append(10)
        resp.append(contentsOf: bytes)
        resp.append(13)
        resp.append(10)
        count += 1
    }

    /// Appends an integer argument as its decimal text.
    public mutating func append(_ i: Int) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buf in
            var v = i.magnitude
            var start = 20
            repeat {
                start -= 1
                buf[start] = UInt8(48 + v % 10)
                v /= 10
            } while v > 0
            if i < 0 {
                start -= 1
                buf[start] = 45  // '-'
            }
            append(bytes: UnsafeBufferPointer(rebasing: buf[start..<20]))
        }
    }

    public mutating func append(_ i: Int64) { append(Int(i)) }

    public mutating func append(_ a: RedisArgument) {
        switch a {
        case .string(let s): append(s)
        case .bytes(let b): append(bytes: b)
        case .int(let i): append(i)
        }
    }

    mutating func appendDecimal(_ n: Int) {
        if n < 10 {
            resp.append(UInt8(48 + n))
            return
        }
        var divisor = 1
        while divisor <= n / 10 { divisor *= 10 }
        var v = n
        while divisor > 0 {
            resp.append(UInt8(48 + v / divisor))
            v %= divisor
            divisor /= 10
        }
    }

    /// Calls `body` with the `*<count>\r\n` header and the encoded arguments.
    func withEncoded<R>(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> R) -> R {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 24) { header in
            var h = 0
            header[h] = 42  // '*'
            h += 1
            var divisor = 1
            while divisor <= count / 10 { divisor *= 10 }
            var v = count
            while divisor > 0 {
                header[h] = UInt8(48 + v / divisor)
                v %= divisor
                divisor /= 10
                h += 1
            }
            header[h] = 13
            header[h + 1] = 10
            h += 2
            return resp.withUnsafeBytes {
                body(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(header)[0..<h]), $0)
            }
        }
    }
}

/// One argument of a command.
public enum RedisArgument: Sendable, Equatable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    case string(String)
    case bytes([UInt8])
    case int(Int)

    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
}
