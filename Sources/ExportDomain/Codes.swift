/// A closed set of codes as they appear in input files (upper-case; every list is in
/// docs/DATASETS.md, "Input files").
public protocol DomainCode: RawRepresentable, CaseIterable, Hashable, Sendable, Comparable where RawValue == String {}

extension DomainCode {
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }

    /// The case for `text`, or nil.
    public init?(code text: String) { self.init(rawValue: text) }

    /// Every valid code, for error messages.
    public static var validCodes: [String] { allCases.map(\.rawValue) }

    /// The valid code closest to `text` (edit distance, case-insensitive), when plausibly a typo.
    public static func closest(to text: String) -> String? {
        closestCode(to: text, among: validCodes)
    }
}

/// The candidate nearest to `text` by edit distance after upper-casing, if within a third of
/// its length (at least 2).
public func closestCode(to text: String, among candidates: [String]) -> String? {
    let t = Array(text.uppercased().utf8)
    var best: (String, Int)?
    for c in candidates {
        let d = editDistance(t, Array(c.utf8))
        if best == nil || d < best!.1 || (d == best!.1 && c < best!.0) { best = (c, d) }
    }
    guard let (code, d) = best, d <= max(2, t.count / 3) else { return nil }
    return code
}

func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var prev = Array(0...b.count)
    var cur = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        cur[0] = i
        for j in 1...b.count {
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&prev, &cur)
    }
    return prev[b.count]
}

/// The 12 regional offices of the SME administration (2016).
public enum Office: String, DomainCode {
    case SEOUL, GYEONGGI, INCHEON, GANGWON, DAEJEON_CHUNGNAM, CHUNGBUK, JEONBUK, GWANGJU_JEONNAM
    case DAEGU_GYEONGBUK, BUSAN, ULSAN, GYEONGNAM

    public var displayName: String {
        switch self {
        case .SEOUL: return "Seoul"
        case .GYEONGGI: return "Gyeonggi"
        case .INCHEON: return "Incheon"
        case .GANGWON: return "Gangwon"
        case .DAEJEON_CHUNGNAM: return "Daejeon and Chungnam"
        case .CHUNGBUK: return "Chungbuk"
        case .JEONBUK: return "Jeonbuk"
        case .GWANGJU_JEONNAM: return "Gwangju and Jeonnam"
        case .DAEGU_GYEONGBUK: return "Daegu and Gyeongbuk"
        case .BUSAN: return "Busan"
        case .ULSAN: return "Ulsan"
        case .GYEONGNAM: return "Gyeongnam"
        }
    }

    /// Rough share of SME exports by office in permille (docs/DATASETS.md, "Firms"; the
    /// remainder split across the small provinces), used to make synthetic data realistic.
    public var exportSharePermille: Int {
        switch self {
        case .GYEONGGI: return 320
        case .SEOUL: return 190
        case .BUSAN: return 70
        case .GYEONGNAM: return 70
        case .INCHEON: return 60
        case .DAEGU_GYEONGBUK: return 85
        case .DAEJEON_CHUNGNAM: return 65
        case .CHUNGBUK: return 35
        case .ULSAN: return 30
        case .GWANGJU_JEONNAM: return 35
        case .JEONBUK: return 25
        case .GANGWON: return 15
        }
    }

    /// Position in `allCases`.
    public var index: Int {
        switch self {
        case .SEOUL: return 0
        case .GYEONGGI: return 1
        case .INCHEON: return 2
        case .GANGWON: return 3
        case .DAEJEON_CHUNGNAM: return 4
        case .CHUNGBUK: return 5
        case .JEONBUK: return 6
        case .GWANGJU_JEONNAM: return 7
        case .DAEGU_GYEONGBUK: return 8
        case .BUSAN: return 9
        case .ULSAN: return 10
        case .GYEONGNAM: return 11
        }
    }

    private static let nearMasks: [UInt16] = Office.allCases.map { o in
        o.neighbours.reduce(UInt16(1) << UInt16(o.index)) { $0 | UInt16(1) << UInt16($1.index) }
    }

