import Foundation
import ProcessSupport

#if canImport(Glibc)
    import Glibc
#endif

/// A private, throwaway `redis-server` on a free loopback port with its own directory, for tests
/// that kill, restart or reconfigure a server. Killed when the value is released.
public final class RedisServerProcess: @unchecked Sendable {
    public let port: Int
    public let directory: String
    public let extraArguments: [String]
    private var process: ChildProcess?

    /// Starts a server; `arguments` are extra `--name value` options.
    public init(arguments: [String] = []) throws {
        directory =
            FileManager.default.temporaryDirectory.appendingPathComponent("eg-redis-\(UUID().uuidString.prefix(8))")
            .path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        port = try freeLoopbackPort()
        extraArguments = arguments
        try start()
    }

    deinit {
        kill()
        try? FileManager.default.removeItem(atPath: directory)
    }

    public var url: String { "redis://127.0.0.1:\(port)" }
    public var pid: Int32? { process?.pid }

    /// Starts (or restarts, same port and directory) the server and waits until it answers.
    public func start() throws {
        guard let binary = findExecutable("redis-server") else {
            throw TestSetupError("redis-server is not installed; run ops/test, which installs it")
        }
        process = try ChildProcess(
            executable: binary,
            arguments: [
                "--port", "\(port)", "--bind", "127.0.0.1", "--dir", directory, "--save", "", "--daemonize", "no",
                "--logfile", directory + "/redis.log",
            ] + extraArguments)
        try waitUntilReady()
    }

    /// SIGKILLs the server (no shutdown, no final write).
    public func kill() {
        guard let p = process else { return }
        p.signal(SIGKILL)
        p.wait()
        process = nil
    }

    /// SIGTERM: Redis shuts down cleanly (flushing its append-only file) and exits.
    public func stop() {
        process?.stop(grace: 10)
        process = nil
    }

    private func waitUntilReady() throws {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if canConnect(port: port) { return }
            guard process?.isRunning == true else { break }
            usleep(10_000)
        }
        throw TestSetupError("redis-server on port \(port) did not start; see \(directory)/redis.log")
    }
}

/// A TCP port on 127.0.0.1 that nothing listens on right now.
public func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestSetupError("socket() failed") }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = 0
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
            bind(fd, sa, len) == 0 && getsockname(fd, sa, &len) == 0
        }
    }
    guard ok else { throw TestSetupError("bind() failed") }
    return Int(UInt16(bigEndian: addr.sin_port))
}

func canConnect(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
        }
    }
}
