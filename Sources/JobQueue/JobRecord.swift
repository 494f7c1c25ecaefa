/// The packed form of a job as it travels through Redis, an *item*: newline-separated header
/// fields followed by the payload bytes (which may contain anything, newlines included):
///
///     attempts\n max\n queue\n group\n id\n created\n kind\n timeoutMs\n payload
///
/// The fields scripts read come first. `attempts` counts attempts already made; scripts raise it
/// when a job goes back to a queue after an attempt. Names never contain newlines
/// (`QueueError.checkName` refuses control characters), so the header splits unambiguously.
/// The client sends the halves around `created`, which the enqueue script fills in.
enum JobRecord {
    /// `max\nqueue\ngroup\nid\n`.
    static func head(_ j: JobSpec) -> [UInt8] {
        Array("\(j.maxAttempts)\n\(j.queue)\n\(j.group ?? "")\n\(j.id)\n".utf8)
    }

    /// `kind\ntimeoutMs\npayload`.
    static func body(_ j: JobSpec) -> [UInt8] {
        var out = Array("\(j.kind)\n\(j.timeout.milliseconds)\n".utf8)
        out += j.payload
        return out
    }

    /// The 8 header fields and the offset where the payload starts; nil when malformed.
    static func header(_ bytes: [UInt8]) -> (fields: [String], payloadStart: Int)? {
        var fields: [String] = []
        fields.reserveCapacity(8)
        var start = 0
        var i = 0
        while i < bytes.count {
            if bytes[i] == 10 {
                fields.append(String(decoding: bytes[start..<i], as: UTF8.self))
                start = i + 1
                if fields.count == 8 { return (fields, start) }
            }
            i += 1
        }
        return nil
    }

    /// A reserved item in batch `token` at `slot`.
    static func reserved(_ bytes: [UInt8], token: Int64, slot: Int) throws -> ReservedJob {
        guard let (f, start) = header(bytes), let attempts = Int(f[0]), let max = Int(f[1]), let timeout = Int64(f[7])
        else {
            throw QueueError.malformedReply(
                "a reserved job record (batch \(token) slot \(slot)) does not have the expected header")
        }
        return ReservedJob(
            id: f[4], token: token, slot: slot, attempt: attempts + 1, maxAttempts: max,
            timeout: .milliseconds(timeout),
            queue: f[2], kind: f[6], payload: Array(bytes[start...]), group: f[3].isEmpty ? nil : f[3])
    }
}