    /// The same office or a neighbouring one.
    public func isNear(_ other: Office) -> Bool { Self.nearMasks[index] & (UInt16(1) << UInt16(other.index)) != 0 }

    /// Offices sharing a border or a commuting area, used to prefer nearby consortium partners
    /// (docs/MATCHING.md has the table). Symmetric (tested).
    public var neighbours: Set<Office> {
        switch self {
        case .SEOUL: return [.GYEONGGI, .INCHEON]
        case .GYEONGGI: return [.SEOUL, .INCHEON, .GANGWON, .CHUNGBUK, .DAEJEON_CHUNGNAM]
        case .INCHEON: return [.SEOUL, .GYEONGGI]
        case .GANGWON: return [.GYEONGGI, .CHUNGBUK, .DAEGU_GYEONGBUK]
        case .DAEJEON_CHUNGNAM: return [.GYEONGGI, .CHUNGBUK, .JEONBUK]
        case .CHUNGBUK: return [.GYEONGGI, .GANGWON, .DAEJEON_CHUNGNAM, .JEONBUK, .DAEGU_GYEONGBUK]
        case .JEONBUK: return [.DAEJEON_CHUNGNAM, .CHUNGBUK, .GWANGJU_JEONNAM, .GYEONGNAM, .DAEGU_GYEONGBUK]
        case .GWANGJU_JEONNAM: return [.JEONBUK, .GYEONGNAM]
        case .DAEGU_GYEONGBUK: return [.GANGWON, .CHUNGBUK, .JEONBUK, .GYEONGNAM, .ULSAN, .BUSAN]
        case .BUSAN: return [.ULSAN, .GYEONGNAM, .DAEGU_GYEONGBUK]
        case .ULSAN: return [.BUSAN, .GYEONGNAM, .DAEGU_GYEONGBUK]
        case .GYEONGNAM: return [.BUSAN, .ULSAN, .DAEGU_GYEONGBUK, .JEONBUK, .GWANGJU_JEONNAM]
        }
    }
}

/// Industry ecosystems: the per-ecosystem partition of matching and consortia.
public enum Industry: String, DomainCode {
    case AUTO_PARTS, MACHINERY, ELECTRONICS, SEMICONDUCTOR_DISPLAY, CHEMICALS_PLASTICS, STEEL_METALS
    case COSMETICS_BEAUTY, FOOD_AGRI, TEXTILES_FASHION, MEDICAL_BIO, ICT_SOFTWARE, CONSUMER_GOODS, CONTENT_CULTURE

    /// Consumer industries get the cross-border malls (docs/MATCHING.md, "Channels").
    public var isConsumer: Bool {
        switch self {
        case .COSMETICS_BEAUTY, .FOOD_AGRI, .TEXTILES_FASHION, .CONSUMER_GOODS: return true
        default: return false
        }
    }

    /// Service industries use the designation's services weights (35/15/25/20/5).
    public var isServices: Bool { self == .ICT_SOFTWARE || self == .CONTENT_CULTURE }

    /// Typical HS chapters (for synthetic data and the competitor rule's product chapter).
    public var typicalHSChapters: [UInt8] {
        switch self {
        case .AUTO_PARTS: return [87, 40, 84]
        case .MACHINERY: return [84, 82, 73]
        case .ELECTRONICS: return [85, 90]
        case .SEMICONDUCTOR_DISPLAY: return [85, 90, 38]
        case .CHEMICALS_PLASTICS: return [39, 38, 29, 32]
        case .STEEL_METALS: return [72, 73, 76, 74]
        case .COSMETICS_BEAUTY: return [33, 34]
        case .FOOD_AGRI: return [21, 19, 20, 3, 16]
        case .TEXTILES_FASHION: return [61, 62, 54, 55, 64]
        case .MEDICAL_BIO: return [30, 90, 29]
        case .ICT_SOFTWARE: return [85, 49]
        case .CONSUMER_GOODS: return [94, 95, 96, 39]
        case .CONTENT_CULTURE: return [49, 97, 95]
        }
    }
}

