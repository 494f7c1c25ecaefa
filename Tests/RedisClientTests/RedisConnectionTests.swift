import Foundation
import Logging
import RedisClient
import TestSupport
import Testing

@Suite("Redis client against a real redis-server")
struct RedisConnectionTests {
    let logs = LogCapture()

    func connection(timeout: Duration = .seconds(5)) throws -> RedisConnection {
        RedisConnection(configuration: try TestRedis.configuration(timeout: timeout), logger: logs.logger())
    }

    @Test func binarySafeRoundTrip() async throws {
        let conn = try connection()
        let key = TestRedis.prefix("bin")
        let weird: [UInt8] = [0, 1, 2, 0xFF, 0xFE, 13, 10, 0, 0x80, 0xC3, 0x28] + Array("\r\n$3\r\n".utf8)
        _ = try await conn.send(RedisCommand("SET", [.string(key), .bytes(weird)]))
        #expect(try await conn.send("GET", .string(key)).bytes == weird)
        // A key that itself holds NUL and invalid UTF-8.
        let oddKey: [UInt8] = Array(key.utf8) + [0, 0xFF]
        _ = try await conn.send(RedisCommand("SET", [.bytes(oddKey), "v"]))
        #expect(try await conn.send(RedisCommand("GET", [.bytes(oddKey)])).string == "v")
        _ = try await conn.send(RedisCommand("DEL", [.string(key), .bytes(oddKey)]))
    }

    @Test func sixteenMebibyteValue() async throws {
        let conn = try connection(timeout: .seconds(30))
        let key = TestRedis.prefix("big")
        var big = [UInt8](repeating: 0, count: 16 << 20)
        var g = SystemRandomNumberGenerator()
        for i in stride(from: 0, to: big.count, by: 8) {
            withUnsafeBytes(of: g.next() as UInt64) { raw in
                for j in 0..<8 { big[i + j] = raw[j] }
            }
        }
        _ = try await conn.send(RedisCommand("SET", [.string(key), .bytes(big)]))
        let back = try await conn.send("GET", .string(key))
        #expect(back.bytes?.count == big.count)
        #expect(back.bytes == big)
        _ = try await conn.send("DEL", .string(key))
    }

    @Test func pipelineOfOneHundredThousand() async throws {
        let conn = try connection(timeout: .seconds(30))
        let key = TestRedis.prefix("pipe")
        let commands = (0..<100_000).map { _ in RedisCommand("INCR", [.string(key)]) }
        let replies = try await conn.pipeline(commands)
        #expect(replies.count == 100_000)
        #expect(replies.enumerated().allSatisfy { $0.element == .integer(Int64($0.offset + 1)) })
        _ = try await conn.send("DEL", .string(key))
    }

    @Test func errorReplyInsidePipelineKeepsOthers() async throws {
        let conn = try connection()
        let key = TestRedis.prefix("err")
        let replies = try await conn.pipeline([
            RedisCommand("SET", [.string(key), "a"]),
            RedisCommand("INCR", [.string(key)]),  // WRONGTYPE-ish: not an integer
            RedisCommand("NOSUCHCOMMAND"),
            RedisCommand("GET", [.string(key)]),
            RedisCommand("DEL", [.string(key)]),
        ])
        #expect(replies.count == 5)
        #expect(replies[0] == .status("OK"))
        guard case .error(let e1) = replies[1], case .error(let e2) = replies[2] else {
            Issue.record("expected error replies, got \(replies)")
            return
        }
        #expect(e1.code == "ERR" && e1.message.contains("not an integer"))
        #expect(e2.message.lowercased().contains("unknown command"))
        #expect(replies[3].string == "a")
        #expect(replies[4] == .integer(1))
        // A top-level error reply from send() is a typed server error, and the connection lives on.
        await #expect(throws: RedisError.self) { _ = try await conn.send("NOSUCHCOMMAND") }
        #expect(try await conn.send("PING") == .status("PONG"))
    }

    @Test func commandTimeoutThenRecovers() async throws {
        let conn = try connection(timeout: .milliseconds(200))
        let key = TestRedis.prefix("to")
        // BLPOP for 2 s sent as an ordinary command: the 200 ms socket timeout fires first.
        do {
            _ = try await conn.send(RedisCommand("BLPOP", [.string(key), 2]))
            Issue.record("expected a timeout")
        } catch let e as RedisError {
            guard case .timeout = e else {
                Issue.record("expected .timeout, got \(e)")
                return
            }
            #expect(e.outcomeUnknown)
        }
        // The broken context was dropped; the next command reconnects transparently.
        #expect(try await conn.send("PING") == .status("PONG"))
        // A blocking command given its block time does not time out.
        let r = try await conn.send(RedisCommand("BLPOP", [.string(key), "0.5"]), blockingFor: .milliseconds(500))
        #expect(r.isNull)
        #expect(logs.messages(containing: "connection lost").count == 1)
        #expect(logs.messages(containing: "restored").count == 1)
    }

