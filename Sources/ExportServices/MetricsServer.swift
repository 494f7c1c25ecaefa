import Foundation
import JobQueue
import Logging
import RedisClient

#if canImport(Glibc)
    import Glibc
#endif

/// A Prometheus text endpoint (`GET /metrics`, exposition format 0.0.4) on a plain socket.
/// Scrapes are rare and small; no HTTP framework is needed for them. Each connection is served
/// on a thread of its own (at most `maxConnections` at once; more are answered 503 at once), so a
/// client that connects and sends nothing delays no other scrape: it is answered 408 and closed
/// once `requestTimeout` has passed without a whole request head. Other paths get 404, other
/// methods than GET 405.
public final class MetricsServer: @unchecked Sendable {
    public let port: Int
    public let requestTimeout: Duration
    public let maxConnections: Int
    private let fd: Int32
    private let render: @Sendable () async -> String
    private let logger: Logger
    private let lock = NSLock()
    private var stopped = false
    private var active = 0
    /// Where `render` runs: a thread of this server's, not Swift's cooperative pool, which a
    /// worker's handlers may keep busy (a scrape would then wait for a handler to yield).
    private let renderExecutor = RenderExecutor()

    public init(
        host: String, port: Int, logger: Logger, requestTimeout: Duration = .seconds(2), maxConnections: Int = 16,
        render: @escaping @Sendable () async -> String
    ) throws {
        guard (0...65535).contains(port) else {
            throw RunError("metrics: port \(port) is out of range (0 to 65535)", hint: "choose another --metrics-port")
        }
        self.render = render
        self.logger = logger
        self.requestTimeout = requestTimeout
        self.maxConnections = max(1, maxConnections)
        // Close-on-exec: a child process started by the embedding program must not inherit the
        // listening socket or a connection (a connection held open by a child never ends for
        // its client).
        let sock = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
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
                if errno == EINTR || errno == ECONNABORTED { continue }
                return
            }
            // (accept4 is not in Glibc's module; a fork in between may still inherit it, which is
            // why a connection is shut down, not only closed, when it is done.)
            _ = fcntl(c, F_SETFD, FD_CLOEXEC)
            let admitted = lock.withLock {
                guard active < maxConnections else { return false }
                active += 1
                return true
            }
            guard admitted else {
                respond(c, "503 Service Unavailable", "text/plain; charset=utf-8", "too many connections\n")
                close(c)
                continue
            }
            let t = Thread { [self] in
                serve(c)
                shutdown(c, Int32(SHUT_RDWR))
                close(c)
                lock.withLock { active -= 1 }
            }
            t.name = "metrics-conn"
            t.start()
        }
    }

    /// Reads the request head (up to 8 KiB) until `requestTimeout` from now; nil when it did not
    /// come in time.
    private func readRequest(_ c: Int32) -> [UInt8]? {
        let (sec, atto) = requestTimeout.components
        let deadline =
            MonotonicClock.nanos() + UInt64(max(0, sec)) * 1_000_000_000 + UInt64(max(0, atto) / 1_000_000_000)
        var request: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while request.count < 8192 {
            let now = MonotonicClock.nanos()
            guard now < deadline else { return nil }
            var p = pollfd(fd: c, events: Int16(POLLIN), revents: 0)
            let r = poll(&p, 1, Int32(min((deadline - now) / 1_000_000 + 1, 60_000)))
            if r < 0 {
                if errno == EINTR { continue }
                return request
            }
            if r == 0 { continue }  // the deadline check above ends the wait
            let n = read(c, &buf, buf.count)
            if n <= 0 { return request }
            request += buf[0..<n]
            if let end = request.firstRange(of: [13, 10, 13, 10]) ?? request.firstRange(of: [10, 10]) {
                return Array(request[..<end.lowerBound])
            }
        }
        return request
    }

    private func serve(_ c: Int32) {
        var tv = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        guard let request = readRequest(c) else {
            respond(c, "408 Request Timeout", "text/plain; charset=utf-8", "no request within \(requestTimeout)\n")
            return
        }
        let line = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
        let parts = line.split(separator: " ")
        guard parts.count == 3, parts[2].hasPrefix("HTTP/") else {
            respond(c, "400 Bad Request", "text/plain; charset=utf-8", "not an HTTP request; GET /metrics\n")
            return
        }
        guard parts[0] == "GET" else {
            respond(
                c, "405 Method Not Allowed", "text/plain; charset=utf-8", "only GET; metrics are at GET /metrics\n",
                extra: "Allow: GET\r\n")
            return
        }
        if parts[1] == "/metrics" || parts[1].hasPrefix("/metrics?") {
            let box = ResultBox()
            let done = DispatchSemaphore(value: 0)
            let render = self.render
            Task(executorPreference: renderExecutor) {
                box.set(await render())
                done.signal()
            }
            done.wait()
            respond(c, "200 OK", "text/plain; version=0.0.4; charset=utf-8", box.get())
        } else if parts[1] == "/" {
            respond(c, "200 OK", "text/plain; charset=utf-8", "ExportGrid metrics: GET /metrics\n")
        } else {
            respond(c, "404 Not Found", "text/plain; charset=utf-8", "not found; metrics are at /metrics\n")
        }
    }

    private func respond(_ c: Int32, _ status: String, _ type: String, _ body: String, extra: String = "") {
        let bytes = Array(body.utf8)
        let head =
            "HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(bytes.count)\r\n\(extra)"
            + "Connection: close\r\n\r\n"
        let out = Array(head.utf8) + bytes
        var sent = 0
        while sent < out.count {
            let n = out[sent...].withUnsafeBytes { send(c, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            sent += n
        }
    }

    /// Runs jobs on one thread of its own, in order.
    private final class RenderExecutor: TaskExecutor, @unchecked Sendable {
        private let cond = NSCondition()
        private var jobs: [UnownedJob] = []

        init() {
            let t = Thread { [self] in loop() }
            t.name = "metrics-render"
            t.start()
        }

        func enqueue(_ job: consuming ExecutorJob) {
            let j = UnownedJob(job)
            cond.lock()
            jobs.append(j)
            cond.signal()
            cond.unlock()
        }

        private func loop() {
            while true {
                cond.lock()
                while jobs.isEmpty { cond.wait() }
                let j = jobs.removeFirst()
                cond.unlock()
                j.runSynchronously(on: asUnownedTaskExecutor())
            }
        }
    }

    private final class ResultBox: @unchecked Sendable {
        private let lock = NSLock()
        private var value = ""
        func set(_ v: String) { lock.withLock { value = v } }
        func get() -> String { lock.withLock { value } }
    }
}

/// The metrics every daemon serves: the cluster's, read from Redis at scrape time (so any
/// daemon's endpoint shows the cluster), plus this process's own figures.
///
/// Cluster-wide series carry the label `scope="cluster"`: every daemon exports the same values,
/// so they are aggregated across targets with `max()`, never `sum()` (which would be N times too
/// large); series without it are this process's own and add up. Every labelled series an alert
/// uses is exported from zero, before its first event (all job outcomes, the stage queues, the
/// run states), so `increase(...{outcome="dead"}[10m]) > 0` sees the first dead job.
public struct ClusterMetrics: Sendable {
    public let control: RunControl
    /// Extra lines of this process (for example its worker's counters), in exposition format.
    public let local: @Sendable () -> [String]

    /// The label of every cluster-wide sample.
    public static let clusterScope = "scope=\"cluster\""
    /// The queues of a run's stages, exported even before their first job.
    public static let stageQueues = [RunJobs.controlQueue, RunJobs.ecosystemQueue, RunJobs.evaluateQueue]
    /// Run states, exported from zero.
    public static let runStates = ["loading", "submitted", "running", "done", "failed"]

    public init(control: RunControl, local: @escaping @Sendable () -> [String] = { [] }) {
        self.control = control
        self.local = local
    }

    public func render() async -> String {
        var out: [String] = []
        func metric(
            _ name: String, _ type: String, _ help: String, _ samples: [(String, String)], cluster: Bool = true,
            into lines: inout [String]
        ) {
            lines.append("# HELP \(name) \(help)" + (cluster ? " Cluster-wide: aggregate with max()." : ""))
            lines.append("# TYPE \(name) \(type)")
            for (labels, v) in samples {
                let all = cluster ? (labels.isEmpty ? Self.clusterScope : Self.clusterScope + "," + labels) : labels
                lines.append(name + (all.isEmpty ? "" : "{\(all)}") + " " + v)
            }
        }
        let q = control.queue
        let up = "1 when Redis answered this scrape."
        do {
            // Collected apart: a scrape that fails half-way exports redis_up 0 and none of these.
            var c: [String] = []
            let t0 = MonotonicClock.nanos()
            _ = try await control.redis.send(RedisCommand("PING"))
            let rtt = Double(MonotonicClock.nanos() - t0) / 1e9
            metric("exportgrid_redis_up", "gauge", up, [("", "1")], cluster: false, into: &c)
            metric(
                "exportgrid_redis_roundtrip_seconds", "gauge", "Time of one PING from this process.",
                [("", String(format: "%.6f", rtt))], cluster: false, into: &c)
            var depths = try await q.depths()
            for name in Self.stageQueues where depths[name] == nil { depths[name] = 0 }
            metric(
                "exportgrid_queue_pending", "gauge", "Jobs waiting in each queue.",
                depths.keys.sorted().map { ("queue=\"\($0)\"", "\(depths[$0]!)") }, into: &c)
            var ages: [(String, String)] = []
            for name in depths.keys.sorted() {
                let age = try await q.oldestPendingAge(queue: name) ?? 0
                ages.append(("queue=\"\(name)\"", String(format: "%.3f", Double(age) / 1000)))
            }
            metric(
                "exportgrid_queue_oldest_pending_seconds", "gauge",
                "Age of the oldest pending job per queue (queue latency).", ages, into: &c)
            let sizes = try await q.setSizes()
            metric(
                "exportgrid_jobs", "gauge", "Jobs by state.",
                JobListing.allCases.map { ("state=\"\($0.rawValue)\"", "\(sizes[$0] ?? 0)") }, into: &c)
            var stats = try await q.stats()
            for name in QueueMetrics.clusterOutcomes where stats[name] == nil { stats[name] = 0 }
            metric(
                "exportgrid_cluster_jobs_total", "counter",
                "Jobs by outcome: enqueued, processed, failed, retried, dead, reclaimed (lease reclaims), fenced (refused late results), canceled.",
                stats.keys.sorted().map { ("outcome=\"\($0)\"", "\(stats[$0]!)") }, into: &c)
            let workers = try await q.workers()
            metric(
                "exportgrid_workers", "gauge", "Registered workers by liveness.",
                [
                    ("alive=\"true\"", "\(workers.filter(\.alive).count)"),
                    ("alive=\"false\"", "\(workers.filter { !$0.alive }.count)"),
                ], into: &c)
            var stages: [(String, String)] = []
            var states: [String: Int] = [:]
            for state in Self.runStates { states[state] = 0 }
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
                states.keys.sorted().map { ("state=\"\($0)\"", "\(states[$0]!)") }, into: &c)
            metric(
                "exportgrid_run_stage_seconds", "gauge", "Duration of each finished stage of the latest 20 runs.",
                stages, into: &c)
            out += c
        } catch {
            metric("exportgrid_redis_up", "gauge", up, [("", "0")], cluster: false, into: &out)
        }
        metric(
            "exportgrid_process_resident_memory_bytes", "gauge", "Resident set size of this process.",
            [("", "\(Self.residentBytes())")], cluster: false, into: &out)
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
