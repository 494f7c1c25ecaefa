import ArgumentParser
import ExportBench
import Logging
import ProcessSupport
import RedisClient

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure ExportGrid's speed (benchmarks print figures; they assert nothing).",
        subcommands: [RedisBench.self]
    )
}

struct RedisBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redis",
        abstract: "The Redis client against redis-benchmark -c 1, PING and SET at pipeline depth 1, 16, 256.",
        discussion: "Uses REDIS_URL when set, otherwise starts a private redis-server on a free loopback port."
    )

    @Option(help: "Requests per unpipelined row (pipelined rows use 4x).")
    var requests = 100_000

    @Option(help: "Run only these rows, as COMMAND:DEPTH (for example SET:256); repeatable.")
    var only: [String] = []

    func run() async throws {
        let logger = Logger(label: "bench")
        var server: LocalRedisServer?
        let url: RedisURL
        if let text = ProcessEnvironment.get("REDIS_URL"), !text.isEmpty {
            url = try RedisURL(parsing: text)
        } else {
            server = try LocalRedisServer()
            url = try RedisURL(parsing: server!.url)
        }
        defer { server?.stop() }
        print("redis client benchmark against \(url), \(requests) requests per unpipelined row")
        let rows = try await RedisBenchmark(url: url, requests: requests, only: Set(only), logger: logger).run()
        print(RedisBenchmark.table(rows), terminator: "")
    }
}
