/// A whole program dataset in memory (tests, small runs; the cluster streams firms instead).
public struct Dataset: Sendable {
    public var configuration: ProgramConfiguration
    public var markets: MarketTable
    public var firms: [Firm]
    public var companies: [TradingCompany]
    public var institutions: [Institution]
    public var targets: [RegionalTarget]
    public var exports: [ExportRecord]
    public var applications: [Application]
    public var deskRankings: [DeskRanking]

    public init(
        configuration: ProgramConfiguration = ProgramConfiguration(), markets: MarketTable = .builtin,
        firms: [Firm] = [],
        companies: [TradingCompany] = [], institutions: [Institution] = [], targets: [RegionalTarget] = [],
        exports: [ExportRecord] = [], applications: [Application] = [], deskRankings: [DeskRanking] = []
    ) {
        self.configuration = configuration
        self.markets = markets
        self.firms = firms
        self.companies = companies
        self.institutions = institutions
        self.targets = targets
        self.exports = exports
        self.applications = applications
        self.deskRankings = deskRankings
    }
}
