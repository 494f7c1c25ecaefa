/// A Lua script known by its SHA-1, run with EVALSHA and loaded on NOSCRIPT.
public struct RedisScript: Sendable, Hashable {
    public let source: String
    public let sha: String
    /// A short name for logs and metrics.
    public let name: String

    public init(name: String, source: String) {
        self.name = name
        self.source = source
        self.sha = SHA1.hex(Array(source.utf8))
    }

    /// `EVALSHA sha numkeys keys... args...`.
    public func command(keys: [String], args: [RedisArgument]) -> RedisCommand {
        var c = RedisCommand()
        c.append("EVALSHA")
        c.append(sha)
        c.append(keys.count)
        for k in keys { c.append(k) }
        for a in args { c.append(a) }
        return c
    }

    var loadCommand: RedisCommand { RedisCommand("SCRIPT", ["LOAD", .string(source)]) }
}
