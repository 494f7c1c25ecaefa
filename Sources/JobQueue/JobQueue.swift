import Logging
import RedisClient

/// The queue client: enqueue, groups, reservation and completion, and administration. It holds
/// no state of its own beyond configuration; every change is one Lua script on Redis.
///
/// Thread-safe: share one instance (and its connection) across tasks.
public struct JobQueue: Sendable {
    public let redis: RedisConnection
    public let keys: QueueKeys
    public let clock: any QueueClock
    public var retention: Retention
    let logger: Logger

    public init(
        redis: RedisConnection, namespace: String = "exportgrid", clock: any QueueClock = .server,
        retention: Retention = .default, logger: Logger
    ) {
        self.redis = redis
        self.keys = QueueKeys(namespace: namespace)
        self.clock = clock
        self.retention = retention
        self.logger = logger
    }

    /// The namespace from `EXPORTGRID_NAMESPACE`, or `exportgrid`.
    public static func namespaceFromEnvironment() -> String {
        let v = ProcessEnvironment.get("EXPORTGRID_NAMESPACE") ?? ""
        return v.isEmpty ? "exportgrid" : v
    }

    /// Prefix and clock: the first two arguments of every script.
    var head: [RedisArgument] { [.string(keys.prefix), .int(Int(clock.nowMillis()))] }

    func run(_ script: RedisScript, keys: [String], args: [RedisArgument]) async throws -> RedisReply {
        try await redis.run(script, keys: keys, args: head + args)
    }

    /// Loads every script now, so a fresh server's first calls skip the NOSCRIPT round trip.
    public func loadScripts() async throws {
        let replies = try await redis.pipeline(
            QueueScripts.all.map { RedisCommand("SCRIPT", ["LOAD", .string($0.source)]) })
        for (script, reply) in zip(QueueScripts.all, replies) {
            guard reply.string == script.sha else {
                throw QueueError.malformedReply("loading script \(script.name): \(reply)")
            }
        }
    }
}

extension RedisReply {
    /// The array, or a malformed-reply error naming what was expected.
    public func expectArray(_ what: String) throws -> [RedisReply] {
        guard let a = array else { throw QueueError.malformedReply("\(what): expected an array, got \(self)") }
        return a
    }

    public func expectInt(_ what: String) throws -> Int64 {
        guard let i = int else { throw QueueError.malformedReply("\(what): expected an integer, got \(self)") }
        return i
    }

    public func expectString(_ what: String) throws -> String {
        guard let s = string else { throw QueueError.malformedReply("\(what): expected a string, got \(self)") }
        return s
    }
}