    @Test func serverKilledAndRestarted() async throws {
        let server = try RedisServerProcess()
        var config = RedisConfiguration(url: try RedisURL(parsing: server.url))
        config.commandTimeout = .seconds(3)
        let conn = RedisConnection(configuration: config, logger: logs.logger())
        _ = try await conn.send("SET", "k", "before")
        // A command in flight when the server dies reports an unknown outcome.
        async let inFlight = conn.send(RedisCommand("BLPOP", ["never", 5]), blockingFor: .seconds(5))
        try await Task.sleep(for: .milliseconds(200))
        server.kill()
        do {
            _ = try await inFlight
            Issue.record("expected the in-flight command to fail")
        } catch let e as RedisError {
            #expect(e.outcomeUnknown, "got \(e)")
        }
        // While down: fails fast with unavailable once the command timeout passes.
        await #expect(throws: RedisError.self) { _ = try await conn.send("PING") }
        try server.start()
        #expect(try await conn.send("PING") == .status("PONG"))
        #expect(try await conn.send("SET", "k", "after") == .status("OK"))
        #expect(logs.messages(containing: "connection lost").count == 1, "\(logs.entries.map(\.message))")
        #expect(logs.messages(containing: "restored").count == 1)
    }

    @Test func unreachableServerIsUnavailable() async throws {
        var config = RedisConfiguration(url: try RedisURL(parsing: "redis://127.0.0.1:\(try freeLoopbackPort())"))
        config.commandTimeout = .milliseconds(300)
        let conn = RedisConnection(configuration: config, logger: logs.logger())
        do {
            _ = try await conn.send("PING")
            Issue.record("expected failure")
        } catch let e as RedisError {
            guard case .unavailable(let m) = e else {
                Issue.record("expected .unavailable, got \(e)")
                return
            }
            #expect(m.contains("refused"))
            #expect(!e.outcomeUnknown)
        }
        #expect(logs.messages(containing: "unavailable").count == 1)
    }

    /// A server that answers `-LOADING` (a restarted redis-server still reading its dataset) is
    /// waited for like an outage, not reported as a refusal: the command succeeds once it is ready.
    @Test func aServerStillLoadingItsDatasetIsWaitedFor() async throws {
        let server = try LoadingServer(loadingConnections: 2)
        defer { server.stop() }
        var config = RedisConfiguration(url: try RedisURL(parsing: "redis://127.0.0.1:\(server.port)"))
        config.commandTimeout = .seconds(10)
        let conn = RedisConnection(configuration: config, logger: logs.logger())
        #expect(try await conn.send("PING") == .status("PONG"))
        #expect(server.connections >= 3, "\(server.connections) connections")
        #expect(logs.messages(containing: "unavailable").count == 1, "\(logs.entries.map(\.message))")
        #expect(logs.messages(containing: "restored").count == 1)
    }

    @Test func authenticationAndPermissions() async throws {
        let admin = try connection()
        let user = "eg-test-\(UUID().uuidString.prefix(6))"
        let prefix = TestRedis.prefix("acl")
        _ = try await admin.send(
            RedisCommand(
                "ACL",
                ["SETUSER", .string(user), "on", ">right-password", .string("~\(prefix):*"), "+get", "+set", "+ping"]))
        defer { Task { _ = try? await admin.send(RedisCommand("ACL", ["DELUSER", .string(user)])) } }
        var base = try TestRedis.url()
        base.user = user
        base.password = "wrong-password"
        let bad = RedisConnection(configuration: RedisConfiguration(url: base), logger: logs.logger())
        do {
            _ = try await bad.send("PING")
            Issue.record("wrong password accepted")
        } catch let e as RedisError {
            guard case .authentication(let m) = e else {
                Issue.record("expected .authentication, got \(e)")
                return
            }
            #expect(m.contains("WRONGPASS") && m.contains(user))
            #expect(!e.description.contains("wrong-password"))
        }
        base.password = "right-password"
        let good = RedisConnection(configuration: RedisConfiguration(url: base), logger: logs.logger())
        #expect(try await good.send("SET", .string("\(prefix):a"), "1") == .status("OK"))
        do {
            _ = try await good.send("FLUSHALL")
            Issue.record("FLUSHALL allowed")
        } catch RedisError.server(let e) {
            #expect(e.code == "NOPERM", "\(e)")
        }
        do {
            _ = try await good.send("GET", "elsewhere:key")
            Issue.record("read outside the key pattern allowed")
        } catch RedisError.server(let e) {
            #expect(e.code == "NOPERM", "\(e)")
        }
        _ = try await admin.send("DEL", .string("\(prefix):a"))
    }

    @Test func selectsDatabaseOnConnect() async throws {
        var url = try TestRedis.url()
        url.database = 5
        let conn = RedisConnection(configuration: RedisConfiguration(url: url), logger: logs.logger())
        let key = TestRedis.prefix("db")
        _ = try await conn.send("SET", .string(key), "x")
        let db0 = try connection()
        #expect(try await db0.send("EXISTS", .string(key)) == .integer(0))
        #expect(try await conn.send("EXISTS", .string(key)) == .integer(1))
        _ = try await conn.send("DEL", .string(key))
    }

