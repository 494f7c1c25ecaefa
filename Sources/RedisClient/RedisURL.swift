/// Where and how to reach Redis, parsed from `REDIS_URL`.
///
/// Accepted forms: `redis://[user:password@]host[:port][/db]`, `redis://:password@host`,
/// `unix:///path/to/socket[?db=N]` (credentials as `unix://user:password@/path`).
/// The password is never part of `description` or of any parse error.
public struct RedisURL: Sendable, Equatable, CustomStringConvertible {
    /// The transport endpoint.
    public enum Endpoint: Sendable, Equatable {
        case tcp(host: String, port: Int)
        case unix(path: String)
    }

    public var endpoint: Endpoint
    /// ACL user name (Redis 6+); nil means the legacy `AUTH password` form.
    public var user: String?
    public var password: String?
    public var database: Int

    public init(endpoint: Endpoint, user: String? = nil, password: String? = nil, database: Int = 0) {
        self.endpoint = endpoint
        self.user = user
        self.password = password
        self.database = database
    }

    /// The URL with the password replaced by `***`, safe for logs.
    public var description: String {
        var auth = ""
        if let user { auth = percentEncode(user) }
        if password != nil { auth += ":***" }
        if !auth.isEmpty { auth += "@" }
        switch endpoint {
        case .tcp(let host, let port):
            let h = host.contains(":") ? "[\(host)]" : host
            return "redis://\(auth)\(h):\(port)" + (database == 0 ? "" : "/\(database)")
        case .unix(let path):
            return "unix://\(auth)\(path)" + (database == 0 ? "" : "?db=\(database)")
        }
    }

    /// Parses a URL; errors name the problem and never contain the password.
    public init(parsing text: String) throws(RedisURLError) {
        let trimmed = text.trimmingWhitespace()
        guard !trimmed.isEmpty else { throw RedisURLError(reason: "the URL is empty") }
        guard let schemeEnd = trimmed.range(of: "://") else {
            throw RedisURLError(reason: "missing scheme; expected redis://host:port or unix:///path")
        }
        let scheme = trimmed[..<schemeEnd.lowerBound].lowercased()
        var rest = Substring(trimmed[schemeEnd.upperBound...])
        var user: String?
        var password: String?
        // Credentials end at the last '@' before the path, so passwords may contain '@' when encoded.
        let authorityEnd: Substring.Index
        if scheme == "unix" {
            authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        } else {
            authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        }
        if let at = rest[..<authorityEnd].lastIndex(of: "@") {
            let creds = rest[..<at]
            if let colon = creds.firstIndex(of: ":") {
                let u = String(creds[..<colon])
                user = u.isEmpty ? nil : try Self.decode(u, what: "user name")
                password = try Self.decode(String(creds[creds.index(after: colon)...]), what: "password")
            } else if !creds.isEmpty {
                // A lone credential is a password (the redis-cli convention), never echoed.
                password = try Self.decode(String(creds), what: "password")
            }
            rest = rest[rest.index(after: at)...]
        }
        switch scheme {
        case "redis":
            self = try Self.parseTCP(rest, user: user, password: password)
        case "unix":
            self = try Self.parseUnix(rest, user: user, password: password)
        case "rediss":
            throw RedisURLError(
                reason: "rediss:// (TLS) is not supported by hiredis 0.14; use a local TLS tunnel (see ops/README.md)")
        default:
            throw RedisURLError(reason: "unsupported scheme '\(scheme)'; expected redis:// or unix://")
        }
    }

