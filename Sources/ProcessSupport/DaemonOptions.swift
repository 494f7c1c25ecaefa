import ArgumentParser
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// The levels `--log-level` accepts (swift-log's, lowest first).
public enum LogLevel: String, CaseIterable, ExpressibleByArgument, Sendable {
    case trace, debug, info, notice, warning, error, critical

    public var level: Logger.Level { Logger.Level(rawValue: rawValue)! }
}

extension LogFormat: ExpressibleByArgument {}

/// The options every long-running program shares: how it logs and where it serves metrics.
public struct DaemonOptions: ParsableArguments {
    @Option(help: "How much to log.")
    public var logLevel = LogLevel.info

    @Option(help: "Log lines as text, or json (one object per line, for log shippers).")
    public var logFormat = LogFormat.text

    @Option(help: "Serve Prometheus metrics (GET /metrics) on this TCP port, 1-65535; 0 serves none.")
    public var metricsPort = 0

    @Option(help: "The IPv4 address the metrics endpoint listens on (0.0.0.0: every interface).")
    public var metricsHost = "127.0.0.1"

    public init() {}

    public func validate() throws {
        guard (0...65_535).contains(metricsPort) else {
            throw ValidationError("--metrics-port must be a TCP port 1-65535, or 0 for none; got \(metricsPort)")
        }
        var addr = in_addr()
        guard inet_pton(AF_INET, metricsHost, &addr) == 1 else {
            throw ValidationError("--metrics-host must be an IPv4 address such as 127.0.0.1; got '\(metricsHost)'")
        }
    }

    /// Installs the log handler these options ask for; call once, first thing.
    public func bootstrapLogging() throws {
        _ = try LogFormat.bootstrap(format: logFormat.rawValue, level: logLevel.rawValue)
    }
}

/// Range checks for the daemons' numeric flags, each failing with one line that names the flag.
public enum FlagCheck {
    /// `value` must be a whole number in `range`.
    public static func integer(_ value: Int, _ flag: String, in range: ClosedRange<Int>) throws {
        guard range.contains(value) else {
            throw ValidationError(
                "\(flag) must be a whole number from \(range.lowerBound) to \(range.upperBound); got \(value)")
        }
    }

    /// `value` must be finite, above zero (or at least zero) and at most `max`.
    public static func seconds(_ value: Double, _ flag: String, max: Double, zeroAllowed: Bool = false) throws {
        guard value.isFinite, zeroAllowed ? value >= 0 : value > 0, value <= max else {
            throw ValidationError(
                "\(flag) must be a number \(zeroAllowed ? "from 0" : "above 0") up to \(Int(max)); got \(value)")
        }
    }
}

extension ParsableCommand {
    /// Ignores SIGPIPE (`ignoreBrokenPipes`), then parses the command line and runs the command
    /// it names, as ArgumentParser's own `main` does; errors are the caller's to print.
    public static func parseAndRun() async throws {
        ignoreBrokenPipes()
        var command = try parseAsRoot()
        if var c = command as? AsyncParsableCommand {
            try await c.run()
        } else {
            try command.run()
        }
    }

    /// The daemons' `main`: ignores SIGPIPE first thing, then parses and runs like
    /// ArgumentParser's own, except that an error is one line on standard error (`error: ...`),
    /// never the usage block after it. Exit codes: 0, 64 (a bad flag), or what `run()` threw.
    public static func daemonMain() async -> Never {
        do {
            try await parseAndRun()
            Glibc.exit(0)
        } catch {
            let code = exitCode(for: error)
            if code == .success { Self.exit(withError: error) }  // --help, --version
            let message = Self.message(for: error)
            if !message.isEmpty {
                // ArgumentParser lists allowed values one per line ("- trace"): one line, commas.
                let lines = message.split(separator: "\n").map { $0.trimmingPrefix(" ") }.filter { !$0.isEmpty }
                let rest = lines.dropFirst().map { $0.hasPrefix("- ") ? String($0.dropFirst(2)) : String($0) }
                let line =
                    "error: "
                    + ([String(lines.first ?? "")] + [rest.joined(separator: ", ")]).filter { !$0.isEmpty }
                    .joined(separator: " ") + "\n"
                var bytes = Array(line.utf8)
                _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
            }
            Glibc.exit(code.rawValue)
        }
    }
}
