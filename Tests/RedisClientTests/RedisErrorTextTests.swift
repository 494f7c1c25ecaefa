import Foundation
import Logging
import RedisClient
import TestSupport
import Testing

/// The texts a refused or unreachable Redis produces: what `exportctl` and the daemons print, so
/// they must say what is wrong once, and never call a refusal an outage.
@Suite("Redis error texts against real servers")
struct RedisErrorTextTests {
    let logs = LogCapture()

    func occurrences(of needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

    @Test func unreachableSaysUnavailableOnce() async throws {
        var config = RedisConfiguration(url: try RedisURL(parsing: "redis://127.0.0.1:\(try freeLoopbackPort())"))
        config.commandTimeout = .milliseconds(300)
        let conn = RedisConnection(configuration: config, logger: logs.logger())
        // Several commands, so both ways of giving up (an attempt past the deadline, a next
        // attempt scheduled after it) are met.
        for _ in 0..<5 {
            do {
                _ = try await conn.send("PING")
                Issue.record("PING to a port nothing listens on succeeded")
            } catch let e as RedisError {
                let text = "\(e)"
                #expect(text.hasPrefix("redis unavailable: "), "\(text)")
                #expect(occurrences(of: "unavailable", in: text) == 1, "\(text)")
                #expect(text.contains("Connection refused"), "\(text)")
                #expect(e.hint?.contains("reachable") == true)
            }
        }
        #expect(logs.messages(containing: "redis unavailable; retrying with backoff").count == 1)
    }

    @Test func wrongPasswordSaysAuthenticationFailedAndNothingAboutAnOutage() async throws {
        let server = try RedisServerProcess(arguments: ["--requirepass", "right-password"])
        var url = try RedisURL(parsing: server.url)
        url.password = "wrong-password"
        let conn = RedisConnection(configuration: RedisConfiguration(url: url), logger: logs.logger())
        do {
            _ = try await conn.send("PING")
            Issue.record("a wrong password was accepted")
        } catch let e as RedisError {
            let text = "\(e)"
            #expect(
                text.hasPrefix("redis authentication failed for user default at 127.0.0.1:\(server.port): WRONGPASS"),
                "\(text)")
            #expect(!text.contains("unavailable") && !text.contains("wrong-password"), "\(text)")
            #expect(e.retryCannotFix)
            #expect(e.hint?.contains("password") == true && e.hint?.contains("reachable") == false, "\(e.hint ?? "")")
        }
        #expect(
            logs.entries.filter { $0.message.contains("retrying") || $0.message.contains("unavailable") }.isEmpty,
            "\(logs.entries.map(\.message))")
    }

    @Test func missingPasswordSaysTheServerRequiresOne() async throws {
        let server = try RedisServerProcess(arguments: ["--requirepass", "right-password"])
        let conn = RedisConnection(
            configuration: RedisConfiguration(url: try RedisURL(parsing: server.url)), logger: logs.logger())
        do {
            _ = try await conn.send("PING")
            Issue.record("no password was accepted")
        } catch let e as RedisError {
            let text = "\(e)"
            #expect(
                text.hasPrefix(
                    "redis authentication failed at 127.0.0.1:\(server.port): the server requires a password"),
                "\(text)")
            #expect(e.hint?.contains("reachable") == false)
        }
        #expect(logs.messages(containing: "retrying").isEmpty, "\(logs.entries.map(\.message))")
    }
}
