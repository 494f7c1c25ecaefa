/// Exponential backoff with full jitter: attempt n waits a uniform random time in
/// [0, min(max, base * 2^n)], so many clients reconnecting at once spread out.
public struct Backoff: Sendable {
    public var base: Duration
    public var max: Duration

    public init(base: Duration, max: Duration) {
        self.base = base
        self.max = max
    }

    /// The upper bound of the wait before attempt `attempt` (0-based).
    public func ceiling(attempt: Int) -> Duration {
        let factor = 1 << Swift.min(attempt, 30)
        let c = base * factor
        return c > max ? max : c
    }

    public func delay<G: RandomNumberGenerator>(attempt: Int, using rng: inout G) -> Duration {
        let ceil = ceiling(attempt: attempt)
        let ns = ceil.nanoseconds
        return ns <= 0 ? .zero : .nanoseconds(Int64.random(in: 0...ns, using: &rng))
    }

    public func delay(attempt: Int) -> Duration {
        var g = SystemRandomNumberGenerator()
        return delay(attempt: attempt, using: &g)
    }
}

extension Duration {
    /// The duration in whole nanoseconds (saturating).
    public var nanoseconds: Int64 {
        let (s, a) = components
        let (m, o) = s.multipliedReportingOverflow(by: 1_000_000_000)
        return o ? Int64.max : m + a / 1_000_000_000
    }

    public var seconds: Double { Double(nanoseconds) / 1e9 }
}
