import Logging
import RedisClient

#if canImport(Glibc)
    import Glibc
#endif

/// A redis-server started for a command's own use (benchmarks, the demo) on a free loopback
/// port with a temporary directory; `stop()` shuts it down and removes the directory.
public final class LocalRedisServer: @unchecked Sendable {
    public let port: Int
    public let directory: String
    private let process: ChildProcess

    /// Starts `redis-server` (found on PATH) and waits until it answers PING.
    public init(extraArguments: [String] = []) throws {
        var template = Array("/tmp/exportgrid-redis.XXXXXX".utf8CString)
        guard let dir = mkdtemp(&template) else { throw ChildProcessError("cannot create a temporary directory") }
        directory = String(cString: dir)
        guard let binary = findExecutable("redis-server") else {
            throw ChildProcessError("redis-server is not installed (apt-get install redis-server), or set REDIS_URL")
        }
        for _ in 0..<20 {
            let candidate = Int.random(in: 20000..<60000)
            let p = try ChildProcess(
                executable: binary,
                arguments: [
                    "--port", "\(candidate)", "--bind", "127.0.0.1", "--dir", directory, "--save", "", "--appendonly",
                    "no",
                    "--daemonize", "no", "--logfile", directory + "/redis.log",
                ] + extraArguments)
            if Self.waitForPing(port: candidate, process: p) {
                port = candidate
                process = p
                return
            }
            p.stop(grace: 1)
        }
        throw ChildProcessError("could not start redis-server on a free port; see \(directory)/redis.log")
    }

    public var url: String { "redis://127.0.0.1:\(port)" }
    public var pid: Int32 { process.pid }

    /// Stops the server (SIGTERM, then SIGKILL) and removes its directory.
    public func stop() {
        process.stop(grace: 5)
        _ = try? ChildProcess(executable: "/bin/rm", arguments: ["-rf", directory]).wait()
    }

    private static func waitForPing(port: Int, process: ChildProcess) -> Bool {
        guard let url = try? RedisURL(parsing: "redis://127.0.0.1:\(port)") else { return false }
        var config = RedisConfiguration(url: url)
        config.connectTimeout = .milliseconds(200)
        config.commandTimeout = .milliseconds(200)
        let session = RedisSession(
            configuration: config, logger: Logger(label: "probe", factory: { _ in SwiftLogNoOpLogHandler() }))
        for _ in 0..<150 {
            guard process.isRunning else { return false }
            if (try? session.send(RedisCommand("PING"))) != nil { return true }
            usleep(20_000)
        }
        return false
    }
}
