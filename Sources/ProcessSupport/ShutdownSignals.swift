import Dispatch

#if canImport(Glibc)
    import Glibc
#endif

/// Turns SIGTERM and SIGINT into a graceful-shutdown callback. The first signal calls
/// `onShutdown`; a second one while shutting down calls `onForce` (default: exit 130), so an
/// operator pressing Ctrl-C twice is never stuck.
public final class ShutdownSignals: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []
    private var count = 0
    private let queue = DispatchQueue(label: "exportgrid.signals")

    public init(
        signals: [Int32] = [SIGTERM, SIGINT], onShutdown: @escaping @Sendable (Int32) -> Void,
        onForce: @escaping @Sendable (Int32) -> Void = { _ in exit(130) }
    ) {
        for sig in signals {
            signal(sig, SIG_IGN)
            let src = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            src.setEventHandler { [unowned self] in
                self.count += 1
                if self.count == 1 { onShutdown(sig) } else { onForce(sig) }
            }
            src.resume()
            sources.append(src)
        }
    }

    public func cancel() { for s in sources { s.cancel() } }
}

/// A write to a socket or pipe whose reader has gone (Redis killed, a client dropped by
/// `CLIENT KILL`, `exportctl status | head`) raises SIGPIPE, whose default action ends the process
/// silently with exit 141. Every ExportGrid program ignores it first thing, so the write fails
/// with EPIPE instead and the caller handles it as the lost connection it is: reconnect, or a
/// clear message and a non-zero exit.
public func ignoreBrokenPipes() {
    signal(SIGPIPE, SIG_IGN)
}
