/// A position in input order: an item's file and line.
package struct ResultCursor: Sendable, Equatable, Comparable {
    package var fileIndex: Int
    package var line: Int

    package init(fileIndex: Int, line: Int) {
        self.fileIndex = fileIndex
        self.line = line
    }

    /// Before the first item of the job.
    package static let start = ResultCursor(fileIndex: -1, line: 0)

    package static func < (lhs: ResultCursor, rhs: ResultCursor) -> Bool {
        (lhs.fileIndex, lhs.line) < (rhs.fileIndex, rhs.line)
    }
}