/// Where a firm sits in its value chain; two members with the same role and product chapter are
/// direct competitors.
public enum ValueChainRole: String, DomainCode {
    case MATERIALS, COMPONENTS, EQUIPMENT, FINISHED_GOODS, SERVICES

    public var index: Int {
        switch self {
        case .MATERIALS: return 0
        case .COMPONENTS: return 1
        case .EQUIPMENT: return 2
        case .FINISHED_GOODS: return 3
        case .SERVICES: return 4
        }
    }
}

public enum SizeClass: String, DomainCode {
    case SMALL, MEDIUM, MIDSIZE
}

/// Online sales channels: overseas open markets and domestic cross-border malls.
public enum Channel: String, DomainCode {
    case EBAY, AMAZON, TAOBAO, RAKUTEN, QOO10, GLOBAL_11ST, GLOBAL_LOTTE

    public var bit: UInt8 {
        switch self {
        case .EBAY: return 1
        case .AMAZON: return 2
        case .TAOBAO: return 4
        case .RAKUTEN: return 8
        case .QOO10: return 16
        case .GLOBAL_11ST: return 32
        case .GLOBAL_LOTTE: return 64
        }
    }
    /// Cross-border malls for foreign buyers, run from Korea.
    public var isCrossBorderMall: Bool { self == .GLOBAL_11ST || self == .GLOBAL_LOTTE }

    /// Whether an overseas open market sells into `market` (docs/MATCHING.md, "Channels"):
    /// Amazon in the US, Japan and Europe; eBay in the US and Europe; Taobao in China; Rakuten in
    /// Japan; Qoo10 in Singapore, Japan and ASEAN. Cross-border malls sell to foreign buyers from
    /// Korea.
    public func serves(_ market: Market) -> Bool {
        switch self {
        case .AMAZON: return market.code == "US" || market.code == "JP" || market.bloc == .EUROPE
        case .EBAY: return market.code == "US" || market.bloc == .EUROPE
        case .TAOBAO: return market.code == "CN"
        case .RAKUTEN: return market.code == "JP"
        case .QOO10: return market.code == "SG" || market.code == "JP" || market.bloc == .ASEAN
        case .GLOBAL_11ST, .GLOBAL_LOTTE: return false
        }
    }

    public static let openMarkets: [Channel] = [.EBAY, .AMAZON, .TAOBAO, .RAKUTEN, .QOO10]
}

/// Who recommended a firm for the candidate pool.
public enum Recommender: String, DomainCode {
    case ASSOCIATION, FINANCIAL, REGIONAL_OFFICE, EXPORT_AGENCY

    public var bit: UInt8 {
        switch self {
        case .ASSOCIATION: return 1
        case .FINANCIAL: return 2
        case .REGIONAL_OFFICE: return 4
        case .EXPORT_AGENCY: return 8
        }
    }
}

/// Product certifications; HALAL, CE, FDA and CCC gate market access (docs/EVALUATION.md,
/// "Market potential").
public enum Certification: String, DomainCode {
    case HALAL, CE, FDA, CCC, ISO9001, ISO14001, GMP, KOSHER, UL, PSE, KC

    public var bit: UInt16 {
        switch self {
        case .HALAL: return 1
        case .CE: return 2
        case .FDA: return 4
        case .CCC: return 8
        case .ISO9001: return 16
        case .ISO14001: return 32
        case .GMP: return 64
        case .KOSHER: return 128
        case .UL: return 256
        case .PSE: return 512
        case .KC: return 1024
        }
    }
}

public enum InstitutionKind: String, DomainCode {
    case UNIVERSITY, RESEARCH, SUPPORT
}

/// Trade blocs of the market table.
public enum Bloc: String, DomainCode {
    case NORTH_AMERICA, GREATER_CHINA, JAPAN, EUROPE, ASEAN, MENA, LATAM, INDIA, CIS, OCEANIA, OTHER
}

/// Bit sets over small code enums, stored as integers so firms stay compact.
extension Array where Element: DomainCode {
    public static func fromBits<B: BinaryInteger>(_ bits: B, bit: (Element) -> B) -> [Element] {
        Element.allCases.filter { bits & bit($0) != 0 }
    }
}
