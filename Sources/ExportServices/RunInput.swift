import ExportData
import ExportDomain

/// What reading a run's dataset gave: per-file counts, every rejected row in file order, and the
/// dataset digest. Stored with the run; the report's `rejections` and file table come from it.
public struct RunInputReport: Sendable, Equatable {
    public var digest: String
    public var files: [FileReport]
    public var rejections: [Rejection]

    public init(digest: String, files: [FileReport], rejections: [Rejection]) {
        self.digest = digest
        self.files = files
        self.rejections = rejections
    }

    public var rowsRead: Int { files.reduce(0) { $0 + $1.rowsRead } }
    public var accepted: Int { files.reduce(0) { $0 + $1.accepted } }
    public var rejected: Int { files.reduce(0) { $0 + $1.rejected } }

    public static let version: UInt8 = 1

    public func encoded() -> [UInt8] {
        var w = BinaryWriter()
        w.envelope(kind: ServicePayload.inputReport, version: Self.version)
        w.string(digest)
        w.list(files) { w, f in
            w.string(f.file)
            w.bool(f.present)
            w.int(f.rowsRead)
            w.int(f.accepted)
            w.int(f.rejected)
            w.list(f.warnings) { w, s in w.string(s) }
            w.bool(f.problem != nil)
            w.string(f.problem ?? "")
            w.string(f.encoding ?? "")
        }
        w.list(rejections) { w, r in
            w.string(r.file)
            w.int(r.line)
            w.string(r.column ?? "")
            w.string(r.reason)
        }
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> RunInputReport {
        var r = BinaryReader(bytes)
        try r.envelope(kind: ServicePayload.inputReport, version: version)
        let digest = try r.string()
        let files = try r.list(minElementBytes: 8) { (r: inout BinaryReader) throws(DecodeError) in
            var f = FileReport(file: try r.string())
            f.present = try r.bool()
            f.rowsRead = try r.intValue()
            f.accepted = try r.intValue()
            f.rejected = try r.intValue()
            f.warnings = try r.list(minElementBytes: 1) { (r: inout BinaryReader) throws(DecodeError) in
                try r.string()
            }
            let hasProblem = try r.bool()
            let problem = try r.string()
            f.problem = hasProblem ? problem : nil
            let enc = try r.string()
            f.encoding = enc.isEmpty ? nil : enc
            return f
        }
        let rejections = try r.list(minElementBytes: 4) { (r: inout BinaryReader) throws(DecodeError) in
            let file = try r.string()
            let line = try r.intValue()
            let column = try r.string()
            return Rejection(file: file, line: line, column: column.isEmpty ? nil : column, reason: try r.string())
        }
        try r.expectEnd()
        return RunInputReport(digest: digest, files: files, rejections: rejections)
    }
}

/// Envelope kinds of the payloads this module defines (the domain's are 1 to 8).
public enum ServicePayload {
    public static let inputReport: UInt8 = 20
    public static let jobRef: UInt8 = 21
    public static let ecosystemJob: UInt8 = 22
    public static let supportedFirms: UInt8 = 23
    public static let monitorChunkResult: UInt8 = 24
}

/// The payload of a job that names a run and one of its parts (a chunk, a period).
public struct JobRef: Sendable, Equatable {
    public var run: String
    public var index: Int
    public var period: Int

    public init(run: String, index: Int, period: Int = -1) {
        self.run = run
        self.index = index
        self.period = period
    }

    public func encoded() -> [UInt8] {
        var w = BinaryWriter()
        w.envelope(kind: ServicePayload.jobRef, version: 1)
        w.string(run)
        w.int(index)
        w.int(period)
        return w.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws -> JobRef {
        var r = BinaryReader(bytes)
        try r.envelope(kind: ServicePayload.jobRef, version: 1)
        let run = try r.string()
        try RunJobs.checkRunID(run)
        let ref = JobRef(
            run: run, index: try r.int(in: -1...10_000_000, "index"),
            period: try r.int(in: -1...(ProgramConfiguration.periods - 1), "period"))
        try r.expectEnd()
        return ref
    }
}
