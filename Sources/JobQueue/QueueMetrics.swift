import Metrics

/// The queue's counters and gauges (swift-metrics; a no-op until a backend is bootstrapped,
/// such as the Prometheus endpoint of the daemons).
public struct QueueMetrics: Sendable {
    public let enqueued = Counter(label: "exportgrid_jobs_enqueued_total")
    public let reserved = Counter(label: "exportgrid_jobs_reserved_total")
    public let succeeded = Counter(label: "exportgrid_jobs_total", dimensions: [("outcome", "succeeded")])
    public let retried = Counter(label: "exportgrid_jobs_total", dimensions: [("outcome", "retry")])
    public let dead = Counter(label: "exportgrid_jobs_total", dimensions: [("outcome", "dead")])
    public let canceled = Counter(label: "exportgrid_jobs_total", dimensions: [("outcome", "canceled")])
    public let timedOut = Counter(label: "exportgrid_jobs_timed_out_total")
    /// Results refused because the reservation was lost (fenced).
    public let fenced = Counter(label: "exportgrid_jobs_fenced_total")
    /// Jobs reclaimed from dead workers or expired leases by this process's maintenance passes.
    public let reclaimed = Counter(label: "exportgrid_jobs_reclaimed_total")
    public let inflight = Gauge(label: "exportgrid_worker_jobs_inflight")
    /// Age of the oldest job this worker holds: a stuck job shows here long before it times out.
    public let oldestHeld = Gauge(label: "exportgrid_worker_oldest_job_age_seconds")

    public init() {}

    /// The outcomes the queue counts in its `stats` hash (cluster-wide, in Redis), so every one
    /// can be exported from zero before its first event.
    public static let clusterOutcomes = [
        "enqueued", "processed", "failed", "retried", "dead", "reclaimed", "fenced", "canceled",
    ]

    public func depth(_ queue: String) -> Gauge {
        Gauge(label: "exportgrid_queue_depth", dimensions: [("queue", queue)])
    }
}
