import ExportServices
import Foundation
import JobQueue
import Logging
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Sends `request` as it is; returns (status line, header lines, body).
private func rawExchange(_ port: Int, _ request: String) throws -> (status: String, headers: [String], body: String) {
    let fd = try connectLoopback(port)
    defer { close(fd) }
    let bytes = Array(request.utf8)
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    let text = readAll(fd)
    guard let split = text.range(of: "\r\n\r\n") else { throw TestSetupError("no HTTP response: \(text)") }
    let head = text[..<split.lowerBound].components(separatedBy: "\r\n")
    return (head[0], Array(head.dropFirst()), String(text[split.upperBound...]))
}

/// Runs blocking socket calls on a thread of their own: blocked on Swift's cooperative pool
/// they could starve the in-process server's render task they wait for.
private func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (k: CheckedContinuation<T, any Error>) in
        Thread { k.resume(with: Result { try body() }) }.start()
    }
}

/// Samples of an exposition body: `name{labels}` to value.
private func samples(_ body: String) -> [String: String] {
    var out: [String: String] = [:]
    for line in body.split(separator: "\n") where !line.hasPrefix("#") {
        guard let space = line.lastIndex(of: " ") else { continue }
        out[String(line[..<space])] = String(line[line.index(after: space)...])
    }
    return out
}

@Suite("Metrics endpoint: concurrent, HTTP basics, counters from zero, cluster scope")
struct MetricsEndpointTests {
    /// The server as the daemons build it, on the fixture's fresh namespace.
    func server(_ f: PipelineFixture, requestTimeout: Duration = .seconds(2)) throws -> MetricsServer {
        var l = Logger(label: "metrics-test")
        l.logLevel = .error
        let cluster = ClusterMetrics(control: f.control)
        return try MetricsServer(host: "127.0.0.1", port: 0, logger: l, requestTimeout: requestTimeout) {
            await cluster.render()
        }
    }

