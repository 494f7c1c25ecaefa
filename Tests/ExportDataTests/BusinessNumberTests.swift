import ExportData
import ExportDomain
import Foundation
import Testing

@Suite("Business registration numbers")
struct BusinessNumberTests {
    @Test(arguments: ["124-81-00998", "220-81-62517", "101-81-09147", "1248100998", " 220-81-62517 "])
    func knownValidNumbers(text: String) throws {
        let n = try BusinessNumber.parse(text).get()
        #expect(n.description.count == 12)
    }

    @Test func invalidNumbersSayWhy() {
        #expect(BusinessNumber.parse("124-81-00997") == .failure(.checkDigit(expected: 8, found: 7)))
        #expect(BusinessNumber.parse("124-81-0099") == .failure(.format))
        #expect(BusinessNumber.parse("124-81-009988") == .failure(.format))
        #expect(BusinessNumber.parse("12A-81-00998") == .failure(.format))
        #expect(BusinessNumber.parse("") == .failure(.format))
    }

    @Test func checkDigitMatchesAnIndependentImplementation() {
        // The rule written out again, digit by digit, over many random prefixes.
        var rng = SeededRandom(seed: 11)
        for _ in 0..<5_000 {
            let prefix = UInt64(rng.below(1_000_000_000))
            let n = BusinessNumber.completing(prefix)
            var d: [Int] = []
            var v = n.value
            for _ in 0..<10 {
                d.insert(Int(v % 10), at: 0)
                v /= 10
            }
            let sum =
                d[0] + 3 * d[1] + 7 * d[2] + d[3] + 3 * d[4] + 7 * d[5] + d[6] + 3 * d[7] + 5 * d[8] + (5 * d[8]) / 10
            #expect(d[9] == (10 - sum % 10) % 10)
            #expect((try? BusinessNumber.parse(n.description).get()) == n)
            // Any other last digit fails.
            let wrong = BusinessNumber(unchecked: n.value - UInt64(d[9]) + UInt64((d[9] + 1) % 10))
            #expect((try? BusinessNumber.parse(wrong.description).get()) == nil)
        }
    }
}

@Suite("Code tables")
struct CodeTableTests {
    @Test func bitsAndIndicesFollowDeclarationOrder() {
        for (i, c) in Channel.allCases.enumerated() { #expect(c.bit == 1 << UInt8(i)) }
        for (i, c) in Recommender.allCases.enumerated() { #expect(c.bit == 1 << UInt8(i)) }
        for (i, c) in Certification.allCases.enumerated() { #expect(c.bit == 1 << UInt16(i)) }
        for (i, c) in Industry.allCases.enumerated() {
            #expect(c.index == i)
            #expect(Industry.at(i) == c)
        }
    }

    @Test func officeAdjacencyIsSymmetricAndSharesAddUp() {
        for o in Office.allCases {
            #expect(!o.neighbours.contains(o))
            for n in o.neighbours { #expect(n.neighbours.contains(o), "\(o) -> \(n) but not back") }
        }
        #expect(Office.allCases.reduce(0) { $0 + $1.exportSharePermille } == 1000)
    }

    @Test func builtinMarketTableCoversEveryBloc() {
        let t = MarketTable.builtin
        #expect(t.count == 44)
        #expect(Set(t.markets.map(\.bloc)) == Set(Bloc.allCases))
        for code in ["BN", "KH", "ID", "LA", "MY", "MM", "PH", "SG", "TH", "VN"] {
            #expect(t.index(of: code).map { t[$0].bloc } == .ASEAN)
        }
        for m in t.markets {
            #expect(m.emerging == [.ASEAN, .MENA, .LATAM, .INDIA].contains(m.bloc), "\(m.code)")
            #expect(m.demand.count == Industry.allCases.count)
            #expect((100...500).contains(m.logisticsIndex))
        }
        #expect(t.index(of: "IN").map { t[$0].emerging } == true)
    }
}

@Suite("SHA-256")
struct SHA256Tests {
    @Test func knownAnswers() {
        var a = SHA256()
        a.update(Array("abc".utf8))
        #expect(a.finalize() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        var e = SHA256()
        #expect(e.finalize() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        var m = SHA256()
        for _ in 0..<1_000 { m.update(Array(repeating: UInt8(ascii: "a"), count: 1_000)) }
        #expect(m.finalize() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func datasetDigestCoversNamesSizesAndBytesInOrder() throws {
        let d = ScratchDir()
        d.minimal()
        let first = d.load().reader.digest.finalize()
        #expect(first == d.load().reader.digest.finalize())
        // One byte changed in one file changes the digest.
        d.write("targets.csv", "region,year,target_exporting_firms,target_avg_export_usd_k\nSEOUL,2016,11,500\n")
        #expect(first != d.load().reader.digest.finalize())
        // The digest is SHA-256 over name, NUL, size, NUL, bytes of each file in reading order.
        var expected = SHA256()
        for f in ["firms.csv", "trading_companies.csv", "institutions.csv", "targets.csv"] {
            let bytes = Array(FileManager.default.contents(atPath: d.path + "/" + f)!)
            expected.update(Array("\(f)\u{0}\(bytes.count)\u{0}".utf8))
            expected.update(bytes)
        }
        #expect(d.load().reader.digest.finalize() == expected.finalize())
    }
}
