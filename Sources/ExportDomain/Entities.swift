/// Export to one market, in thousands of USD.
public struct MarketExport: Sendable, Equatable, Hashable {
    /// Index into the run's `MarketTable`.
    public var market: UInt8
    public var usdK: Int64

    public init(market: UInt8, usdK: Int64) {
        self.market = market
        self.usdK = usdK
    }
}

/// A firm as read from `firms.csv` (money in integers: revenue in millions of KRW, exports in
/// thousands of USD; sets of codes as bit masks).
public struct Firm: Sendable, Equatable {
    public var id: BusinessNumber
    public var name: String
    public var region: Office
    public var sizeClass: SizeClass
    public var industry: Industry
    public var role: ValueChainRole
    public var revenueKRWm: Int64
    /// Last year's exports.
    public var exportUSDk: Int64
    /// The year before.
    public var exportPrevUSDk: Int64
    public var employees: Int?
    public var hsChapters: [UInt8]
    /// Sorted by market index, one entry per market.
    public var exportMarkets: [MarketExport]
    /// `Certification.bit` mask.
    public var certifications: UInt16
    public var rndSuccess: Bool
    public var procurementExcellent: Bool
    public var homeShoppingBestseller: Bool
    /// `Channel.bit` mask.
    public var onlineChannels: UInt8
    /// `Recommender.bit` mask.
    public var recommendedBy: UInt8
    public var debtRatioPct: Int?
    public var patents: Int?

    public init(
        id: BusinessNumber, name: String, region: Office, sizeClass: SizeClass, industry: Industry,
        role: ValueChainRole,
        revenueKRWm: Int64, exportUSDk: Int64, exportPrevUSDk: Int64, employees: Int? = nil, hsChapters: [UInt8] = [],
        exportMarkets: [MarketExport] = [], certifications: UInt16 = 0, rndSuccess: Bool = false,
        procurementExcellent: Bool = false, homeShoppingBestseller: Bool = false, onlineChannels: UInt8 = 0,
        recommendedBy: UInt8 = 0, debtRatioPct: Int? = nil, patents: Int? = nil
    ) {
        self.id = id
        self.name = name
        self.region = region
        self.sizeClass = sizeClass
        self.industry = industry
        self.role = role
        self.revenueKRWm = revenueKRWm
        self.exportUSDk = exportUSDk
        self.exportPrevUSDk = exportPrevUSDk
        self.employees = employees
        self.hsChapters = hsChapters
        self.exportMarkets = exportMarkets
        self.certifications = certifications
        self.rndSuccess = rndSuccess
        self.procurementExcellent = procurementExcellent
        self.homeShoppingBestseller = homeShoppingBestseller
        self.onlineChannels = onlineChannels
        self.recommendedBy = recommendedBy
        self.debtRatioPct = debtRatioPct
        self.patents = patents
    }

    public func has(_ c: Certification) -> Bool { certifications & c.bit != 0 }
    public func sells(on c: Channel) -> Bool { onlineChannels & c.bit != 0 }
    /// A new export source: an excellent public-procurement product or a home-shopping best seller.
    public var isNewExportSource: Bool { procurementExcellent || homeShoppingBestseller }
    public var isExporting: Bool { exportUSDk > 0 }

    /// Export to a market (0 when none).
    public func exports(to market: UInt8) -> Int64 {
        for e in exportMarkets where e.market == market { return e.usdK }
        return 0
    }
}

/// A (company, industry) pair with its own capacity: desks of different industries never
/// share capacity.
public struct Desk: Sendable, Equatable, Hashable {
    public var industry: Industry
    public var capacity: Int

    public init(industry: Industry, capacity: Int) {
        self.industry = industry
        self.capacity = capacity
    }
}

/// A specialized trading company.
public struct TradingCompany: Sendable, Equatable {
    public var id: String
    public var name: String
    /// Sorted by industry, one per industry.
    public var desks: [Desk]
    /// Market indices it covers, sorted.
    public var markets: [UInt8]
    /// `Channel.bit` mask.
    public var channels: UInt8
    /// Track record, 0 to 1000 (permille of supported firms that went on exporting).
    public var successRatePermille: Int

    public init(id: String, name: String, desks: [Desk], markets: [UInt8], channels: UInt8, successRatePermille: Int) {
        self.id = id
        self.name = name
        self.desks = desks
        self.markets = markets
        self.channels = channels
        self.successRatePermille = successRatePermille
    }
}

/// A university, research institute or support body that can join consortia.
public struct Institution: Sendable, Equatable {
    public var id: String
    public var name: String
    public var kind: InstitutionKind
    public var region: Office
    /// Sorted.
    public var industries: [Industry]

    public init(id: String, name: String, kind: InstitutionKind, region: Office, industries: [Industry]) {
        self.id = id
        self.name = name
        self.kind = kind
        self.region = region
        self.industries = industries
    }
}

/// A regional office's yearly targets.
public struct RegionalTarget: Sendable, Equatable {
    public var region: Office
    public var year: Int
    public var exportingFirms: Int
    public var avgExportUSDk: Int64

    public init(region: Office, year: Int, exportingFirms: Int, avgExportUSDk: Int64) {
        self.region = region
        self.year = year
        self.exportingFirms = exportingFirms
        self.avgExportUSDk = avgExportUSDk
    }
}

/// Exports of one firm to one market in one two-week period.
public struct ExportRecord: Sendable, Equatable {
    public var firm: BusinessNumber
    /// 0 ..< 26, counted from the program start.
    public var period: Int
    public var market: UInt8
    public var usdK: Int64

    public init(firm: BusinessNumber, period: Int, market: UInt8, usdK: Int64) {
        self.firm = firm
        self.period = period
        self.market = market
        self.usdK = usdK
    }
}

/// One contract on a firm's own list (1 = first choice), from `applications.csv`: the firm
/// offers `company`'s desk of its industry a contract for `targetMarket`, or, when that is nil,
/// for its best market among those the company covers.
public struct Application: Sendable, Equatable {
    public var firm: BusinessNumber
    public var company: String
    public var rank: Int
    /// Index into the run's `MarketTable`; nil: the firm's best covered market.
    public var targetMarket: UInt8?

    public init(firm: BusinessNumber, company: String, rank: Int, targetMarket: UInt8? = nil) {
        self.firm = firm
        self.company = company
        self.rank = rank
        self.targetMarket = targetMarket
    }
}

/// A desk's own ranking of a firm (1 = first choice), from `desk_rankings.csv`.
public struct DeskRanking: Sendable, Equatable {
    public var company: String
    public var industry: Industry
    public var firm: BusinessNumber
    public var rank: Int

    public init(company: String, industry: Industry, firm: BusinessNumber, rank: Int) {
        self.company = company
        self.industry = industry
        self.firm = firm
        self.rank = rank
    }
}
