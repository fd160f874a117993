/// Writes the results and errors files while the job runs, in input order.
///
/// Each `advance()` appends the items after the last one written, up to the
/// first item not yet finished, to `<output>.partial` (and failed ones to
/// `<errors>.partial`), so a consumer can read a long job's finished work
/// without waiting for the end or running an export. `finish()` writes the
/// rest and renames both files into place; a job that stops before it is
/// complete leaves the partial files, which the next run writes afresh.
///
/// ```swift
/// let publisher = try ResultsPublisher(store: store, resultsPath: "out.jsonl", errorsPath: "out.errors.jsonl")
/// _ = try publisher.advance()            // as outcomes are committed
/// let written = try publisher.finish()   // when every item is finished
/// ```
public final class ResultsPublisher {
    public struct Written: Sendable, Equatable {
        public var results = 0
        public var errors = 0
    }

    public static let partialSuffix = ".partial"
    private let store: CheckpointStore
    private let results: OutputFile
    private let errors: OutputFile
    private var cursor = ResultCursor.start
    public private(set) var written = Written()
    private let pageSize: Int

    public init(store: CheckpointStore, resultsPath: String, errorsPath: String, pageSize: Int = 2000) throws {
        self.store = store
        self.pageSize = pageSize
        results = try OutputFile(path: resultsPath, partialPath: resultsPath + Self.partialSuffix)
        errors = try OutputFile(path: errorsPath, partialPath: errorsPath + Self.partialSuffix)
    }

    /// Appends every newly finished item of the finished prefix; returns how many.
    @discardableResult
    public func advance() throws -> Int {
        var appended = 0
        pages: while true {
            let rows = try store.results(after: cursor, limit: pageSize)
            for row in rows {
                guard row.state == .succeeded || row.state == .failed else { break pages }
                let line = ResultLine.line(for: row)
                try results.write(line)
                written.results += 1
                if row.state == .failed {
                    try errors.write(line)
                    written.errors += 1
                }
                cursor = row.position
                appended += 1
            }
            if rows.count < pageSize { break }
        }
        if appended > 0 {
            try results.flush()
            try errors.flush()
        }
        return appended
    }

    /// Writes what is left and renames both files into place. Call only when
    /// every item is finished: an unfinished one would end the file early.
    public func finish() throws -> Written {
        try advance()
        try results.commit()
        try errors.commit()
        return written
    }
}
