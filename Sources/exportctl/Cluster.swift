import ArgumentParser
import ExportData
import ExportDomain
import ExportServices
import Foundation
import JobQueue
import Logging
import ProcessSupport
import RedisClient

/// What every command that talks to Redis needs, built from REDIS_URL and EXPORTGRID_NAMESPACE.
struct Cluster {
    let redisConfig: RedisConfiguration
    let namespace: String
    let logger: Logger
    let redis: RedisConnection
    let queue: JobQueue
    let control: RunControl

    init() throws {
        var l = Logger(label: "exportctl")
        l.logLevel = .warning
        logger = l
        do { redisConfig = try RedisConfiguration.fromEnvironment() } catch {
            throw CLIError("\(error)", hint: "set REDIS_URL=redis://host:port (see README)", exit: .usage)
        }
        namespace = JobQueue.namespaceFromEnvironment()
        redis = RedisConnection(configuration: redisConfig, logger: l)
        queue = JobQueue(redis: redis, namespace: namespace, logger: l)
        control = RunControl(queue: queue)
    }

    /// A run that must exist.
    func requireRun(_ run: String) async throws -> [String: String] {
        let meta = try await control.meta(run)
        guard !meta.isEmpty else {
            throw CLIError(
                "no run \(run) in namespace \(namespace)", hint: "list runs with: exportctl runs list",
                exit: .runUnknown)
        }
        return meta
    }
}

/// exportctl's exit statuses: its contract with scripts and operators (README "The CLI" and
/// ops/RUNBOOK.md list them). Every failure maps to exactly one of these; nothing else is used.
enum Exit: Int32 {
    /// Done (for `status RUN`: the run is done or still going).
    case ok = 0
    /// Any other failure.
    case failure = 1
    /// The run failed (`status RUN`, `submit --wait`, `status RUN --watch`).
    case runFailed = 2
    /// No such run (or it was purged while followed).
    case runUnknown = 3
    /// A bad flag, argument or REDIS_URL (EX_USAGE, ArgumentParser's own).
    case usage = 64
    /// The dataset cannot be used: a submit or validate the verdict refuses (EX_DATAERR).
    case dataError = 65
    /// Redis cannot be reached, or the connection was lost (EX_UNAVAILABLE).
    case unavailable = 69
    /// Refused: wrong password, an ACL without the permission (NOPERM), or an operation the
    /// cluster will not do (EX_NOPERM).
    case refused = 77

    var code: ExitCode { ExitCode(rawValue) }
}

/// One clear line, a hint, and a non-zero exit.
struct CLIError: Error, CustomStringConvertible {
    let message: String
    let hint: String?
    let exit: Exit
    init(_ message: String, hint: String? = nil, exit: Exit = .failure) {
        self.message = message
        self.hint = hint
        self.exit = exit
    }
    var description: String { message + (hint.map { "\nhint: " + $0 } ?? "") }
}

/// The exit status of a Redis error: unreachable or lost connections, refusals, anything else.
func exitStatus(of e: RedisError) -> Exit {
    switch e {
    case .unavailable, .connectionLost, .timeout, .closed: return .unavailable
    case .authentication: return .refused
    case .configuration: return .usage  // REDIS_URL names a database the server does not have
    case .server(let s) where s.code == "NOPERM" || s.code == "WRONGPASS" || s.code == "NOAUTH": return .refused
    case .server, .protocolError: return .failure
    }
}

/// True for the Redis errors a later retry can cure (the server is restarting, a network blip).
func isOutage(_ e: any Error) -> Bool {
    guard let r = e as? RedisError else { return false }
    return exitStatus(of: r) == .unavailable && r != .closed
}

/// Runs `body`, turning known errors into one line plus a hint on stderr and the exit status
/// of their kind (see `Exit`).
func reporting(_ body: () async throws -> Void) async throws {
    func fail(_ message: String, _ hint: String?, _ exit: Exit) -> ExitCode {
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
        if let h = hint { FileHandle.standardError.write(Data("hint: \(h)\n".utf8)) }
        return exit.code
    }
    do { try await body() } catch let e as CLIError {
        throw fail(e.message, e.hint, e.exit)
    } catch let e as DatasetRefused {
        throw fail(e.message, e.hint, .dataError)
    } catch let e as RunError {
        throw fail(e.message, e.hint, .failure)
    } catch let e as RedisError {
        let exit = exitStatus(of: e)
        let hint = e.hint ?? (exit == .refused ? "check the user in REDIS_URL and its ACL permissions" : nil)
        throw fail("\(e)", hint, exit)
    } catch let e as QueueError {
        if case .refused = e { throw fail("\(e)", nil, .refused) }
        throw fail("\(e)", nil, .failure)
    }
}

func nowMillis() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

/// A flat JSON object of string/number fields, keys in the given order.
func jsonObject(_ fields: [(String, Any?)]) -> String {
    "{"
        + fields.map { k, v in
            let value: String
            switch v {
            case nil: value = "null"
            case let i as Int: value = "\(i)"
            case let i as Int64: value = "\(i)"
            case let b as Bool: value = b ? "true" : "false"
            case let s as String: value = JSONText.quote(s)
            case let raw as RawJSON: value = raw.text
            default: value = JSONText.quote("\(v!)")
            }
            return JSONText.quote(k) + ":" + value
        }.joined(separator: ",") + "}"
}

struct RawJSON { let text: String }
