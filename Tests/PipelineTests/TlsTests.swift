import ExportServices
import Foundation
import Logging
import ProcessSupport
import RedisClient
import TestSupport
import Testing

enum TlsTools {
    static let unavailableReason: String? = {
        if findExecutable("stunnel4") == nil && findExecutable("stunnel") == nil {
            return "stunnel4 is not installed (ops/test installs it); the TLS tunnel was not tested"
        }
        if findExecutable("openssl") == nil { return "openssl is not installed; the TLS tunnel was not tested" }
        return nil
    }()
}

/// Redis's own TLS port, fronted on the client side by `ops/tls/stunnel-client`: the whole
/// pipeline runs through the tunnel (hiredis 0.14 speaks no TLS itself).
@Suite("Encryption in transit: stunnel to Redis's TLS port", .serialized)
struct TlsTests {
    @Test(.enabled(if: TlsTools.unavailableReason == nil, Comment(rawValue: TlsTools.unavailableReason ?? "")))
    func thePipelineRunsThroughTheTunnel() async throws {
        let certs = FileManager.default.temporaryDirectory.appendingPathComponent("tls-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: certs) }
        let make = try ChildProcess(
            executable: "/bin/bash", arguments: [AclTests.repo + "/ops/tls/make-certs", certs, "127.0.0.1"],
            stdoutPath: certs + ".log", stderrPath: certs + ".log")
        #expect(await exitStatus(of: make) == 0, "make-certs failed")
        let tlsPort = try freeLoopbackPort()
        let server = try RedisServerProcess(arguments: [
            "--tls-port", "\(tlsPort)", "--tls-cert-file", certs + "/redis.crt", "--tls-key-file", certs + "/redis.key",
            "--tls-ca-cert-file", certs + "/ca.crt", "--tls-auth-clients", "yes",
        ])
        defer { server.kill() }
        let local = try freeLoopbackPort()
        let tunnel = try ChildProcess(
            executable: "/bin/bash",
            arguments: [
                AclTests.repo + "/ops/tls/stunnel-client", "--listen", "127.0.0.1:\(local)", "--connect",
                "127.0.0.1:\(tlsPort)", "--certs", certs,
            ], stdoutPath: certs + "-stunnel.log", stderrPath: certs + "-stunnel.log")
        defer { tunnel.stop(grace: 3) }

        var l = Logger(label: "tls-test")
        l.logLevel = .critical
        var cfg = RedisConfiguration(url: try RedisURL(parsing: "redis://127.0.0.1:\(local)"))
        cfg.commandTimeout = .seconds(3)
        let through = RedisConnection(configuration: cfg, logger: l)
        try await eventually("PONG through the tunnel", timeout: .seconds(10), every: .milliseconds(100)) {
            (try? await through.send(RedisCommand("PING")))?.string == "PONG"
        }
        // Plain text to the TLS port gets nothing.
        var plainCfg = RedisConfiguration(url: try RedisURL(parsing: "redis://127.0.0.1:\(tlsPort)"))
        plainCfg.commandTimeout = .seconds(1)
        plainCfg.connectTimeout = .seconds(1)
        let plain = RedisConnection(configuration: plainCfg, logger: l)
        let answered = (try? await plain.send(RedisCommand("PING")))?.string == "PONG"
        #expect(!answered, "the TLS port answered plain text")
        plain.close()

        // The whole pipeline through the tunnel gives the same report as without it.
        let g = try PipelineFixture()
        let data = try g.dataset(firms: 1_500, seed: 31)
        let direct = try await g.cleanRun(data, run: "tls", workers: 1)
        let f = try PipelineFixture(redisURL: "redis://127.0.0.1:\(local)")
        let tunneled = try await f.cleanRun(data, run: "tls", workers: 2)
        #expect(tunneled["report.json"] != nil)
        let same = tunneled["report.json"] == direct["report.json"]
        #expect(same, "the report through the tunnel differs")
        through.close()
    }
}
