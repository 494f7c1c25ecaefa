import RedisClient
import Testing

@Suite("Command encoding")
struct RedisCommandTests {
    @Test func argumentsRoundTrip() {
        let big = [UInt8](repeating: 7, count: 1234)
        var c = RedisCommand("SET", ["", .bytes([0, 13, 10, 255]), .int(-42), .int(0), .int(Int.max), .int(Int.min)])
        c.append(bytes: big)
        #expect(c.count == 8)
        #expect(c.name == "SET")
        #expect(Array(c.argument(1)) == [])
        #expect(Array(c.argument(2)) == [0, 13, 10, 255])
        #expect(String(decoding: c.argument(3), as: UTF8.self) == "-42")
        #expect(String(decoding: c.argument(4), as: UTF8.self) == "0")
        #expect(String(decoding: c.argument(5), as: UTF8.self) == String(Int.max))
        #expect(String(decoding: c.argument(6), as: UTF8.self) == String(Int.min))
        #expect(Array(c.argument(7)) == big)
    }

    @Test func equalCommandsCompareEqual() {
        #expect(RedisCommand("GET", ["k"]) == ["GET", "k"])
        #expect(RedisCommand("GET", ["k"]) != ["GET", "k2"])
    }
}
