import ExportServices
import Foundation
import JobQueue
import Logging
import ProcessSupport
import RedisClient
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The daemons (`export-worker`, `export-scheduler`) as real processes against private
/// redis-servers: dropped connections, outages, refused credentials and bad flags.
@Suite("Daemon hardening", .serialized)
struct DaemonHardeningTests {
    init() {
        // The test process writes to connections the killer drops, too.
        ignoreBrokenPipes()
    }

    /// Sends `CLIENT KILL TYPE normal` (every client but its own) in bursts: `burst` kills `every`
    /// few ms, then `quiet` without, so jobs (whose Redis errors count as failed attempts) still
    /// finish between bursts.
    final class ClientKiller: @unchecked Sendable {
        private let lock = NSLock()
        private var stopped = false
        private(set) var kills = 0
        private var task: Task<Void, Never>?

        init(
            url: String, every: Duration = .milliseconds(5), burst: Int = 20, quiet: Duration = .milliseconds(1000)
        ) throws {
            var l = Logger(label: "killer")
            l.logLevel = .critical
            let conn = RedisConnection(configuration: RedisConfiguration(url: try RedisURL(parsing: url)), logger: l)
            task = Task {
                while !self.lock.withLock({ self.stopped }) {
                    for _ in 0..<burst {
                        if (try? await conn.send(RedisCommand("CLIENT", ["KILL", "TYPE", "normal", "SKIPME", "yes"])))
                            != nil
                        {
                            self.lock.withLock { self.kills += 1 }
                        }
                        try? await Task.sleep(for: every)
                    }
                    try? await Task.sleep(for: quiet)
                }
            }
        }

        func stop() async {
            lock.withLock { stopped = true }
            await task?.value
        }
    }

    static func log(_ f: PipelineFixture, _ name: String) -> String {
        (try? String(contentsOfFile: f.dir + "/\(name).log", encoding: .utf8)) ?? ""
    }

    // MARK: - 1. SIGPIPE

    @Test func clientsKilledEveryFewMillisecondsKillNoDaemon() async throws {
        let cleanFixture = try PipelineFixture()
        let data = try cleanFixture.dataset(firms: 3_000, seed: 41)
        let clean = try await cleanFixture.cleanRun(data, run: "pipes", workers: 2, chunkSize: 250)

        let server = try RedisServerProcess()
        let f = try PipelineFixture(redisURL: server.url)
        // Stored and planned before the killing starts: this test is about the daemons.
        try await f.submit(data, run: "pipes", chunkSize: 250)
        let killer = try ClientKiller(url: server.url)
        let ports = [try freePort(), try freePort(), try freePort()]
        let daemons = [
            ("s", "export-scheduler", ["--lease-seconds", "2"]),
            ("w1", "export-worker", ["--concurrency", "2"]),
            ("w2", "export-worker", ["--concurrency", "2"]),
        ].enumerated().map { i, d in
            (d.0, try! f.start(d.0, d.1, d.2 + ["--log-level", "warning", "--metrics-port", "\(ports[i])"]))
        }
        var resets = 0
        try await eventually("run pipes done under CLIENT KILL", timeout: .seconds(240), every: .milliseconds(100)) {
            for (name, p) in daemons where !p.isRunning {
                throw TestSetupError("\(name) died (exit \(p.wait())); log:\n\(Self.log(f, name).suffix(2000))")
            }
            // A scraper that resets its connection halfway through the request: the daemon's read
            // sees the reset, and its reply is a write to a reset socket.
            for port in ports where resetMidRequest(port: port) { resets += 1 }
            let meta = try? await f.control.meta("pipes")
            let state = meta?["state"]
            if state == "failed" {
                let logs = daemons.map { "\($0.0):\n" + Self.log(f, $0.0).suffix(1500) }.joined(separator: "\n")
                throw TestSetupError("run pipes failed: \(meta ?? [:])\n\(logs)")
            }
            return state == "done"
        }
        #expect(resets >= 3)
        await killer.stop()
        #expect(killer.kills >= 20, "only \(killer.kills) CLIENT KILLs were sent")
        for (name, p) in daemons {
            #expect(p.isRunning, "\(name) died (exit \(p.wait()))")
            p.signal(SIGTERM)
            let status = await exitStatus(of: p)
            #expect(status == 0, "\(name) exited \(status) on SIGTERM; log:\n\(Self.log(f, name).suffix(2000))")
        }
        // The fixture's own connection was killed too: its first command after that fails once.
        var files: [String: [UInt8]] = [:]
        try await eventually("the report readable") {
            guard let r = try? await f.report("pipes") else { return false }
            files = r
            return true
        }
        for name in clean.keys.sorted() {
            let same = files[name] == clean[name]
            #expect(same, "\(name) differs from the clean run's")
        }
    }

