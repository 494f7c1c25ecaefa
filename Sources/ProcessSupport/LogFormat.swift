import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// How the daemons log: swift-log's plain lines, or one JSON object per line
/// (`--log-format json`) for log shippers. Both go to standard error.
public enum LogFormat: String, CaseIterable, Sendable {
    case text, json

    /// Installs the process's log handler; call once, first thing.
    public static func bootstrap(format: String, level: String) throws -> Logger.Level {
        guard let f = LogFormat(rawValue: format) else {
            throw ChildProcessError("unknown log format '\(format)': use text or json")
        }
        guard let l = Logger.Level(rawValue: level) else {
            throw ChildProcessError("unknown log level '\(level)': use trace, debug, info, notice, warning or error")
        }
        LoggingSystem.bootstrap { label in
            switch f {
            case .text:
                var h = StreamLogHandler.standardError(label: label)
                h.logLevel = l
                return h
            case .json:
                var h = JSONLogHandler(label: label)
                h.logLevel = l
                return h
            }
        }
        return l
    }
}

/// One JSON object per line on standard error: `ts` (UTC, milliseconds), `level`, `label`,
/// `msg`, then the metadata (run id, job id, worker, ...) as string fields, keys sorted.
public struct JSONLogHandler: LogHandler {
    public let label: String
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let m = event.metadata { all.merge(m) { _, new in new } }
        var line = "{\"ts\":\"\(Self.timestamp())\",\"level\":\"\(event.level)\",\"label\":" + JSONText.quote(label)
        line += ",\"msg\":" + JSONText.quote("\(event.message)")
        for k in all.keys.sorted() where !["ts", "level", "label", "msg"].contains(k) {
            line += "," + JSONText.quote(k) + ":" + JSONText.quote("\(all[k]!)")
        }
        line += "}\n"
        var bytes = Array(line.utf8)
        // One write per line, so lines from concurrent tasks never interleave.
        _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
    }

    static func timestamp() -> String {
        var tv = timeval()
        gettimeofday(&tv, nil)
        var t = tv.tv_sec
        var tmv = tm()
        gmtime_r(&t, &tmv)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let ms = Int(tv.tv_usec / 1000)
        let msText = ms < 10 ? "00\(ms)" : ms < 100 ? "0\(ms)" : "\(ms)"
        return "\(tmv.tm_year + 1900)-\(two(tmv.tm_mon + 1))-\(two(tmv.tm_mday))T\(two(tmv.tm_hour)):"
            + "\(two(tmv.tm_min)):\(two(tmv.tm_sec)).\(msText)Z"
    }
}

/// JSON string literals, for the handful of places that write JSON by hand.
public enum JSONText {
    /// `s` as a JSON string literal, quotes included.
    public static func quote(_ s: String) -> String {
        var o = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": o += "\\\""
            case "\\": o += "\\\\"
            case "\n": o += "\\n"
            case "\r": o += "\\r"
            case "\t": o += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = Array("0123456789abcdef")
                    o += "\\u00" + String(hex[Int(u.value >> 4)]) + String(hex[Int(u.value & 15)])
                } else {
                    o.unicodeScalars.append(u)
                }
            }
        }
        return o + "\""
    }
}