    private static func parseTCP(_ rest: Substring, user: String?, password: String?) throws(RedisURLError) -> RedisURL
    {
        var hostPort = rest
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            hostPort = rest[..<slash]
            let dbText = rest[rest.index(after: slash)...]
            if !dbText.isEmpty {
                guard let db = Int(dbText), db >= 0, db < 1 << 20 else {
                    throw RedisURLError(reason: "database '\(dbText)' is not a non-negative integer")
                }
                database = db
            }
        }
        var host: Substring
        var portText: Substring?
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else {
                throw RedisURLError(reason: "unterminated IPv6 address")
            }
            host = hostPort[hostPort.index(after: hostPort.startIndex)..<close]
            let after = hostPort[hostPort.index(after: close)...]
            if after.hasPrefix(":") {
                portText = after.dropFirst()
            } else if !after.isEmpty {
                throw RedisURLError(reason: "unexpected text after IPv6 address")
            }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = hostPort[..<colon]
            portText = hostPort[hostPort.index(after: colon)...]
        } else {
            host = hostPort
        }
        guard !host.isEmpty else { throw RedisURLError(reason: "missing host") }
        guard host.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == ":" || $0 == "_" })
        else { throw RedisURLError(reason: "host '\(host)' has characters a host name cannot have") }
        var port = 6379
        if let portText {
            guard let p = Int(portText), (1...65535).contains(p) else {
                throw RedisURLError(reason: "port '\(portText)' is not a number from 1 to 65535")
            }
            port = p
        }
        return RedisURL(
            endpoint: .tcp(host: String(host), port: port), user: user, password: password, database: database)
    }

    private static func parseUnix(_ rest: Substring, user: String?, password: String?) throws(RedisURLError) -> RedisURL
    {
        var path = rest
        var database = 0
        if let q = rest.firstIndex(of: "?") {
            path = rest[..<q]
            for item in rest[rest.index(after: q)...].split(separator: "&") {
                let kv = item.split(separator: "=", maxSplits: 1)
                guard kv.count == 2, kv[0] == "db", let db = Int(kv[1]), db >= 0 else {
                    throw RedisURLError(reason: "unix URL query accepts only db=N")
                }
                database = db
            }
        }
        guard path.hasPrefix("/"), path.count > 1 else {
            throw RedisURLError(reason: "unix socket path must be absolute, as in unix:///run/redis.sock")
        }
        return RedisURL(endpoint: .unix(path: String(path)), user: user, password: password, database: database)
    }

    private static func decode(_ text: String, what: String) throws(RedisURLError) -> String {
        guard text.contains("%") else { return text }
        var bytes: [UInt8] = []
        var it = Array(text.utf8)[...]
        while let b = it.popFirst() {
            if b == UInt8(ascii: "%") {
                guard it.count >= 2, let hi = hexValue(it[it.startIndex]), let lo = hexValue(it[it.startIndex + 1])
                else { throw RedisURLError(reason: "bad percent-encoding in the \(what)") }
                bytes.append(hi << 4 | lo)
                it = it.dropFirst(2)
            } else {
                bytes.append(b)
            }
        }
        guard let s = String(validating: bytes, as: UTF8.self) else {
            throw RedisURLError(reason: "the \(what) is not valid UTF-8 after decoding")
        }
        return s
    }
}

/// A `REDIS_URL` that cannot be used; the reason never contains the password.
public struct RedisURLError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public var description: String { "invalid REDIS_URL: \(reason)" }
}

private func hexValue(_ b: UInt8) -> UInt8? {
    switch b {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
    default: return nil
    }
}

private func percentEncode(_ s: String) -> String {
    var out = ""
    for b in s.utf8 {
        let c = Character(Unicode.Scalar(b))
        if b < 0x80, c.isLetter || c.isNumber || "-._~".contains(c) {
            out.append(c)
        } else {
            out += "%" + String(b, radix: 16, uppercase: true).leftPadded(to: 2)
        }
    }
    return out
}

extension String {
    fileprivate func leftPadded(to n: Int) -> String {
        count >= n ? self : String(repeating: "0", count: n - count) + self
    }
    fileprivate func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return String(s)
    }
    fileprivate func range(of needle: String) -> Range<String.Index>? {
        guard !needle.isEmpty else { return nil }
        var i = startIndex
        while i < endIndex {
            if self[i...].hasPrefix(needle) { return i..<index(i, offsetBy: needle.count) }
            i = index(after: i)
        }
        return nil
    }
}