    // MARK: - 2. SIGTERM during a Redis outage

    static let drain = 2.0

    func outageDaemons(_ f: PipelineFixture, queue: String, counter: String) throws -> [(String, ChildProcess)] {
        let d = "\(Self.drain)"
        return [
            (
                "w",
                try f.start(
                    "w", "export-worker",
                    [
                        "--queues", queue, "--bench-noop", counter, "--concurrency", "2", "--drain-timeout", d,
                        "--heartbeat-ttl", "1", "--log-level", "info",
                    ])
            ),
            (
                "s",
                try f.start(
                    "s", "export-scheduler", ["--drain-timeout", d, "--lease-seconds", "2", "--log-level", "info"])
            ),
        ]
    }

    /// Signals every daemon, then waits for them to exit within the drain deadline plus a second.
    func stopWithinDrainDeadline(_ f: PipelineFixture, _ daemons: [(String, ChildProcess)]) async throws {
        for (_, p) in daemons { p.signal(SIGTERM) }
        do {
            try await eventually(
                "the daemons exit within --drain-timeout \(Self.drain) s plus a second of SIGTERM",
                timeout: .milliseconds(Int64((Self.drain + 1) * 1000)), every: .milliseconds(20)
            ) { daemons.allSatisfy { !$0.1.isRunning } }
        } catch {
            let alive = daemons.filter { $0.1.isRunning }.map(\.0)
            for (_, p) in daemons { p.signal(SIGKILL) }
            let logs = alive.map { "\($0):\n" + Self.log(f, $0).suffix(1500) }.joined(separator: "\n")
            throw TestSetupError("still running: \(alive)\n\(logs)")
        }
        for (name, p) in daemons {
            let status = await exitStatus(of: p)
            #expect(status == 0, "\(name) exited \(status); log:\n\(Self.log(f, name).suffix(1500))")
        }
    }

    @Test func sigtermDuringARedisOutageStopsWithinTheDrainDeadlineAndLosesNothing() async throws {
        let server = try RedisServerProcess(arguments: ["--appendonly", "yes"])
        let f = try PipelineFixture(redisURL: server.url)
        let q = f.control.queue
        let counter = "{\(f.namespace)}:noop-count"
        let total = 20_000
        #expect(try await q.createGroup(GroupSpec(id: "outage", total: total, onComplete: nil)))
        let daemons = try outageDaemons(f, queue: "outage", counter: counter)
        try await eventually("worker and scheduler connected", timeout: .seconds(20)) {
            let leader = try await f.redis.send(RedisCommand("GET", [.string("{\(f.namespace)}:scheduler:leader")]))
            return try await q.workers().filter(\.alive).count >= 2 && leader != .null
        }
        let jobs = (0..<total).map {
            JobSpec(id: "outage-\($0)", queue: "outage", kind: "noop", maxAttempts: 50, group: "outage")
        }
        _ = try await q.enqueue(jobs)
        try await eventually("the worker under way", timeout: .seconds(20), every: .milliseconds(5)) {
            Int(try await f.redis.send(RedisCommand("GET", [.string(counter)])).string ?? "0") ?? 0 >= 20
        }
        server.stop()  // SIGTERM: Redis writes its append-only file and exits
        try await stopWithinDrainDeadline(f, daemons)

        // Nothing lost: with Redis back, a fresh worker finishes every job, none dead.
        try server.start()
        let done = try f.start(
            "w2", "export-worker", ["--queues", "outage", "--bench-noop", counter, "--heartbeat-ttl", "1"])
        defer { done.stop(grace: 5) }
        try await eventually("every job done after Redis returns", timeout: .seconds(120), every: .milliseconds(100)) {
            ((try? await q.group("outage"))??.done ?? 0) == total
        }
        let group = try #require(try await q.group("outage"))
        #expect(group.failed == 0 && group.state == "completed", "\(group)")
    }