    @Test func anIdleConnectionDoesNotDelayAScrapeAndIsDroppedAfterTheTimeout() async throws {
        let f = try PipelineFixture()
        // A long request timeout, so "answered well before it" cannot be luck on a busy machine.
        let s = try server(f, requestTimeout: .seconds(20))
        defer { s.stop() }
        let clock = ContinuousClock()
        let opened = clock.now
        let idle = try connectLoopback(s.port, timeout: 60)
        defer { close(idle) }
        // Times are taken on the threads that wait on the sockets: this test's own task may
        // resume late when the suite keeps Swift's cooperative pool busy.
        let port = s.port
        let (scrape, took) = try await offPool {
            let t0 = clock.now
            let r = try rawExchange(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            return (r, clock.now - t0)
        }
        #expect(scrape.status == "HTTP/1.1 200 OK")
        #expect(samples(scrape.body)["exportgrid_redis_up"] == "1")
        // A serial server would hold this scrape until the idle connection's 20 s ran out.
        #expect(took < .seconds(10), "the scrape waited \(took) behind an idle connection")
        // The idle connection is answered 408 and closed once its timeout has passed.
        let (idleAnswer, idleFor) = try await offPool { (readAll(idle), clock.now - opened) }
        #expect(idleAnswer.hasPrefix("HTTP/1.1 408 Request Timeout"), "\(idleAnswer)")
        #expect(idleFor >= .seconds(15), "the idle connection was dropped after \(idleFor), before its timeout")
    }

    @Test func httpBasicsContentTypeNotFoundAndMethodNotAllowed() async throws {
        let f = try PipelineFixture()
        let s = try server(f)
        defer { s.stop() }
        let port = s.port
        func exchange(_: Int, _ request: String) async throws -> (status: String, headers: [String], body: String) {
            try await offPool { try rawExchange(port, request) }
        }
        let ok = try await exchange(s.port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(ok.status == "HTTP/1.1 200 OK")
        #expect(ok.headers.contains("Content-Type: text/plain; version=0.0.4; charset=utf-8"), "\(ok.headers)")
        #expect(ok.headers.contains("Content-Length: \(ok.body.utf8.count)"))
        let missing = try await exchange(s.port, "GET /nothing HTTP/1.1\r\n\r\n")
        #expect(missing.status == "HTTP/1.1 404 Not Found")
        for method in ["POST", "PUT", "DELETE", "HEAD"] {
            let r = try await exchange(s.port, "\(method) /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
            #expect(r.status == "HTTP/1.1 405 Method Not Allowed", "\(method)")
            #expect(r.headers.contains("Allow: GET"), "\(method): \(r.headers)")
        }
        let garbage = try await exchange(s.port, "hello\r\n\r\n")
        #expect(garbage.status == "HTTP/1.1 400 Bad Request")
        #expect(throws: (any Error).self) {
            try MetricsServer(host: "127.0.0.1", port: 99_999, logger: Logger(label: "x")) { "" }
        }
    }

    /// A worker started on a fresh namespace and scraped at once exports every outcome, queue and
    /// run state an alert uses, at 0.
    @Test func aFreshWorkerExportsEveryCounterFromZero() async throws {
        let f = try PipelineFixture()
        let port = try freePort()
        try f.start(
            "mw", "export-worker", ["--concurrency", "1", "--log-level", "warning", "--metrics-port", "\(port)"])
        defer { f.stopAll() }
        var body = ""
        try await eventually("the worker's metrics endpoint answers", timeout: .seconds(20)) {
            body = (try? httpGet(port: port, path: "/metrics"))?.body ?? ""
            return samples(body)["exportgrid_redis_up"] == "1"
        }
        let got = samples(body)
        for outcome in QueueMetrics.clusterOutcomes {
            #expect(
                got["exportgrid_cluster_jobs_total{scope=\"cluster\",outcome=\"\(outcome)\"}"] == "0",
                "outcome \(outcome) missing or not 0:\n\(body)")
        }
        for queue in ["control", "ecosystem", "evaluate"] {
            #expect(got["exportgrid_queue_pending{scope=\"cluster\",queue=\"\(queue)\"}"] == "0", "\(queue)")
            #expect(
                got["exportgrid_queue_oldest_pending_seconds{scope=\"cluster\",queue=\"\(queue)\"}"] == "0.000",
                "\(queue)")
        }
        for state in ["loading", "submitted", "running", "done", "failed"] {
            #expect(got["exportgrid_runs{scope=\"cluster\",state=\"\(state)\"}"] == "0", "\(state)")
        }
        #expect(
            got.contains {
                $0.key.hasPrefix("exportgrid_worker_jobs_total{") && $0.key.hasSuffix("outcome=\"failed\"}")
                    && $0.value == "0"
            })
    }

    /// Two workers and a scheduler: the cluster-wide series are marked `scope="cluster"` and are
    /// the same on every endpoint (so max() across targets is right); per-process series carry no
    /// scope and each names its own process.
    @Test func clusterSeriesAreMarkedAndTheSameEverywhereProcessSeriesDiffer() async throws {
        let f = try PipelineFixture()
        let ports = [try freePort(), try freePort(), try freePort()]
        try f.start("w1", "export-worker", ["--log-level", "warning", "--metrics-port", "\(ports[0])"])
        try f.start("w2", "export-worker", ["--log-level", "warning", "--metrics-port", "\(ports[1])"])
        try f.scheduler("s", ["--metrics-port", "\(ports[2])"])
        defer { f.stopAll() }
        let clusterFamilies: Set<String> = [
            "exportgrid_queue_pending", "exportgrid_queue_oldest_pending_seconds", "exportgrid_jobs",
            "exportgrid_cluster_jobs_total", "exportgrid_workers", "exportgrid_runs", "exportgrid_run_stage_seconds",
        ]
        var scraped: [[String: String]] = []
        var cluster: [[String: String]] = []
        try await eventually("all three endpoints answer and agree on the cluster", timeout: .seconds(30)) {
            scraped = ports.map { samples((try? httpGet(port: $0, path: "/metrics"))?.body ?? "") }
            cluster = scraped.map { $0.filter { $0.key.contains("scope=\"cluster\"") } }
            let alive = cluster.map { $0["exportgrid_workers{scope=\"cluster\",alive=\"true\"}"] }
            return scraped.allSatisfy { $0["exportgrid_redis_up"] == "1" } && alive[0] != nil && alive[0] != "0"
                && cluster[1] == cluster[0] && cluster[2] == cluster[0]
        }
        for endpoint in scraped {
            for key in endpoint.keys {
                let family = String(key.prefix { $0 != "{" })
                #expect(
                    clusterFamilies.contains(family) == key.contains("scope=\"cluster\""),
                    "\(key): cluster-wide families and only they carry scope=\"cluster\"")
            }
        }
        #expect(!cluster[0].isEmpty)
        let alive = try await f.control.queue.workers().filter(\.alive).count
        #expect(cluster[0]["exportgrid_workers{scope=\"cluster\",alive=\"true\"}"] == "\(alive)")
        // Per process: each worker reports its own id, the scheduler its leadership.
        let own = scraped.map { s in Set(s.keys.filter { $0.hasPrefix("exportgrid_worker_jobs_total{") }) }
        #expect(!own[0].isEmpty && !own[1].isEmpty && own[0].isDisjoint(with: own[1]))
        #expect(scraped[2].keys.contains { $0.hasPrefix("exportgrid_scheduler_leader{") })
        #expect(!scraped[0].keys.contains { $0.hasPrefix("exportgrid_scheduler_leader") })
    }
}
