/// One export market with the figures the potential formula reads.
public struct Market: Sendable, Equatable, Hashable {
    /// ISO 3166 alpha-2.
    public var code: String
    public var name: String
    public var bloc: Bloc
    /// Every ASEAN, MENA and LATAM member, and India.
    public var emerging: Bool
    /// A Korean free-trade agreement in force in 2016.
    public var fta: Bool
    public var distanceKm: Int
    /// World Bank Logistics Performance Index x 100 (100 to 500).
    public var logisticsIndex: Int
    /// Yearly import growth in permille (85 = 8.5 %).
    public var importGrowthPermille: Int
    /// HALAL certification gates food, cosmetics and medical products here.
    public var muslimMajority: Bool
    /// Relative import demand per industry (`Industry.allCases` order), 0 to 1000.
    public var demand: [Int]

    public init(
        code: String, name: String, bloc: Bloc, emerging: Bool, fta: Bool, distanceKm: Int, logisticsIndex: Int,
        importGrowthPermille: Int, muslimMajority: Bool, demand: [Int]
    ) {
        self.code = code
        self.name = name
        self.bloc = bloc
        self.emerging = emerging
        self.fta = fta
        self.distanceKm = distanceKm
        self.logisticsIndex = logisticsIndex
        self.importGrowthPermille = importGrowthPermille
        self.muslimMajority = muslimMajority
        self.demand = demand
    }

    public func demand(for industry: Industry) -> Int { demand[industry.index] }

    /// The certification that gates this market for an industry, if any (docs/EVALUATION.md,
    /// "Market potential"): HALAL for Muslim-majority markets in food, cosmetics and medical; CE
    /// for Europe in machinery, electronics, semiconductors and displays, medical, auto parts and
    /// consumer goods; FDA for the US in food, cosmetics and medical; CCC for China in
    /// electronics.
    public func requiredCertification(for industry: Industry) -> Certification? {
        switch industry {
        case .FOOD_AGRI, .COSMETICS_BEAUTY, .MEDICAL_BIO:
            if muslimMajority { return .HALAL }
            if code == "US" { return .FDA }
            if bloc == .EUROPE && industry == .MEDICAL_BIO { return .CE }
            return nil
        case .ELECTRONICS:
            if code == "CN" { return .CCC }
            return bloc == .EUROPE ? .CE : nil
        case .MACHINERY, .SEMICONDUCTOR_DISPLAY, .AUTO_PARTS, .CONSUMER_GOODS:
            return bloc == .EUROPE ? .CE : nil
        default:
            return nil
        }
    }
}

extension Industry {
    /// Position in `Industry.allCases`, used to index per-industry tables.
    public var index: Int {
        switch self {
        case .AUTO_PARTS: return 0
        case .MACHINERY: return 1
        case .ELECTRONICS: return 2
        case .SEMICONDUCTOR_DISPLAY: return 3
        case .CHEMICALS_PLASTICS: return 4
        case .STEEL_METALS: return 5
        case .COSMETICS_BEAUTY: return 6
        case .FOOD_AGRI: return 7
        case .TEXTILES_FASHION: return 8
        case .MEDICAL_BIO: return 9
        case .ICT_SOFTWARE: return 10
        case .CONSUMER_GOODS: return 11
        case .CONTENT_CULTURE: return 12
        }
    }

    /// The industry at `index` in `Industry.allCases`.
    public static func at(_ index: Int) -> Industry { all[index] }
    private static let all = Industry.allCases
}

/// The markets of a run, indexed by a small integer that firms and companies refer to.
public struct MarketTable: Sendable, Equatable {
    public let markets: [Market]
    private let byCode: [String: UInt8]

    public init(_ markets: [Market]) {
        precondition(markets.count <= 250, "at most 250 markets")
        self.markets = markets
        var m: [String: UInt8] = [:]
        for (i, market) in markets.enumerated() { m[market.code] = UInt8(i) }
        byCode = m
    }

    public var count: Int { markets.count }
    public subscript(_ index: UInt8) -> Market { markets[Int(index)] }
    public func index(of code: String) -> UInt8? { byCode[code] }
    public var codes: [String] { markets.map(\.code) }

    /// The built-in table (see `MarketTable+builtin.swift`).
    public static let builtin = MarketTable(BuiltinMarkets.all)
}