    @Test func sigtermWhileRedisWasNeverReachableStopsWithinTheDrainDeadline() async throws {
        let f = try PipelineFixture(redisURL: "redis://127.0.0.1:\(try freePort())")
        let daemons = try outageDaemons(f, queue: "never", counter: "{\(f.namespace)}:noop-count")
        try await eventually("both retrying", timeout: .seconds(20)) {
            daemons.allSatisfy { Self.log(f, $0.0).contains("redis unavailable") }
        }
        try await stopWithinDrainDeadline(f, daemons)
    }

    // MARK: - 3. Refusals retrying cannot fix

    @Test(arguments: [
        ("wrong password", "", "wrong", "", "redis authentication failed"),
        ("no password", "", "", "", "server requires a password"),
        ("database out of range", "", "secret", "/99", "database 99 does not exist (redis has 16, 0-15)"),
        ("ACL refusal", "limited", "limited-pw", "", "the ACL user limited may not run EVALSHA"),
    ])
    func refusalsRetryingCannotFixStopBothDaemonsWithExit78(
        _ label: String, user: String, password: String, path: String, expected: String
    ) async throws {
        let server = try RedisServerProcess(arguments: ["--requirepass", "secret"])
        var adminURL = try RedisURL(parsing: server.url)
        adminURL.password = "secret"
        let admin = RedisConnection(configuration: RedisConfiguration(url: adminURL), logger: Logger(label: "admin"))
        _ = try await admin.send(
            RedisCommand("ACL", ["SETUSER", "limited", "on", ">limited-pw", "~*", "&*", "+@all", "-evalsha", "-eval"]))
        let url = "redis://" + (user.isEmpty ? "" : "\(user):@") + "127.0.0.1:\(server.port)" + path
        let f = try PipelineFixture(redisURL: url, password: "secret", env: ["REDIS_PASSWORD": password])
        let daemons = [
            ("w", try f.start("w", "export-worker", ["--log-level", "info"])),
            ("s", try f.start("s", "export-scheduler", ["--log-level", "info"])),
        ]
        do {
            try await eventually("\(label): both daemons exit", timeout: .seconds(30)) {
                daemons.allSatisfy { !$0.1.isRunning }
            }
        } catch {
            for (_, p) in daemons { p.signal(SIGKILL) }
            let logs = daemons.map { "\($0.0):\n" + Self.log(f, $0.0).suffix(1500) }.joined(separator: "\n")
            throw TestSetupError("\(label): still running\n\(logs)")
        }
        for (name, p) in daemons {
            let status = await exitStatus(of: p)
            let log = Self.log(f, name)
            let lines = log.split(separator: "\n")
            #expect(status == 78, "\(label): \(name) exited \(status); log:\n\(log.suffix(1500))")
            let saying = lines.filter { $0.contains(expected) }
            #expect(
                saying.count == 1, "\(label): \(name) said '\(expected)' \(saying.count) times:\n\(log.suffix(1500))")
            #expect(!log.contains("scheduler tick failed"), "\(label): \(name):\n\(log.suffix(1500))")
            #expect(!log.contains("retrying with backoff"), "\(label): \(name):\n\(log.suffix(1500))")
            #expect(!log.contains("secret") && !log.contains("limited-pw"), "\(label): \(name) logged a password")
        }
    }

    // MARK: - 5. Flags

    /// Runs `program` with `args` to completion: (exit status, stdout, stderr).
    static func run(_ program: String, _ args: [String]) async throws -> (status: Int32, out: String, err: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("flags-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let p = try ChildProcess(
            executable: try PipelineFixture.binary(program), arguments: args,
            environment: ["REDIS_URL": "redis://127.0.0.1:\(try freePort())", "PATH": "/usr/bin:/bin"],
            stdoutPath: dir.path + "/out", stderrPath: dir.path + "/err")
        let status = await exitStatus(of: p)
        let read = { (name: String) in (try? String(contentsOfFile: dir.path + "/" + name, encoding: .utf8)) ?? "" }
        return (status, read("out"), read("err"))
    }

    @Test(arguments: [
        ("export-worker", ["--metrics-port", "99999"], "--metrics-port"),
        ("export-worker", ["--metrics-port", "-1"], "--metrics-port"),
        ("export-worker", ["--metrics-port", "http"], "--metrics-port"),
        ("export-worker", ["--metrics-host", "localhost:80"], "--metrics-host"),
        ("export-worker", ["--concurrency", "0"], "--concurrency"),
        ("export-worker", ["--concurrency", "-3"], "--concurrency"),
        ("export-worker", ["--concurrency", "99999999999999999999"], "--concurrency"),
        ("export-worker", ["--drain-timeout", "0"], "--drain-timeout"),
        ("export-worker", ["--drain-timeout", "nan"], "--drain-timeout"),
        ("export-worker", ["--drain-timeout", "inf"], "--drain-timeout"),
        ("export-worker", ["--drain-timeout", "1e300"], "--drain-timeout"),
        ("export-worker", ["--heartbeat-ttl", "0"], "--heartbeat-ttl"),
        ("export-worker", ["--heartbeat-ttl", "-1"], "--heartbeat-ttl"),
        ("export-worker", ["--queues", "evaluate:0"], "--queues"),
        ("export-worker", ["--log-level", "verbose"], "--log-level"),
        ("export-worker", ["--log-format", "xml"], "--log-format"),
        ("export-scheduler", ["--metrics-port", "70000"], "--metrics-port"),
        ("export-scheduler", ["--control-concurrency", "-1"], "--control-concurrency"),
        ("export-scheduler", ["--retention-days", "0"], "--retention-days"),
        ("export-scheduler", ["--retention-days", "nan"], "--retention-days"),
        ("export-scheduler", ["--lease-seconds", "0"], "--lease-seconds"),
        ("export-scheduler", ["--lease-seconds", "inf"], "--lease-seconds"),
        ("export-scheduler", ["--drain-timeout", "-5"], "--drain-timeout"),
        ("export-scheduler", ["--clock-speed", "0"], "--clock-speed"),
        ("export-scheduler", ["--clock-speed", "-inf"], "--clock-speed"),
        ("export-scheduler", ["--clock-start", "2026-13-45"], "--clock-start"),
        ("export-scheduler", ["--id", ""], "--id"),
        ("export-scheduler", ["--log-level", "loud"], "--log-level"),
        ("export-scheduler", ["--log-format", "yaml"], "--log-format"),
    ])
    func badFlagsExit64WithOneLineNamingTheFlag(_ program: String, _ args: [String], _ flag: String) async throws {
        let r = try await Self.run(program, args)
        let lines = r.err.split(separator: "\n")
        #expect(r.status == 64, "\(program) \(args): exit \(r.status)\n\(r.err)")
        #expect(lines.count == 1, "\(program) \(args): \(lines.count) lines:\n\(r.err)")
        #expect(r.err.hasPrefix("error: ") && r.err.contains(flag), "\(program) \(args): \(r.err)")
        #expect(r.out.isEmpty, "\(program) \(args) wrote to stdout: \(r.out)")
    }

    /// The arguments a unit template's ExecStart gives the daemon for `instance`, rendered the
    /// way systemd and sh would (`%i`, `%H`, `$$`), with the example environment file.
    static func unitArguments(_ unit: String, instance: String) throws -> [String] {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        let text = try String(contentsOfFile: repo + "/ops/systemd/" + unit, encoding: .utf8)
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("ExecStart=") })
        let start = try #require(line.firstIndex(of: "'")), end = try #require(line.lastIndex(of: "'"))
        #expect(line.hasPrefix("ExecStart=/bin/sh -c '"), "\(line)")
        var script = String(line[line.index(after: start)..<end]).replacingOccurrences(of: "%i", with: instance)
            .replacingOccurrences(of: "%H", with: "host").replacingOccurrences(of: "$$", with: "$")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("unit-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // The daemon replaced by a script that prints its arguments, one a line.
        let echo = dir.path + "/args"
        try "#!/bin/sh\nfor a; do printf '%s\\n' \"$a\"; done\n".write(toFile: echo, atomically: true, encoding: .utf8)
        chmod(echo, 0o755)
        script = script.replacing(#/\/opt\/exportgrid\/bin\/export-[a-z]+/#, with: echo)
        var env: [String: String] = ["PATH": "/usr/bin:/bin"]
        for l in try String(contentsOfFile: repo + "/ops/systemd/exportgrid.env.example", encoding: .utf8)
            .split(separator: "\n") where !l.hasPrefix("#")
        {
            if let eq = l.firstIndex(of: "=") { env[String(l[..<eq])] = String(l[l.index(after: eq)...]) }
        }
        let p = try ChildProcess(
            executable: "/bin/sh", arguments: ["-c", script], environment: env, stdoutPath: dir.path + "/out",
            stderrPath: dir.path + "/out")
        #expect(p.wait() == 0)
        return try String(contentsOfFile: dir.path + "/out", encoding: .utf8).split(separator: "\n").map(String.init)
    }

    @Test func unitTemplatesGiveEachInstanceAPortThatCannotOverflow() throws {
        for (unit, instance, port) in [
            ("exportgrid-worker@.service", "1", "9461"), ("exportgrid-worker@.service", "10", "9470"),
            ("exportgrid-worker@.service", "99", "9559"), ("exportgrid-scheduler@.service", "1", "9471"),
            ("exportgrid-scheduler@.service", "12", "9482"),
        ] {
            let args = try Self.unitArguments(unit, instance: instance)
            let i = try #require(args.firstIndex(of: "--metrics-port"), "\(unit) \(instance): \(args)")
            #expect(args[i + 1] == port, "\(unit) instance \(instance): \(args)")
            #expect(args.allSatisfy { !$0.contains("$") && !$0.contains("%") }, "\(args)")
        }
    }

    // MARK: - 6. --version and --help

    @Test(arguments: ["export-worker", "export-scheduler"])
    func versionAndHelpSayEachThingOnce(_ program: String) async throws {
        let version = try await Self.run(program, ["--version"])
        #expect(version.status == 0 && version.out == ExportGridVersion.current + "\n", "\(version)")
        let help = try await Self.run(program, ["--help"])
        #expect(help.status == 0, "\(help)")
        #expect(help.out.contains("--version") && help.out.contains("--drain-timeout"), "\(help.out)")
        #expect(!help.out.contains("bench-noop"), "the benchmark-only flag is in --help:\n\(help.out)")
        // One block per option (a line starting "  -"), each saying its default at most once.
        var blocks: [String] = []
        for line in help.out.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("  -") {
                blocks.append(String(line))
            } else if !blocks.isEmpty {
                blocks[blocks.count - 1] += " " + line
            }
        }
        #expect(blocks.count >= 8, "\(help.out)")
        for b in blocks {
            let flat = b.split(separator: " ").joined(separator: " ")
            #expect(flat.components(separatedBy: "default").count - 1 <= 1, "said twice: \(flat)")
        }
    }

}

/// Connects to 127.0.0.1:`port`, sends half an HTTP request and closes with a reset (SO_LINGER 0).
/// False when nothing listens there.
func resetMidRequest(port: Int) -> Bool {
    guard let fd = try? connectLoopback(port) else { return false }
    let half = Array("GET / HTTP/1.1\r\n".utf8)
    _ = half.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
    close(fd)
    return true
}