    @Test func noscriptRecoveryAfterFlush() async throws {
        let server = try RedisServerProcess()
        let conn = RedisConnection(
            configuration: RedisConfiguration(url: try RedisURL(parsing: server.url)), logger: logs.logger())
        let script = RedisScript(name: "incrby", source: "return redis.call('INCRBY', KEYS[1], ARGV[1])")
        #expect(try await conn.run(script, keys: ["n"], args: [5]) == .integer(5))
        _ = try await conn.send("SCRIPT", "FLUSH")
        #expect(try await conn.run(script, keys: ["n"], args: [2]) == .integer(7))
        _ = try await conn.send("SCRIPT", "FLUSH")
        let replies = try await conn.runAll((0..<3).map { _ in (script, script.command(keys: ["n"], args: [1])) })
        #expect(replies == [.integer(8), .integer(9), .integer(10)])
        // The SHA computed locally is the one Redis computes.
        #expect(try await conn.send("SCRIPT", "LOAD", .string(script.source)).string == script.sha)
    }

    @Test func concurrentCallersAreAnsweredInOrder() async throws {
        let conn = try connection()
        let prefix = TestRedis.prefix("conc")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for t in 0..<50 {
                group.addTask {
                    for i in 0..<200 {
                        let k = "\(prefix):\(t)"
                        let v = try await conn.send("INCR", .string(k))
                        #expect(v == .integer(Int64(i + 1)))
                    }
                }
            }
            try await group.waitForAll()
        }
        let keys = (0..<50).map { RedisArgument.string("\(prefix):\($0)") }
        _ = try await conn.send(RedisCommand("DEL", keys))
    }

    @Test func tasksCanRunOnTheConnectionThread() async throws {
        let conn = try connection()
        let key = TestRedis.prefix("exec")
        let last = try await withTaskExecutorPreference(conn.executor) {
            var n: Int64 = 0
            for _ in 0..<1000 { n = try await conn.send("INCR", .string(key)).int ?? -1 }
            return n
        }
        #expect(last == 1000)
        // Concurrent callers mixed with a task on the I/O thread are all answered.
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await withTaskExecutorPreference(conn.executor) {
                    for _ in 0..<200 { _ = try await conn.send("INCR", .string(key)) }
                }
            }
            for _ in 0..<4 { group.addTask { for _ in 0..<200 { _ = try await conn.send("INCR", .string(key)) } } }
            try await group.waitForAll()
        }
        #expect(try await conn.send("GET", .string(key)).int == 2000)
        _ = try await conn.send("DEL", .string(key))
        conn.close()
        // After close, a task on the executor still runs and sees `.closed` instead of hanging.
        await #expect(throws: RedisError.closed) {
            try await withTaskExecutorPreference(conn.executor) { _ = try await conn.send("PING") }
        }
    }

    @Test func blockingSessionWorksWithoutAsync() throws {
        let session = RedisSession(configuration: try TestRedis.configuration(), logger: logs.logger())
        let key = TestRedis.prefix("sync")
        #expect(try session.send(RedisCommand("SET", [.string(key), "1"])) == .status("OK"))
        let script = RedisScript(name: "get", source: "return redis.call('GET', KEYS[1])")
        #expect(try session.run(script, keys: [key], args: []).string == "1")
        _ = try session.send(RedisCommand("DEL", [.string(key)]))
    }
}

/// A loopback server speaking just enough RESP: the first `loadingConnections` connections get
/// `-LOADING` for every command and are closed; later ones get `+PONG` for every command.
final class LoadingServer: @unchecked Sendable {
    let port: Int
    private let fd: Int32
    private let lock = NSLock()
    private var accepted = 0
    private var stopped = false

    var connections: Int { lock.withLock { accepted } }

    init(loadingConnections: Int) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bind(fd, sa, len) == 0 && getsockname(fd, sa, &len) == 0 && listen(fd, 8) == 0
            }
        }
        guard ok else {
            close(fd)
            throw TestSetupError("cannot listen on loopback")
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: addr.sin_port))
        let thread = Thread { [self] in serve(loadingConnections) }
        thread.start()
    }

    func stop() {
        lock.withLock { stopped = true }
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }

    private func serve(_ loading: Int) {
        while true {
            let c = accept(fd, nil, nil)
            guard c >= 0 else { return }
            let n = lock.withLock { () -> Int in
                accepted += 1
                return accepted
            }
            if lock.withLock({ stopped }) {
                close(c)
                return
            }
            let reply = n <= loading ? "-LOADING Redis is loading the dataset in memory\r\n" : "+PONG\r\n"
            var buf = [UInt8](repeating: 0, count: 4096)
            // Every command is an array ("*" at the start of a line): one reply each.
            var atLineStart = true
            serving: while true {
                let got = read(c, &buf, buf.count)
                guard got > 0 else { break }
                var replies = 0
                for b in buf[0..<got] {
                    if atLineStart && b == UInt8(ascii: "*") { replies += 1 }
                    atLineStart = b == UInt8(ascii: "\n")
                }
                for _ in 0..<replies {
                    var out = Array(reply.utf8)
                    guard write(c, &out, out.count) == out.count else { break serving }
                }
                if n <= loading && replies > 0 { break }
            }
            close(c)
        }
    }
}
