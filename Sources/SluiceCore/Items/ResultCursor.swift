/// A position in input order: an item's file and line.
public struct ResultCursor: Sendable, Equatable, Comparable {
    public var fileIndex: Int
    public var line: Int

    public init(fileIndex: Int, line: Int) {
        self.fileIndex = fileIndex
        self.line = line
    }

    /// Before the first item of the job.
    public static let start = ResultCursor(fileIndex: -1, line: 0)

    public static func < (lhs: ResultCursor, rhs: ResultCursor) -> Bool {
        (lhs.fileIndex, lhs.line) < (rhs.fileIndex, rhs.line)
    }
}
