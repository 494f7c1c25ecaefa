/// A rejected input row: `file:line: column: reason`.
public struct Rejection: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    /// The column at fault; nil when the row as a whole is (too long, malformed).
    public var column: String?
    public var reason: String

    public init(file: String, line: Int, column: String?, reason: String) {
        self.file = file
        self.line = line
        self.column = column
        self.reason = reason
    }

    public var description: String {
        "\(file):\(line): " + (column.map { "\($0): " } ?? "") + reason
    }

    /// The reason with its column, as the report's `reason` field.
    public var reasonWithColumn: String { (column.map { "\($0): " } ?? "") + reason }
}

/// What reading one file gave: counts (accepted + rejected = rows read, always), warnings
/// (unknown columns), and a file-level problem when the file could not be used at all.
public struct FileReport: Sendable, Equatable {
    public var file: String
    public var present = true
    public var rowsRead = 0
    public var accepted = 0
    public var rejected = 0
    public var warnings: [String] = []
    public var problem: String?
    public var encoding: String?

    public init(file: String) { self.file = file }
}
