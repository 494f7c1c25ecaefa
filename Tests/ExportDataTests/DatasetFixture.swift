import ExportData
import ExportDomain
import Foundation

/// A scratch dataset directory with helpers to write files into it.
final class ScratchDir {
    let path: String

    init() {
        path =
            FileManager.default.temporaryDirectory.appendingPathComponent("eg-ds-\(UUID().uuidString.prefix(8))").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func write(_ name: String, _ text: String) { write(name, Array(text.utf8)) }

    func write(_ name: String, _ bytes: [UInt8]) {
        FileManager.default.createFile(atPath: path + "/" + name, contents: Data(bytes))
    }

    /// A minimal valid dataset: the given firms rows (or two good ones), one company, one
    /// institution, one target.
    func minimal(firms rows: [String]? = nil) {
        let header = "firm_id,name,region,size_class,industry,role,revenue_krw_m,export_usd_k,export_usd_k_prev\n"
        let body =
            rows ?? [
                "124-81-00998,Alpha Co,SEOUL,SMALL,ELECTRONICS,COMPONENTS,1000,200,100",
                "220-81-62517,Beta Co,BUSAN,MEDIUM,MACHINERY,EQUIPMENT,5000,0,0",
            ]
        write("firms.csv", header + body.joined(separator: "\n") + "\n")
        write(
            "trading_companies.csv",
            "company_id,name,desks,markets,channels,success_rate\nTC1,Trade One,ELECTRONICS:5,US;VN,AMAZON,0.5\n")
        write("institutions.csv", "institution_id,name,kind,region,industries\nI1,Uni,UNIVERSITY,SEOUL,ELECTRONICS\n")
        write("targets.csv", "region,year,target_exporting_firms,target_avg_export_usd_k\nSEOUL,2016,10,500\n")
    }

    func load() -> (dataset: Dataset, rejections: [Rejection], reader: DatasetReader) {
        DatasetReader.load(directory: path)
    }
}

extension DatasetReader {
    func report(_ file: DatasetFile) -> FileReport? { reports.first { $0.file == file.rawValue } }
}
