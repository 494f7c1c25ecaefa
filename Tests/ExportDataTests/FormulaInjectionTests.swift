import ExportData
import ExportDomain
import Foundation
import TestSupport
import Testing

@Suite("CSV output: formula injection neutralised, numbers untouched")
struct FormulaInjectionTests {
    /// Hostile and ordinary names: (what is written, what a CSV reader must give back).
    static let corpus: [(String, String)] = [
        ("=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Kim \"Big\" Trading, Ltd", "Kim \"Big\" Trading, Ltd"),
        ("한국무역 주식회사", "한국무역 주식회사"),
        ("=한글", "'=한글"),
        ("Alpha = Beta", "Alpha = Beta"),
        ("", ""),
    ]

    /// The rows written for the corpus: a text cell, an integer, a formatted negative decimal, a
    /// "number" that is not one, and the text as bytes.
    func writeCorpus(_ path: String) throws {
        let w = try CSVWriter(path: path)
        try w.row(["name", "amount", "rate", "fake_number", "bytes"])
        for (i, (name, _)) in Self.corpus.enumerated() {
            w.field(name)
            w.field(Int64(-42 - i))
            w.number("-12.5")
            w.number("-2+3")
            w.field(bytes: Array(name.utf8))
            try w.endRow()
        }
        try w.flush()
    }

    func expectedRows() -> [[String]] {
        [["name", "amount", "rate", "fake_number", "bytes"]]
            + Self.corpus.enumerated().map { i, c in [c.1, "\(-42 - i)", "-12.5", "'-2+3", c.1] }
    }

    @Test func writerNeutralisesTextCellsReadBackByPythonsCSVModule() throws {
        let d = ScratchDir()
        let path = d.path + "/pool.csv"
        try writeCorpus(path)
        let out = try TestPython.run(
            """
            import csv, json, sys
            with open(sys.argv[1], newline='', encoding='utf-8') as f:
                print(json.dumps(list(csv.reader(f))))
            """, arguments: [path])
        let rows = try JSONDecoder().decode([[String]].self, from: Data(out.utf8))
        #expect(rows.count == expectedRows().count)
        for (got, want) in zip(rows, expectedRows()) { #expect(got == want) }
    }

    @Test func writerOutputReadsBackThroughTheProjectsReader() throws {
        let d = ScratchDir()
        let path = d.path + "/pool.csv"
        try writeCorpus(path)
        let r = try CSVReader(path: path)
        #expect(r.header == ["name", "amount", "rate", "fake_number", "bytes"])
        var rows: [[String]] = []
        while let rec = try r.next() { rows.append((0..<rec.count).map { rec.string($0) ?? "<invalid>" }) }
        #expect(rows == Array(expectedRows().dropFirst()))
    }

    /// The exact bytes: the quote goes inside the RFC 4180 quotes, the rest is byte-equal.
    @Test func tableCellsAreByteExact() {
        var t = CSVTable(header: ["name", "n"])
        t.row([.text("=1+2"), .int(-5)])
        t.row([.text("\r=1"), .number("-0.25")])
        t.row([.text("=A1,\"B\""), .number("1e5")])  // not a number by the writer's rule; harmless text
        t.row([.text("-"), .number("-")])
        t.row([.text("ok"), .number("007")])
        t.row(["@x", .int(UInt8(0))])
        #expect(
            String(decoding: t.bytes, as: UTF8.self)
                == "name,n\n'=1+2,-5\n\"'\r=1\",-0.25\n\"'=A1,\"\"B\"\"\",1e5\n'-,'-\nok,007\n'@x,0\n")
    }

    /// The rejection report (`validate --rejections`) writes a column and a reason taken from the
    /// input: both are text cells, the line a number.
    @Test func rejectionReasonsAndColumnsAreNeutralisedToo() throws {
        let d = ScratchDir()
        let path = d.path + "/rejections.csv"
        let w = try CSVWriter(path: path)
        try w.row(["file", "line", "column", "reason"])
        w.field("firms.csv")
        w.field(3)
        w.field("=cmd|' /C calc'!A0")
        w.field("-is negative")
        try w.endRow()
        try w.flush()
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text == "file,line,column,reason\nfirms.csv,3,'=cmd|' /C calc'!A0,'-is negative\n")
    }

    /// The generator writes its dirty negative amounts as numbers, so they still read back as
    /// negative amounts (not as text with a quote in front).
    @Test func generatedNegativeAmountsStayNumbers() throws {
        let d = ScratchDir()
        _ = try NationGenerator(firms: 4_000, seed: 11, dirtyShare: 0.05).write(to: d.path)
        let (_, rej, _) = DatasetReader.load(directory: d.path)
        let negative = rej.filter { $0.reason.hasPrefix("is negative (-") }
        #expect(!negative.isEmpty)
        #expect(!rej.contains { $0.reason.contains("'-") })
        #expect(Set(negative.map(\.file)) == ["firms.csv", "exports.csv"])
    }
}
