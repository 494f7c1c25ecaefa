import JobQueue

/// One incarnation of a run: its id and the generation `submit` gave it (a random token in its
/// meta hash). Every write of a run is guarded by both, so a run that was purged, or purged and
/// submitted again under the same id, takes no write meant for the one before.
public struct RunRef: Sendable, Hashable, CustomStringConvertible {
    public let id: String
    /// The meta hash's `gen` field; empty for runs stored before generations existed.
    public let gen: String

    public init(id: String, gen: String) {
        self.id = id
        self.gen = gen
    }

    /// A fresh generation: 128 random bits in hex.
    public static func newGeneration() -> String {
        var rng = SystemRandomNumberGenerator()
        return (0..<2).map { _ in
            let h = String(rng.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - h.count) + h
        }.joined()
    }

    public var description: String { id }
}
