import ArgumentParser

/// The options every long-running program shares: how it logs and where it serves metrics.
public struct DaemonOptions: ParsableArguments {
    @Option(help: "Log level: trace, debug, info, notice, warning, error.")
    public var logLevel = "info"

    @Option(help: "Log lines as text, or json (one object per line, for log shippers).")
    public var logFormat = "text"

    @Option(help: "Serve Prometheus metrics (GET /metrics) on this port; 0 serves none.")
    public var metricsPort = 0

    @Option(help: "The IPv4 address the metrics endpoint listens on (0.0.0.0: every interface).")
    public var metricsHost = "127.0.0.1"

    public init() {}

    /// Installs the log handler these options ask for; call once, first thing.
    public func bootstrapLogging() throws { _ = try LogFormat.bootstrap(format: logFormat, level: logLevel) }
}
