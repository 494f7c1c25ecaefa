import Foundation
import Logging
import ProcessSupport
import RedisClient

/// `exportctl bench redis`: PING and SET on one connection, unpipelined and in pipelines of 16
/// and 256, through the project's client, next to `redis-benchmark -c 1 -P n` on the same server
/// in the same run.
public struct RedisBenchmark {
    public struct Row {
        public var command: String
        public var pipeline: Int
        public var redisBenchmark: Double
        public var blocking: Double
        public var async: Double
    }

    public var url: RedisURL
    public var requests: Int
    public var logger: Logger
    /// Rows to run as `COMMAND:depth` (for example `SET:256`); empty runs all six.
    public var only: Set<String>

    public init(url: RedisURL, requests: Int, only: Set<String> = [], logger: Logger) {
        self.url = url
        self.requests = requests
        self.only = only
        self.logger = logger
    }

    public func run() async throws -> [Row] {
        guard let tool = findExecutable("redis-benchmark") else {
            throw BenchError("redis-benchmark is not installed (apt-get install redis-tools)")
        }
        var rows: [Row] = []
        for (name, test) in [("PING", "ping"), ("SET", "set")] {
            for p in [1, 16, 256] where only.isEmpty || only.contains("\(name):\(p)") {
                let n = p == 1 ? requests : requests * 4
                let reference = try runRedisBenchmark(tool: tool, test: test, pipeline: p, requests: n)
                let blocking = try measureBlocking(command: name, pipeline: p, requests: n)
                let async = try await measureAsync(command: name, pipeline: p, requests: n)
                rows.append(
                    Row(command: name, pipeline: p, redisBenchmark: reference, blocking: blocking, async: async))
            }
        }
        return rows
    }

    public static func table(_ rows: [Row]) -> String {
        var out = "command  pipeline  redis-benchmark/s  RedisSession/s  ratio  RedisConnection/s  ratio\n"
        for r in rows {
            out += r.command.padding(toLength: 9, withPad: " ", startingAt: 0)
            out += String(r.pipeline).leftPad(8) + "  "
            out += fmt(r.redisBenchmark).leftPad(17) + "  " + fmt(r.blocking).leftPad(14) + "  "
            out += pct(r.blocking / r.redisBenchmark).leftPad(5) + "  " + fmt(r.async).leftPad(17) + "  "
            out += pct(r.async / r.redisBenchmark).leftPad(5) + "\n"
        }
        return out
    }

    private func command(_ name: String) -> RedisCommand {
        name == "PING" ? RedisCommand("PING") : RedisCommand("SET", ["key:__rand_int__", "xxx"])
    }

    /// The blocking session on this thread: the raw speed of the hiredis wrapper.
    private func measureBlocking(command name: String, pipeline p: Int, requests n: Int) throws -> Double {
        let session = RedisSession(configuration: RedisConfiguration(url: url), logger: logger)
        _ = try session.send(RedisCommand("PING"))
        let batch = Array(repeating: command(name), count: p)
        let start = MonotonicClock.nanos()
        var done = 0
        while done < n {
            if p == 1 {
                _ = try session.send(batch[0])
            } else {
                _ = try session.execute(batch)
            }
            done += p
        }
        return Double(done) / (Double(MonotonicClock.nanos() - start) / 1e9)
    }

    /// The async connection from one task: includes the hop to the I/O thread and back.
    private func measureAsync(command name: String, pipeline p: Int, requests n: Int) async throws -> Double {
        let conn = RedisConnection(configuration: RedisConfiguration(url: url), logger: logger)
        defer { conn.close() }
        try await conn.connect()
        let batch = Array(repeating: command(name), count: p)
        let start = MonotonicClock.nanos()
        var done = 0
        while done < n {
            if p == 1 {
                _ = try await conn.send(batch[0])
            } else {
                _ = try await conn.pipeline(batch)
            }
            done += p
        }
        return Double(done) / (Double(MonotonicClock.nanos() - start) / 1e9)
    }

    private func runRedisBenchmark(tool: String, test: String, pipeline p: Int, requests n: Int) throws -> Double {
        var args = ["-c", "1", "-n", "\(n)", "-P", "\(p)", "-t", test, "--csv"]
        switch url.endpoint {
        case .tcp(let host, let port): args += ["-h", host, "-p", "\(port)"]
        case .unix(let path): args += ["-s", path]
        }
        if let user = url.user { args += ["--user", user] }
        var env = ProcessEnvironment.all()
        if let pw = url.password { env["REDISCLI_AUTH"] = pw }
        let outPath = FileManager.default.temporaryDirectory.appendingPathComponent("eg-rb-\(getpid()).csv").path
        defer { try? FileManager.default.removeItem(atPath: outPath) }
        let proc = try ChildProcess(
            executable: tool, arguments: args + ["--dbnum", "\(url.database)"], environment: env, stdoutPath: outPath,
            stderrPath: "/dev/null")
        guard proc.wait() == 0 else { throw BenchError("redis-benchmark failed for \(test) -P \(p)") }
        let text = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let wanted = test == "ping" ? "\"PING_MBULK\"" : "\"SET\""
        for line in text.split(separator: "\n") where line.hasPrefix(wanted) {
            let fields = line.split(separator: ",")
            if fields.count > 1, let v = Double(fields[1].replacingOccurrences(of: "\"", with: "")) { return v }
        }
        throw BenchError("could not read redis-benchmark's output for \(test) -P \(p)")
    }
}

func fmt(_ v: Double) -> String { String(Int(v.rounded())) }
func pct(_ v: Double) -> String { "\(Int((v * 100).rounded()))%" }

extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}

/// A benchmark could not run; the message says why and what to do.
public struct BenchError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
