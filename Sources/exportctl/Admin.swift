import ArgumentParser
import ExportServices
import Foundation
import JobQueue

struct Workers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The worker registry: every worker with a live heartbeat or jobs still held.")

    @Flag(help: "JSON output.") var json = false

    func run() async throws {
        try await reporting {
            let c = try Cluster()
            let now = try await c.queue.serverMillis()
            let ws = try await c.queue.workers()
            if json {
                print(
                    "["
                        + ws.map { w in
                            jsonObject(
                                [
                                    ("id", w.id), ("alive", w.alive), ("last_heartbeat_ms", w.lastHeartbeat),
                                    ("holding", w.holding),
                                ] + w.fields.keys.sorted().map { ($0, w.fields[$0]) })
                        }.joined(separator: ",") + "]")
                return
            }
            print(pad("worker", 40) + pad("alive", 7) + lpad("seen", 8) + lpad("holding", 9) + "  details")
            for w in ws {
                let details = w.fields.keys.sorted().filter { $0 != "id" }.map { "\($0)=\(w.fields[$0]!)" }
                print(
                    pad(w.id, 40) + pad(w.alive ? "yes" : "NO", 7)
                        + lpad("\(max(0, now - w.lastHeartbeat) / 1000) s", 8)
                        + lpad("\(w.holding)", 9) + "  " + details.joined(separator: " "))
            }
            if ws.isEmpty { print("no workers") }
        }
    }
}

func printJobs(_ c: Cluster, _ ids: [String], json: Bool) async throws {
    var rows: [String] = []
    if !json { print(pad("job", 44) + pad("state", 10) + pad("kind", 16) + lpad("attempts", 9) + "  last error") }
    for id in ids {
        guard let j = try await c.queue.job(id) else { continue }
        if json {
            rows.append(
                jsonObject([
                    ("id", j.id), ("state", j.state), ("queue", j.queue), ("kind", j.kind), ("attempts", j.attempts),
                    ("max_attempts", j.maxAttempts), ("worker", j.worker), ("group", j.group),
                    ("last_error", j.lastError), ("progress", j.progress),
                ]))
        } else {
            print(
                pad(j.id, 44) + pad(j.state, 10) + pad(j.kind ?? "-", 16) + lpad("\(j.attempts)/\(j.maxAttempts)", 9)
                    + "  " + (j.lastError ?? ""))
        }
    }
    if json { print("[" + rows.joined(separator: ",") + "]") }
}

