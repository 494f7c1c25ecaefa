import RedisClient
import Testing

@Suite("REDIS_URL parsing")
struct RedisURLTests {
    @Test func parsesFullForm() throws {
        let u = try RedisURL(parsing: "redis://worker:s3cr%40t@10.0.0.5:6380/3")
        #expect(u.endpoint == .tcp(host: "10.0.0.5", port: 6380))
        #expect(u.user == "worker")
        #expect(u.password == "s3cr@t")
        #expect(u.database == 3)
        #expect(u.description == "redis://worker:***@10.0.0.5:6380/3")
    }

    @Test func defaultsPortAndDatabase() throws {
        let u = try RedisURL(parsing: "redis://localhost")
        #expect(u.endpoint == .tcp(host: "localhost", port: 6379))
        #expect(u.user == nil && u.password == nil && u.database == 0)
    }

    @Test func passwordOnlyForms() throws {
        let a = try RedisURL(parsing: "redis://:pw@h:1")
        #expect(a.user == nil && a.password == "pw")
        let b = try RedisURL(parsing: "redis://pw@h:1")
        #expect(b.user == nil && b.password == "pw")
    }

    @Test func parsesUnixAndIPv6() throws {
        let u = try RedisURL(parsing: "unix:///run/redis/redis.sock?db=2")
        #expect(u.endpoint == .unix(path: "/run/redis/redis.sock"))
        #expect(u.database == 2)
        let v = try RedisURL(parsing: "redis://[::1]:7000")
        #expect(v.endpoint == .tcp(host: "::1", port: 7000))
    }

    @Test(arguments: [
        ("", "empty"),
        ("localhost:6379", "missing scheme"),
        ("http://h:1", "unsupported scheme"),
        ("redis://u:topsecret@h:99999", "port"),
        ("redis://u:topsecret@h:abc", "port"),
        ("redis://u:topsecret@:6379", "missing host"),
        ("redis://u:topsecret@h:1/x", "database"),
        ("redis://u:topsecret@h:1/-1", "database"),
        ("redis://u:top%zzsecret@h:1", "percent-encoding"),
        ("redis://u:topsecret@ho st:1", "host"),
        ("unix://relative/path", "absolute"),
        ("rediss://u:topsecret@h:1", "TLS"),
    ])
    func rejectsMalformed(text: String, mentions: String) {
        do {
            _ = try RedisURL(parsing: text)
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.description.contains(mentions), "\(error.description)")
            #expect(!error.description.contains("topsecret"), "password echoed: \(error.description)")
            #expect(!error.description.contains("top%zzsecret"))
        }
    }

    @Test func environmentPasswordSources() throws {
        let c = try RedisConfiguration.fromEnvironment(["REDIS_URL": "redis://u@h:1", "REDIS_PASSWORD": "p1"])
        // "u@" alone is a password by the redis-cli convention; REDIS_PASSWORD does not override it.
        #expect(c.url.password == "u")
        let d = try RedisConfiguration.fromEnvironment(["REDIS_URL": "redis://h:1", "REDIS_PASSWORD": "p1"])
        #expect(d.url.password == "p1")
        #expect(!d.url.description.contains("p1"))
        let e = try RedisConfiguration.fromEnvironment([:])
        #expect(e.url.endpoint == .tcp(host: "127.0.0.1", port: 6379))
        #expect(throws: SecretFileError.self) {
            _ = try RedisConfiguration.fromEnvironment(["REDIS_PASSWORD_FILE": "/nonexistent/secret"])
        }
    }
}
