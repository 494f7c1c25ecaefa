/// The built-in market table: 44 markets covering every bloc.
///
/// ILLUSTRATIVE NUMBERS. Distances are rounded great-circle distances from Seoul to each
/// market's main port or capital; logistics indices follow the published 2016 LPI scores;
/// import growth and the demand weights are plausible values chosen for a realistic synthetic
/// program, not statistics. Operators override the whole table with `markets.csv` in a dataset.
enum BuiltinMarkets {
    /// Per-bloc import profile by industry, in percent of the market's size (columns in
    /// `Industry.allCases` order: AUTO_PARTS, MACHINERY, ELECTRONICS, SEMICONDUCTOR_DISPLAY,
    /// CHEMICALS_PLASTICS, STEEL_METALS, COSMETICS_BEAUTY, FOOD_AGRI, TEXTILES_FASHION,
    /// MEDICAL_BIO, ICT_SOFTWARE, CONSUMER_GOODS, CONTENT_CULTURE).
    static func profile(_ bloc: Bloc) -> [Int] {
        switch bloc {
        case .NORTH_AMERICA: return [90, 80, 85, 60, 70, 60, 70, 80, 80, 95, 90, 85, 90]
        case .GREATER_CHINA: return [60, 85, 95, 100, 90, 70, 100, 70, 60, 70, 60, 70, 85]
        case .JAPAN: return [50, 60, 70, 75, 65, 55, 85, 80, 60, 70, 60, 65, 80]
        case .EUROPE: return [85, 90, 75, 50, 75, 65, 60, 60, 70, 85, 70, 70, 55]
        case .ASEAN: return [65, 85, 80, 85, 80, 85, 90, 75, 70, 55, 60, 80, 85]
        case .MENA: return [75, 80, 60, 30, 55, 70, 80, 70, 55, 70, 50, 70, 40]
        case .LATAM: return [80, 75, 65, 40, 65, 60, 70, 55, 50, 60, 55, 60, 50]
        case .INDIA: return [70, 90, 85, 60, 80, 80, 50, 40, 40, 65, 70, 55, 45]
        case .CIS: return [80, 70, 55, 30, 50, 55, 60, 60, 50, 55, 40, 60, 35]
        case .OCEANIA: return [75, 70, 70, 40, 55, 50, 60, 65, 60, 70, 60, 70, 50]
        case .OTHER: return [60, 60, 50, 25, 50, 55, 50, 55, 45, 50, 40, 55, 30]
        }
    }

    // code, name, bloc, FTA in force 2016, distance km, LPI x100, import growth permille,
    // Muslim-majority, size (0-1000)
    static let rows: [(String, String, Bloc, Bool, Int, Int, Int, Bool, Int)] = [
        ("US", "United States", .NORTH_AMERICA, true, 10_500, 399, 35, false, 1000),
        ("CA", "Canada", .NORTH_AMERICA, true, 8_200, 393, 30, false, 280),
        ("CN", "China", .GREATER_CHINA, true, 950, 366, 45, false, 950),
        ("HK", "Hong Kong", .GREATER_CHINA, false, 2_070, 407, 25, false, 350),
        ("TW", "Taiwan", .GREATER_CHINA, false, 1_480, 370, 30, false, 260),
        ("JP", "Japan", .JAPAN, false, 1_160, 397, 15, false, 520),
        ("DE", "Germany", .EUROPE, true, 8_550, 423, 25, false, 620),
        ("FR", "France", .EUROPE, true, 8_970, 390, 20, false, 380),
        ("GB", "United Kingdom", .EUROPE, true, 8_850, 407, 20, false, 400),
        ("IT", "Italy", .EUROPE, true, 9_000, 376, 20, false, 300),
        ("NL", "Netherlands", .EUROPE, true, 8_700, 419, 25, false, 330),
        ("ES", "Spain", .EUROPE, true, 10_000, 373, 30, false, 220),
        ("PL", "Poland", .EUROPE, true, 7_800, 343, 55, false, 180),
        ("TR", "Turkey", .EUROPE, true, 7_950, 342, 50, true, 170),
        ("BN", "Brunei", .ASEAN, true, 3_900, 287, 40, true, 20),
        ("KH", "Cambodia", .ASEAN, true, 3_450, 280, 95, false, 40),
        ("ID", "Indonesia", .ASEAN, true, 5_270, 298, 75, true, 240),
        ("LA", "Laos", .ASEAN, true, 3_000, 207, 90, false, 20),
        ("MY", "Malaysia", .ASEAN, true, 4_600, 343, 60, true, 200),
        ("MM", "Myanmar", .ASEAN, true, 3_600, 246, 110, false, 40),
        ("PH", "Philippines", .ASEAN, true, 2_620, 286, 80, false, 120),
        ("SG", "Singapore", .ASEAN, true, 4_680, 414, 30, false, 260),
        ("TH", "Thailand", .ASEAN, true, 3_720, 326, 55, false, 210),
        ("VN", "Vietnam", .ASEAN, true, 2_750, 298, 120, false, 300),
        ("AE", "United Arab Emirates", .MENA, false, 6_800, 394, 50, true, 220),
        ("SA", "Saudi Arabia", .MENA, false, 7_600, 316, 40, true, 190),
        ("QA", "Qatar", .MENA, false, 7_150, 360, 45, true, 60),
        ("KW", "Kuwait", .MENA, false, 7_000, 315, 35, true, 50),
        ("EG", "Egypt", .MENA, false, 8_500, 318, 60, true, 90),
        ("MA", "Morocco", .MENA, false, 11_000, 267, 55, true, 50),
        ("MX", "Mexico", .LATAM, false, 12_000, 311, 45, false, 330),
        ("BR", "Brazil", .LATAM, false, 18_300, 309, 40, false, 200),
        ("CL", "Chile", .LATAM, true, 18_300, 325, 35, false, 80),
        ("PE", "Peru", .LATAM, true, 16_500, 289, 45, false, 50),
        ("CO", "Colombia", .LATAM, true, 14_600, 261, 40, false, 60),
        ("AR", "Argentina", .LATAM, false, 19_400, 296, 30, false, 70),
        ("IN", "India", .INDIA, true, 4_700, 342, 85, false, 420),
        ("RU", "Russia", .CIS, false, 6_600, 257, 20, false, 210),
        ("KZ", "Kazakhstan", .CIS, false, 4_600, 275, 45, true, 40),
        ("UZ", "Uzbekistan", .CIS, false, 5_000, 240, 70, true, 30),
        ("AU", "Australia", .OCEANIA, true, 8_300, 379, 30, false, 260),
        ("NZ", "New Zealand", .OCEANIA, true, 10_000, 339, 30, false, 50),
        ("ZA", "South Africa", .OTHER, false, 12_900, 378, 30, false, 90),
        ("NG", "Nigeria", .OTHER, false, 12_000, 263, 50, false, 50),
    ]

    static let all: [Market] = rows.map { code, name, bloc, fta, km, lpi, growth, muslim, size in
        let emerging = bloc == .ASEAN || bloc == .MENA || bloc == .LATAM || bloc == .INDIA
        return Market(
            code: code, name: name, bloc: bloc, emerging: emerging, fta: fta, distanceKm: km, logisticsIndex: lpi,
            importGrowthPermille: growth, muslimMajority: muslim, demand: profile(bloc).map { $0 * size / 100 })
    }
}