struct Jobs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List, show, retry or cancel jobs.", subcommands: [List.self, Show.self, Retry.self, Cancel.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Jobs in a state, oldest first.")
        @Option(help: "pending, scheduled, active, dead, canceled or done.") var state = "active"
        @Option(help: "Only this queue (pending jobs).") var queue: String?
        @Option(help: "At most this many (1 to 1000000).") var limit = 50
        @Flag(help: "JSON output.") var json = false

        func validate() throws { try checkLimit(limit) }

        func run() async throws {
            try await reporting {
                guard let s = JobListing(rawValue: state) else {
                    throw CLIError(
                        "unknown state \(state)", hint: JobListing.allCases.map(\.rawValue).joined(separator: ", "))
                }
                let c = try Cluster()
                try await printJobs(c, try await c.queue.list(s, queue: queue, limit: limit), json: json)
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One job, whole.")
        @Argument(help: "The job id.") var id: String
        @Flag(help: "JSON output.") var json = false

        func run() async throws {
            try await reporting {
                let c = try Cluster()
                guard let j = try await c.queue.job(id) else {
                    throw CLIError("no job \(id)", hint: "finished jobs are kept for the retention window only")
                }
                let fields: [(String, Any?)] = [
                    ("id", j.id), ("state", j.state), ("queue", j.queue), ("kind", j.kind), ("attempts", j.attempts),
                    ("max_attempts", j.maxAttempts), ("token", j.token), ("worker", j.worker), ("group", j.group),
                    ("last_error", j.lastError), ("progress", j.progress), ("created_ms", j.createdAt),
                    ("finished_ms", j.finishedAt), ("run_at_ms", j.runAt), ("payload_bytes", j.payloadBytes),
                ]
                if json {
                    print(jsonObject(fields))
                } else {
                    for (k, v) in fields { print(pad(k, 14) + (v.map { "\($0)" } ?? "-")) }
                }
            }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run jobs waiting for a retry (or scheduled) now.")
        @Argument(help: "Job ids.") var ids: [String]

        func run() async throws {
            try await reporting {
                let c = try Cluster()
                print("moved \(try await c.queue.retryNow(ids)) of \(ids.count) jobs to their queues")
            }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cancel jobs: pending ones never run; running ones stop at their next checkpoint.")
        @Argument(help: "Job ids.") var ids: [String]

        func run() async throws {
            try await reporting {
                let c = try Cluster()
                for id in ids { print("\(id): \(try await c.queue.cancel(id).rawValue)") }
            }
        }
    }
}

struct Dead: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The dead set: jobs out of attempts, with their last error.",
        subcommands: [List.self, Requeue.self, Purge.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Dead jobs, oldest first.")
        @Option(help: "At most this many (1 to 1000000).") var limit = 50
        @Flag(help: "JSON output.") var json = false

        func validate() throws { try checkLimit(limit) }

        func run() async throws {
            try await reporting {
                let c = try Cluster()
                try await printJobs(c, try await c.queue.list(.dead, limit: limit), json: json)
            }
        }
    }

    struct Requeue: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give dead jobs a fresh set of attempts.")
        @Argument(help: "Job ids.") var ids: [String] = []
        @Flag(help: "Every dead job.") var all = false

        func run() async throws {
            try await reporting {
                let c = try Cluster()
                let chosen = all ? try await c.queue.list(.dead, limit: 100_000) : ids
                guard !chosen.isEmpty else { throw CLIError("no job given", hint: "name job ids, or --all") }
                print("requeued \(try await c.queue.requeueDead(chosen)) jobs")
            }
        }
    }

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete dead jobs (all, the given ones, or older ones).")
        @Argument(help: "Job ids (default: every dead job).") var ids: [String] = []
        @Option(help: "Only those dead for more than this many hours (0 to 876000).") var olderThanHours: Double?

        func validate() throws {
            if let h = olderThanHours, !(0...876_000).contains(h) {
                throw ValidationError("--older-than-hours must be 0 to 876000 (100 years), not \(h)")
            }
            if olderThanHours != nil && !ids.isEmpty {
                throw ValidationError("give job ids or --older-than-hours, not both")
            }
        }

        func run() async throws {
            try await reporting {
                let c = try Cluster()
                var before: Int64?
                if let h = olderThanHours {
                    before = try await c.queue.serverMillis() - Int64(h * 3_600_000)
                } else if ids.isEmpty {
                    // Every dead job: all those that died before a time far in the future.
                    before = Int64(1) << 52
                }
                print("purged \(try await c.queue.purgeDead(ids: ids, olderThan: before)) dead jobs")
            }
        }
    }
}

/// A listing's --limit: 1 to 1,000,000.
func checkLimit(_ limit: Int) throws {
    guard (1...1_000_000).contains(limit) else { throw ValidationError("--limit must be 1 to 1000000, not \(limit)") }
}

let runQueues = [RunJobs.controlQueue, RunJobs.ecosystemQueue, RunJobs.evaluateQueue]

struct Pause: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Pause queues: workers stop taking their jobs (running ones finish).")
    @Argument(help: "Queues (default: every queue of the pipeline).") var queues: [String] = []

    func run() async throws {
        try await reporting {
            let c = try Cluster()
            for q in queues.isEmpty ? runQueues : queues { try await c.queue.pause(queue: q) }
            print("paused: " + (queues.isEmpty ? runQueues : queues).joined(separator: ", "))
        }
    }
}

struct Resume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Resume paused queues.")
    @Argument(help: "Queues (default: every queue of the pipeline).") var queues: [String] = []

    func run() async throws {
        try await reporting {
            let c = try Cluster()
            for q in queues.isEmpty ? runQueues : queues { try await c.queue.resume(queue: q) }
            print("resumed: " + (queues.isEmpty ? runQueues : queues).joined(separator: ", "))
        }
    }
}
