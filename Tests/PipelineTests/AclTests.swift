import ExportServices
import Foundation
import JobQueue
import Logging
import ProcessSupport
import RedisClient
import TestSupport
import Testing

/// The shipped ACL file (`ops/redis/make-acl`) on a real redis-server: the whole pipeline runs
/// with one user per role, and each role is refused what it must not do.
@Suite("Least privilege with the shipped Redis ACLs", .serialized)
struct AclTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    /// Passwords in files, the ACL rendered for `namespace`, a redis-server loading it.
    final class AclRedis: @unchecked Sendable {
        let dir: String
        let server: RedisServerProcess
        let passwords: [String: String]

        init(namespace: String) throws {
            dir =
                FileManager.default.temporaryDirectory.appendingPathComponent("acl-\(UUID().uuidString.prefix(8))")
                .path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            var pw: [String: String] = [:]
            for role in ["worker", "scheduler", "operator", "admin"] {
                pw[role] = "\(role)-" + UUID().uuidString
                try (pw[role]! + "\n").write(toFile: dir + "/\(role).pass", atomically: true, encoding: .utf8)
            }
            passwords = pw
            let acl = dir + "/users.acl"
            let render = try ChildProcess(
                executable: "/bin/bash", arguments: [AclTests.repo + "/ops/redis/make-acl", namespace, dir],
                stdoutPath: acl, stderrPath: dir + "/make-acl.err")
            guard render.wait() == 0 else {
                throw TestSetupError(
                    "make-acl failed: " + ((try? String(contentsOfFile: dir + "/make-acl.err", encoding: .utf8)) ?? ""))
            }
            server = try RedisServerProcess(arguments: ["--aclfile", acl])
        }

        deinit {
            server.stop()
            try? FileManager.default.removeItem(atPath: dir)
        }

        func url(_ role: String) -> String { "redis://exportgrid-\(role):@127.0.0.1:\(server.port)" }
        func env(_ role: String) -> [String: String] {
            ["REDIS_URL": url(role), "REDIS_PASSWORD_FILE": dir + "/\(role).pass"]
        }
        func connection(_ role: String) throws -> RedisConnection {
            var u = try RedisURL(parsing: url(role))
            u.password = passwords[role]
            var l = Logger(label: "acl-test")
            l.logLevel = .critical
            return RedisConnection(configuration: RedisConfiguration(url: u), logger: l)
        }
    }

    /// Sends a command expecting a NOPERM refusal.
    func refused(_ c: RedisConnection, _ args: [String], _ why: String) async {
        var cmd = RedisCommand()
        for a in args { cmd.append(a) }
        do {
            let r = try await c.send(cmd)
            Issue.record("\(why): \(args.joined(separator: " ")) was allowed (\(r))")
        } catch {
            #expect("\(error)".contains("NOPERM"), "\(why): \(error)")
        }
    }

    @Test func everyRoleDoesItsJobAndNothingMore() async throws {
        let ns = "acl" + UUID().uuidString.prefix(6).lowercased()
        let r = try AclRedis(namespace: ns)
        let f = try PipelineFixture(redisURL: r.url("admin"), password: r.passwords["admin"], namespace: ns)
        let data = try f.dataset(firms: 1_500, seed: 21)
        try f.start("sched", "export-scheduler", ["--log-level", "info"], env: r.env("scheduler"))
        try f.start("work", "export-worker", ["--log-level", "info", "--concurrency", "2"], env: r.env("worker"))
        defer { f.stopAll() }
        let submit = try await f.exportctl(["submit", data, "--run-id", "acl-run"], env: r.env("admin"))
        #expect(submit.status == 0, "\(submit.output)")
        try await eventually("the run done under role users", timeout: .seconds(120), every: .milliseconds(100)) {
            let c = try r.connection("operator")
            let state = try await c.send(RedisCommand("HGET", [.string("{\(ns)}:run:acl-run:meta"), "state"])).string
            return state == "done"
        }

        // The operator reads everything it needs, and changes nothing.
        let status = try await f.exportctl(["status", "acl-run", "--json"], env: r.env("operator"))
        #expect(status.status == 0 && status.output.contains("\"state\":\"done\""), "\(status.output)")
        let report = try await f.exportctl(
            ["report", "acl-run", "--out", f.dir + "/acl-report"], env: r.env("operator"))
        #expect(report.status == 0, "\(report.output)")
        for cmd in [
            ["status"], ["workers"], ["runs", "list"], ["dead", "list"], ["jobs", "list", "--state", "done"],
        ] {
            let out = try await f.exportctl(cmd, env: r.env("operator"))
            #expect(out.status == 0, "operator: exportctl \(cmd.joined(separator: " ")): \(out.output)")
        }
        let purgeByOperator = try await f.exportctl(["runs", "purge", "acl-run"], env: r.env("operator"))
        #expect(purgeByOperator.status != 0)
        let op = try r.connection("operator")
        await refused(op, ["SET", "{\(ns)}:run:acl-run:meta", "x"], "operator writes")
        await refused(op, ["HSET", "{\(ns)}:run:acl-run:meta", "state", "failed"], "operator writes")

        // The worker: no server commands, no other namespace, no deleting or overwriting a run.
        let w = try r.connection("worker")
        _ = try await w.send(RedisCommand("PING"))
        await refused(w, ["FLUSHALL"], "worker flushes")
        await refused(w, ["FLUSHDB"], "worker flushes")
        await refused(w, ["CONFIG", "GET", "*"], "worker reads the config")
        await refused(w, ["CONFIG", "SET", "appendonly", "no"], "worker changes the config")
        await refused(w, ["KEYS", "*"], "worker lists every key")
        await refused(w, ["GET", "{other}:run:x:meta"], "worker reads another namespace")
        await refused(w, ["HGETALL", "{other}:stats"], "worker reads another namespace")
        await refused(w, ["DEL", "{\(ns)}:run:acl-run:meta"], "worker deletes a run")
        await refused(w, ["UNLINK", "{\(ns)}:run:acl-run:tables"], "worker deletes a run")
        await refused(w, ["DEL", "{\(ns)}:run:acl-run:chunk:0"], "worker deletes a run's data")
        await refused(w, ["SET", "{\(ns)}:run:acl-run:tables", "x"], "worker overwrites a run's input")
        await refused(w, ["ZREM", "{\(ns)}:runs", "acl-run"], "worker unlists a run")
        // The run is intact after all of that.
        #expect(try await op.send(RedisCommand("EXISTS", [.string("{\(ns)}:run:acl-run:tables")])).int == 1)
        let scheduler = try r.connection("scheduler")
        await refused(scheduler, ["FLUSHALL"], "scheduler flushes")
        await refused(scheduler, ["GET", "{other}:x"], "scheduler reads another namespace")
        let admin = try r.connection("admin")
        await refused(admin, ["FLUSHALL"], "admin flushes the server")
        await refused(admin, ["CONFIG", "GET", "*"], "admin reads the config")

        // No password in the programs' command lines, logs or the report.
        var texts: [String] = []
        for name in ["sched", "work"] {
            let pid = try #require(f.pid(name))
            let cmdline = try Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))
            texts.append(String(decoding: cmdline.map { $0 == 0 ? 32 : $0 }, as: UTF8.self))
        }
        f.stopAll()
        for name in ["sched.log", "work.log"] {
            texts.append((try? String(contentsOfFile: f.dir + "/" + name, encoding: .utf8)) ?? "")
        }
        for file in (try? FileManager.default.contentsOfDirectory(atPath: f.dir + "/acl-report")) ?? [] {
            texts.append(
                String(
                    decoding: try Data(contentsOf: URL(fileURLWithPath: f.dir + "/acl-report/" + file)), as: UTF8.self))
        }
        texts.append(submit.output + status.output)
        for (role, pw) in r.passwords {
            for t in texts { #expect(!t.contains(pw), "the \(role) password leaked") }
        }
        // Admin purges, and nothing of the run is left.
        let purge = try await f.exportctl(["runs", "purge", "acl-run"], env: r.env("admin"))
        #expect(purge.status == 0, "\(purge.output)")
        #expect(try await op.send(RedisCommand("EXISTS", [.string("{\(ns)}:run:acl-run:tables")])).int == 0)
    }
}
