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
            throw CLIError("\(error)", hint: "set REDIS_URL=redis://host:port (see README)")
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
            throw CLIError("no run \(run) in namespace \(namespace)", hint: "list runs with: exportctl runs list")
        }
        return meta
    }
}

/// One clear line, a hint, and a non-zero exit.
struct CLIError: Error, CustomStringConvertible {
    let message: String
    let hint: String?
    init(_ message: String, hint: String? = nil) {
        self.message = message
        self.hint = hint
    }
    var description: String { message + (hint.map { "\nhint: " + $0 } ?? "") }
}

/// Runs `body`, turning known errors into one line plus a hint on stderr and exit status 1.
func reporting(_ body: () async throws -> Void) async throws {
    do { try await body() } catch let e as CLIError {
        FileHandle.standardError.write(Data("error: \(e.message)\n".utf8))
        if let h = e.hint { FileHandle.standardError.write(Data("hint: \(h)\n".utf8)) }
        throw ExitCode(1)
    } catch let e as RunError {
        FileHandle.standardError.write(Data("error: \(e.message)\n".utf8))
        if let h = e.hint { FileHandle.standardError.write(Data("hint: \(h)\n".utf8)) }
        throw ExitCode(1)
    } catch let e as RedisError {
        FileHandle.standardError.write(Data("error: Redis: \(e)\n".utf8))
        FileHandle.standardError.write(Data("hint: check REDIS_URL and that redis-server is reachable\n".utf8))
        throw ExitCode(1)
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
