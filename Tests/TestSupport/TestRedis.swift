import Foundation
import Logging
import ProcessSupport
import RedisClient

/// The Redis server that `ops/test` starts for the suite, and per-test key prefixes on it.
public enum TestRedis {
    /// The environment variable `ops/test` sets.
    public static let variable = "EXPORTGRID_TEST_REDIS_URL"

    /// The URL of the suite's server. Without it the test fails with how to run it: a test that
    /// needs Redis never passes silently.
    public static func url() throws -> RedisURL {
        guard let text = ProcessInfo.processInfo.environment[variable], !text.isEmpty else {
            throw TestSetupError(
                "\(variable) is not set: this test needs a real redis-server. Run the suite with ops/test, "
                    + "which starts a private redis-server and sets it, or set it to a scratch server's URL.")
        }
        return try RedisURL(parsing: text)
    }

    public static func configuration(timeout: Duration = .seconds(5)) throws -> RedisConfiguration {
        var c = RedisConfiguration(url: try url())
        c.commandTimeout = timeout
        return c
    }

    /// A key prefix no other test uses.
    public static func prefix(_ name: String = "t") -> String {
        "test:\(name):\(UUID().uuidString.prefix(8))"
    }
}

/// A precondition of the test environment is missing.
public struct TestSetupError: Error, CustomStringConvertible {
    public let description: String
    public init(_ message: String) { description = message }
}

/// Waits until `condition` holds, polling, or fails after `timeout`.
public func eventually(
    _ what: String, timeout: Duration = .seconds(10), every: Duration = .milliseconds(20),
    _ condition: () async throws -> Bool
) async throws {
    let clock = ContinuousClock()
    let end = clock.now + timeout
    while clock.now < end {
        if try await condition() { return }
        try await Task.sleep(for: every)
    }
    if try await condition() { return }
    throw TestSetupError("timed out after \(timeout) waiting for: \(what)")
}

/// A LogHandler that records every message, for asserting on what was logged.
public final class LogCapture: @unchecked Sendable {
    public struct Entry: Sendable {
        public let level: Logger.Level
        public let message: String
        public let metadata: [String: String]
    }

    private let lock = NSLock()
    private var _entries: [Entry] = []

    public init() {}

    public var entries: [Entry] { lock.withLock { _entries } }

    public func messages(containing s: String) -> [Entry] { entries.filter { $0.message.contains(s) } }

    public func logger(_ label: String = "test") -> Logger {
        Logger(label: label) { _ in Handler(capture: self) }
    }

    fileprivate func add(_ e: Entry) { lock.withLock { _entries.append(e) } }

    private struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let merged = self.metadata.merging(event.metadata ?? [:]) { $1 }
            capture.add(Entry(level: event.level, message: "\(event.message)", metadata: merged.mapValues { "\($0)" }))
        }
    }
}

/// Waits for a child process on a thread of its own, so the wait never holds one of the few
/// threads of Swift's cooperative pool (on a 2-core machine, two blocked waits stall every test).
public func exitStatus(of p: ChildProcess) async -> Int32 {
    await withCheckedContinuation { cont in
        let t = Thread { cont.resume(returning: p.wait()) }
        t.start()
    }
}
