import Foundation
import JobQueue
import Logging
import RedisClient

#if canImport(Glibc)
    import Glibc
#endif

/// A Prometheus text endpoint (`GET /metrics`, exposition format 0.0.4) on a plain socket: a
/// thread accepts one connection at a time and answers with what `render` returns. Scrapes are
/// rare and small; no HTTP framework is needed for them.
public final class MetricsServer: @unchecked Sendable {
    public let port: Int
    private let fd: Int32
    private let render: @Sendable () async -> String
    private let logger: Logger
    private let lock = NSLock()
    private var stopped = false

    public init(host: String, port: Int, logger: Logger, render: @escaping @Sendable () async -> String) throws {
        self.render = render
        self.logger = logger
        let sock = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard sock >= 0 else { throw RunError("metrics: cannot create a socket") }
        var one: Int32 = 1
        setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else {
            close(sock)
            throw RunError("metrics: '\(host)' is not an IPv4 address")
        }
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(sock, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(sock, 16) == 0 else {
            let reason = String(cString: strerror(errno))
            close(sock)
            throw RunError(
                "metrics: cannot listen on \(host):\(port): \(reason)", hint: "choose another --metrics-port")
        }
        var actual = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(sock, $0, &len) }
        }
        fd = sock
        self.port = Int(UInt16(bigEndian: actual.sin_port))
        let t = Thread { [self] in acceptLoop() }
        t.name = "metrics"
        t.start()
        logger.notice("metrics endpoint listening", metadata: ["address": "\(host):\(self.port)"])
    }

    public func stop() {
        lock.withLock { stopped = true }
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }

    private func acceptLoop() {
        while !lock.withLock({ stopped }) {
            let c = accept(fd, nil, nil)
            if c < 0 {
                if errno == EINTR { continue }
                return
            }
            serve(c)
            close(c)
        }
    }

    private func serve(_ c: Int32) {
        var tv = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var request: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while request.count < 8192 {
            let n = read(c, &buf, buf.count)
            if n <= 0 { break }
            request += buf[0..<n]
            if request.count >= 4, request.suffix(4).elementsEqual([13, 10, 13, 10]) { break }
        }
        let line = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
        let parts = line.split(separator: " ")
        let status: String
        var body: String
        var type = "text/plain; charset=utf-8"
        if parts.count >= 2, parts[0] == "GET", parts[1] == "/metrics" || parts[1].hasPrefix("/metrics?") {
            let box = ResultBox()
            let done = DispatchSemaphore(value: 0)
            let render = self.render
            Task {
                box.set(await render())
                done.signal()
            }
            done.wait()
            status = "200 OK"
            body = box.get()
            type = "text/plain; version=0.0.4; charset=utf-8"
        } else if parts.count >= 2, parts[0] == "GET", parts[1] == "/" {
            status = "200 OK"
            body = "ExportGrid metrics: GET /metrics\n"
        } else {
            status = "404 Not Found"
            body = "not found; metrics are at /metrics\n"
        }
        let bytes = Array(body.utf8)
        let head =
            "HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(bytes.count)\r\nConnection: close\r\n\r\n"
        let out = Array(head.utf8) + bytes
        var sent = 0
        while sent < out.count {
            let n = out[sent...].withUnsafeBytes { write(c, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            sent += n
        }
    }

    private final class ResultBox: @unchecked Sendable {
        private let lock = NSLock()
        private var value = ""
        func set(_ v: String) { lock.withLock { value = v } }
        func get() -> String { lock.withLock { value } }
    }
}

/// The metrics every daemon serves, read from Redis at scrape time (so any daemon's endpoint
/// shows the cluster), plus this process's own figures.
public struct ClusterMetrics: Sendable {
    public let control: RunControl
    /// Extra lines of this process (for example its worker's counters), in exposition format.
    public let local: @Sendable () -> [String]

    public init(control: RunControl, local: @escaping @Sendable () -> [String] = { [] }) {
        self.control = control
        self.local = local
    }

    public func render() async -> String {
        var out: [String] = []
        func metric(_ name: String, _ type: String, _ help: String, _ samples: [(String, String)]) {
            out.append("# HELP \(name) \(help)")
            out.append("# TYPE \(name) \(type)")
            for (labels, v) in samples { out.append(name + (labels.isEmpty ? "" : "{\(labels)}") + " " + v) }
        }
        let q = control.queue
        do {
            let t0 = MonotonicClock.nanos()
            _ = try await control.redis.send(RedisCommand("PING"))
            let rtt = Double(MonotonicClock.nanos() - t0) / 1e9
            metric("exportgrid_redis_up", "gauge", "1 when Redis answered this scrape.", [("", "1")])
            metric(
                "exportgrid_redis_roundtrip_seconds", "gauge", "Time of one PING from this process.",
                [("", String(format: "%.6f", rtt))])
            let depths = try await q.depths()
            metric(
                "exportgrid_queue_pending", "gauge", "Jobs waiting in each queue.",
                depths.keys.sorted().map { ("queue=\"\($0)\"", "\(depths[$0]!)") })
            var ages: [(String, String)] = []
            for name in depths.keys.sorted() {
                let age = try await q.oldestPendingAge(queue: name) ?? 0
                ages.append(("queue=\"\(name)\"", String(format: "%.3f", Double(age) / 1000)))
            }
            metric(
                "exportgrid_queue_oldest_pending_seconds", "gauge",
                "Age of the oldest pending job per queue (queue latency).", ages)
            let sizes = try await q.setSizes()
            metric(
                "exportgrid_jobs", "gauge", "Jobs by state.",
                JobListing.allCases.map { ("state=\"\($0.rawValue)\"", "\(sizes[$0] ?? 0)") })
            let stats = try await q.stats()
            metric(
                "exportgrid_cluster_jobs_total", "counter",
                "Jobs by outcome, cluster-wide: enqueued, processed, failed, retried, dead, reclaimed (lease reclaims), fenced (refused late results), canceled.",
                stats.keys.sorted().map { ("outcome=\"\($0)\"", "\(stats[$0]!)") })
            let workers = try await q.workers()
            metric(
                "exportgrid_workers", "gauge", "Registered workers by liveness.",
                [
                    ("alive=\"true\"", "\(workers.filter(\.alive).count)"),
                    ("alive=\"false\"", "\(workers.filter { !$0.alive }.count)"),
                ])
            var stages: [(String, String)] = []
            var states: [String: Int] = [:]
            for run in try await control.runs().suffix(20) {
                let m = try await control.meta(run)
                states[m["state"] ?? "unknown", default: 0] += 1
                for (stage, a, b) in RunControl.stageMarks {
                    guard let s = m[a].flatMap(Int64.init), let e = m[b].flatMap(Int64.init) else { continue }
                    stages.append(("run=\"\(run)\",stage=\"\(stage)\"", String(format: "%.3f", Double(e - s) / 1000)))
                }
            }
            metric(
                "exportgrid_runs", "gauge", "Runs (the latest 20) by state.",
                states.keys.sorted().map { ("state=\"\($0)\"", "\(states[$0]!)") })
            metric(
                "exportgrid_run_stage_seconds", "gauge", "Duration of each finished stage of the latest 20 runs.",
                stages)
        } catch {
            metric("exportgrid_redis_up", "gauge", "1 when Redis answered this scrape.", [("", "0")])
        }
        metric(
            "exportgrid_process_resident_memory_bytes", "gauge", "Resident set size of this process.",
            [("", "\(Self.residentBytes())")])
        out += local()
        return out.joined(separator: "\n") + "\n"
    }

    /// From /proc/self/statm (pages resident x page size).
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
