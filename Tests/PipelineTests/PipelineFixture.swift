import ExportData
import ExportDomain
import ExportServices
import Foundation
import JobQueue
import Logging
import ProcessSupport
import RedisClient
import TestSupport

/// A namespace of its own on the suite's Redis, the real programs (`exportctl`,
/// `export-scheduler`, `export-worker`) as child processes, and a generated dataset.
final class PipelineFixture: @unchecked Sendable {
    let url: RedisURL
    let namespace: String
    let redis: RedisConnection
    let control: RunControl
    let dir: String
    private var processes: [String: ChildProcess] = [:]
    private let lock = NSLock()

    /// Environment every program this fixture starts gets (REDIS_URL, namespace, extras).
    let baseEnvironment: [String: String]

    /// On the suite's Redis, or on `redisURL` (with `env` added for the programs and `password`
    /// for the fixture's own connection).
    init(
        redisURL: String? = nil, password: String? = nil, env: [String: String] = [:], namespace ns: String? = nil
    ) throws {
        let text = redisURL ?? ProcessInfo.processInfo.environment[TestRedis.variable] ?? ""
        url = redisURL != nil ? try RedisURL(parsing: text) : try TestRedis.url()
        namespace = ns ?? "p" + UUID().uuidString.prefix(8).lowercased()
        var e = ProcessInfo.processInfo.environment
        e["REDIS_URL"] = text
        e["EXPORTGRID_NAMESPACE"] = namespace
        for (k, v) in env { e[k] = v }
        baseEnvironment = e
        var l = Logger(label: "pipeline-test")
        l.logLevel = .error
        var u = url
        if let password { u.password = password }
        redis = RedisConnection(configuration: RedisConfiguration(url: u), logger: l)
        control = RunControl(queue: JobQueue(redis: redis, namespace: namespace, logger: l))
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("pipeline-\(namespace)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    deinit {
        for p in processes.values { p.stop(grace: 2) }
        // EXPORTGRID_TEST_KEEP=1 keeps the directory (daemon logs, datasets) to read after a failure.
        if ProcessInfo.processInfo.environment["EXPORTGRID_TEST_KEEP"] == nil {
            try? FileManager.default.removeItem(atPath: dir)
        }
    }

    var environment: [String: String] { baseEnvironment }

    static func binary(_ name: String) throws -> String {
        let d = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [d, d.deletingLastPathComponent()] {
            let p = candidate.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        throw TestSetupError("\(name) is not built next to the test binary (\(d.path)); run the suite with ops/test")
    }

    /// Generates a nation (cached per seed, size and dirt within this fixture).
    func dataset(firms: Int, seed: UInt64, dirty: Double = 0) throws -> String {
        let out = dir + "/data-\(firms)-\(seed)-\(dirty)"
        if !FileManager.default.fileExists(atPath: out + "/firms.csv") {
            _ = try NationGenerator(firms: firms, seed: seed, dirtyShare: dirty).write(to: out)
        }
        return out
    }

    @discardableResult
    func start(_ name: String, _ program: String, _ args: [String], env: [String: String] = [:]) throws
        -> ChildProcess
    {
        let log = dir + "/\(name).log"
        let p = try ChildProcess(
            executable: try Self.binary(program), arguments: args, environment: environment.merging(env) { $1 },
            stdoutPath: log, stderrPath: log)
        lock.withLock { processes[name] = p }
        return p
    }

    func worker(_ name: String, concurrency: Int = 2, queues: String? = nil) throws {
        try start(
            name, "export-worker",
            ["--concurrency", "\(concurrency)", "--heartbeat-ttl", "1", "--log-level", "warning"]
                + (queues.map { ["--queues", $0] } ?? []))
    }

    func scheduler(_ name: String, _ extra: [String] = []) throws {
        try start(name, "export-scheduler", ["--lease-seconds", "2", "--log-level", "warning"] + extra)
    }

    func pid(_ name: String) -> Int32? { lock.withLock { processes[name]?.pid } }

    func kill(_ name: String, signal: Int32 = SIGKILL) {
        guard let p = lock.withLock({ processes[name] }) else { return }
        p.signal(signal)
        p.wait()
    }

    func stopAll() {
        let ps = lock.withLock { Array(processes.values) }
        for p in ps { p.signal(SIGTERM) }
        for p in ps { p.stop(grace: 5) }
    }

    /// Runs `exportctl` to completion: (exit status, stdout + stderr).
    func exportctl(_ args: [String], env: [String: String] = [:]) async throws -> (status: Int32, output: String) {
        let log = dir + "/exportctl-\(UUID().uuidString.prefix(6)).out"
        let p = try ChildProcess(
            executable: try Self.binary("exportctl"), arguments: args, environment: environment.merging(env) { $1 },
            stdoutPath: log, stderrPath: log)
        let status = await exitStatus(of: p)
        return (status, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }

    func submit(_ data: String, run: String, chunkSize: Int? = nil, _ extra: [String] = []) async throws {
        let r = try await exportctl(
            ["submit", data, "--run-id", run] + (chunkSize.map { ["--chunk-size", "\($0)"] } ?? []) + extra)
        guard r.status == 0 else { throw TestSetupError("submit failed (\(r.status)): \(r.output)") }
    }

    func waitDone(_ run: String, timeout: Duration = .seconds(240)) async throws {
        try await eventually("run \(run) done", timeout: timeout, every: .milliseconds(100)) {
            // A read that meets a Redis restart fails once; the next one reconnects.
            let state = (try? await control.meta(run))?["state"]
            if state == "failed" { throw TestSetupError("run \(run) failed; logs in \(dir)") }
            return state == "done"
        }
    }

    func report(_ run: String) async throws -> [String: [UInt8]] { try await control.reportFiles(run) }

    func group(_ id: String) async throws -> GroupStatus? { try await control.queue.group(id) }

    /// Every key left in this namespace.
    func keyCount() async throws -> Int {
        var n = 0
        var cursor = "0"
        repeat {
            let r = try await redis.send(
                RedisCommand("SCAN", [.string(cursor), "MATCH", .string("{\(namespace)}:*"), "COUNT", 1000]))
            cursor = r.array![0].string!
            n += r.array![1].array!.count
        } while cursor != "0"
        return n
    }

    /// One complete run: `workers` worker processes and one scheduler; returns the report files.
    func cleanRun(
        _ data: String, run: String, workers: Int, chunkSize: Int? = nil, submitArguments: [String] = []
    ) async throws -> [String: [UInt8]] {
        try scheduler("s-\(run)")
        for i in 0..<workers { try worker("w\(i)-\(run)") }
        try await submit(data, run: run, chunkSize: chunkSize, submitArguments)
        try await waitDone(run)
        stopAll()
        return try await report(run)
    }
}

/// A TCP port free right now on the loopback interface.
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    let ok = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard ok == 0 else { throw TestSetupError("cannot bind a probe socket") }
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
    }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// A TCP socket connected to 127.0.0.1:`port`, reads timing out after `timeout` seconds (so a
/// test never hangs on a server that does not answer).
func connectLoopback(_ port: Int, timeout: Int = 30) throws -> Int32 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw TestSetupError("socket: errno \(errno)") }
    var tv = timeval(tv_sec: timeout, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    let ok = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard ok == 0 else {
        close(fd)
        throw TestSetupError("cannot connect to 127.0.0.1:\(port)")
    }
    return fd
}

/// Everything the server sends until it closes (or the read times out).
func readAll(_ fd: Int32) -> String {
    var response: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(fd, &buf, buf.count)
        if n <= 0 { break }
        response += buf[0..<n]
    }
    return String(decoding: response, as: UTF8.self)
}

/// GET `path` on 127.0.0.1:`port` over a plain socket: (status line, body).
func httpGet(port: Int, path: String) throws -> (status: String, body: String) {
    let fd = try connectLoopback(port)
    defer { close(fd) }
    let request = Array("GET \(path) HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8)
    _ = request.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    let text = readAll(fd)
    guard let split = text.range(of: "\r\n\r\n") else { throw TestSetupError("no HTTP response: \(text)") }
    return (String(text[..<split.lowerBound].prefix { $0 != "\r" }), String(text[split.upperBound...]))
}
