/// Runs jobs of one kind. Return the result bytes to record (or nil), or throw to fail the
/// attempt: `PermanentFailure` sends the job to the dead set at once, anything else retries
/// with backoff until attempts are used up.
public protocol JobHandler: Sendable {
    func handle(_ context: JobContext) async throws -> [UInt8]?
}

/// A handler from a closure.
public struct ClosureJobHandler: JobHandler {
    let body: @Sendable (JobContext) async throws -> [UInt8]?
    public init(_ body: @escaping @Sendable (JobContext) async throws -> [UInt8]?) { self.body = body }
    public func handle(_ context: JobContext) async throws -> [UInt8]? { try await body(context) }
}

/// Thrown by a handler when retrying cannot help (bad payload, version mismatch): the job goes
/// to the dead set with this reason.
public struct PermanentFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ reason: String) { description = reason }
}

/// What a handler sees of its job.
public struct JobContext: Sendable {
    public let job: ReservedJob
    let queue: JobQueue
    /// The worker holding the job.
    public let worker: String

    public var id: String { job.id }
    public var payload: [UInt8] { job.payload }

    /// Publishes progress (JSON by convention); readable by anyone with `JobQueue.progress(of:)`.
    /// Throws `CancellationError` when this worker no longer holds the job.
    public func progress(_ text: String) async throws {
        if try await queue.setProgress(worker: worker, job: job, text) == .leaseLost { throw CancellationError() }
    }

    /// `base` plus this job's own reservation: writes under it are refused once this worker no
    /// longer holds the job (lease lost, or its slot closed by a purge).
    public func guarded(_ base: QueueGuard = .none) -> QueueGuard { base.held(by: worker, job) }

    /// Throws `CancellationError` when the job was canceled, timed out, or its lease was lost;
    /// call it between steps of long work.
    public func checkpoint() throws { try Task.checkCancellation() }
}
