#if canImport(Glibc)
    import Glibc
#endif

/// Everything a connection needs: the endpoint and credentials, timeouts and reconnect policy.
public struct RedisConfiguration: Sendable {
    public var url: RedisURL
    /// Limit for establishing TCP (or unix) connections.
    public var connectTimeout: Duration = .seconds(2)
    /// Socket read/write limit for a command; blocking commands add their own block time to it.
    public var commandTimeout: Duration = .seconds(5)
    /// TCP keep-alive, so a silently dead peer is noticed.
    public var keepAlive = true
    /// Sent as `CLIENT SETNAME` on every connect, so `CLIENT LIST` shows who is who.
    public var clientName: String?
    /// Reconnect backoff: full jitter over `base * 2^attempt`, capped at `maxDelay`.
    public var reconnectBase: Duration = .milliseconds(20)
    public var reconnectMax: Duration = .seconds(2)
    /// How long a `RedisConnection`'s I/O thread polls for the next request before sleeping.
    /// A caller that sends again right after its reply then finds the thread awake, saving a
    /// futex wake-up per round trip, at the price of that much CPU after each idle batch.
    public var ioSpin: Duration = .microseconds(20)

    public init(url: RedisURL) { self.url = url }

    /// Reads `REDIS_URL` (default `redis://127.0.0.1:6379`), then fills a missing or empty
    /// password (`redis://user:@host` names an ACL user whose password is kept elsewhere) from
    /// `REDIS_PASSWORD` or the file named by `REDIS_PASSWORD_FILE` (first line, trailing newline dropped).
    public static func fromEnvironment(_ env: [String: String] = ProcessEnvironment.all()) throws -> RedisConfiguration
    {
        var url = try RedisURL(parsing: env["REDIS_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? "redis://127.0.0.1:6379")
        if url.password == nil || url.password == "" {
            if let p = env["REDIS_PASSWORD"], !p.isEmpty {
                url.password = p
            } else if let file = env["REDIS_PASSWORD_FILE"], !file.isEmpty {
                url.password = try readSecretFile(file)
            }
        }
        return RedisConfiguration(url: url)
    }
}

/// A secret file that cannot be read; names the file, never its content.
public struct SecretFileError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "cannot read password file \(path): \(reason)" }
}

func readSecretFile(_ path: String) throws -> String {
    guard let f = fopen(path, "r") else { throw SecretFileError(path: path, reason: String(cString: strerror(errno))) }
    defer { fclose(f) }
    var buf = [UInt8](repeating: 0, count: 4096)
    let n = fread(&buf, 1, buf.count, f)
    var bytes = buf[..<n]
    if let nl = bytes.firstIndex(where: { $0 == 10 || $0 == 13 }) { bytes = bytes[..<nl] }
    guard !bytes.isEmpty else { throw SecretFileError(path: path, reason: "the file is empty") }
    return String(decoding: bytes, as: UTF8.self)
}

/// The process environment as a dictionary, without Foundation.
public enum ProcessEnvironment {
    public static func all() -> [String: String] {
        var out: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if let eq = s.firstIndex(of: "=") { out[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
            p += 1
        }
        return out
    }

    public static func get(_ name: String) -> String? {
        guard let v = getenv(name) else { return nil }
        return String(cString: v)
    }
}
