import Foundation
import ServiceLifecycle

/// Writes the results and errors files while the job runs, in input order.
///
/// Each `advance()` appends the items after the last one written, up to the
/// first item not yet finished, to `<output>.partial` (and failed ones to
/// `<errors>.partial`), so a consumer can read a long job's finished work
/// without waiting for the end or running an export. `finish()` writes the
/// rest and renames both files into place; a job that stops before it is
/// complete leaves the partial files, which the next run writes afresh.
///
/// An actor on a thread of its own (file writes are blocking work), and a
/// service of the run that advances once a second until the graceful shutdown.
///
/// ```swift
/// let publisher = try await ResultsPublisher.create(store: store, resultsPath: "out.jsonl", errorsPath: "out.errors.jsonl")
/// try await publisher.advance()              // as outcomes are committed
/// let written = try await publisher.finish() // when every item is finished
/// ```
package actor ResultsPublisher: Service {
    package struct Written: Sendable, Equatable {
        package var results = 0
        package var errors = 0
    }

    package static let partialSuffix = ".partial"

    /// Workers of a shared job on one machine may name the same results file: each writes its own partial file.
    package static func partialSuffix(shared: Bool) -> String { partialSuffix + (shared ? ".\(getpid())" : "") }
    private let thread: DedicatedThread
    package nonisolated var unownedExecutor: UnownedSerialExecutor { thread.executor }
    private let store: any CheckpointStore
    private let control: RunControl?
    /// Rows read per query (500 by default): a page of decompressed answers is held at once, alongside the run.
    private let pageSize: Int
    private var files: (results: OutputFile, errors: OutputFile)?
    private var cursor = ResultCursor.start
    package private(set) var written = Written()

    private init(thread: DedicatedThread, store: any CheckpointStore, control: RunControl?, pageSize: Int) {
        self.thread = thread
        self.store = store
        self.control = control
        self.pageSize = pageSize
    }

    /// Creates both working files at once, which also proves the folder is writable.
    /// `control`: where a failed write during the run stops the job.
    package static func create(
        store: any CheckpointStore, resultsPath: String, errorsPath: String,
        control: RunControl? = nil, pageSize: Int = 500, partialSuffix: String = ResultsPublisher.partialSuffix
    ) async throws -> ResultsPublisher {
        let publisher = ResultsPublisher(thread: DedicatedThread(), store: store, control: control, pageSize: pageSize)
        try await publisher.openFiles(resultsPath: resultsPath, errorsPath: errorsPath, suffix: partialSuffix)
        return publisher
    }

    private func openFiles(resultsPath: String, errorsPath: String, suffix: String) throws {
        files = (
            try OutputFile(path: resultsPath, partialPath: resultsPath + suffix),
            try OutputFile(path: errorsPath, partialPath: errorsPath + suffix, what: "errors file")
        )
    }

    /// Appends every newly finished item of the finished prefix; returns how many.
    @discardableResult
    package func advance() async throws -> Int {
        guard let files else { return 0 }
        do {
            return try await append(to: files)
        } catch {
            // A file left half-written is not appended to again (a line could be written twice);
            // the next run writes the partial files afresh.
            self.files = nil
            throw error
        }
    }

    private func append(to files: (results: OutputFile, errors: OutputFile)) async throws -> Int {
        var appended = 0
        pages: while true {
            let rows = try await store.results(after: cursor, limit: pageSize)
            for row in rows {
                guard row.state == .succeeded || row.state == .failed else { break pages }
                let line = ResultLine.line(for: row)
                try files.results.write(line)
                written.results += 1
                if row.state == .failed {
                    try files.errors.write(line)
                    written.errors += 1
                }
                cursor = row.position
                appended += 1
            }
            if rows.count < pageSize { break }
        }
        if appended > 0 {
            try files.results.flush()
            try files.errors.flush()
        }
        return appended
    }

    /// Writes what is left and renames both files into place. Call only when
    /// every item is finished: an unfinished one would end the file early.
    package func finish() async throws -> Written {
        try await advance()
        try files?.results.commit()
        try files?.errors.commit()
        files = nil
        return written
    }

    /// Ends the publisher's thread; the partial files stay as they are. Not isolated: it must
    /// not wait for its own thread to end while running on it.
    package nonisolated func close() async {
        await closeFiles()
        await thread.shutdown()
    }

    private func closeFiles() { files = nil }

    /// As a service: advances once a second until the graceful shutdown.
    package func run() async {
        await ServiceRounds.repeat(every: 1, startingWith: .pause) {
            do {
                try await advance()
                return true
            } catch {
                control?.stop(.error(SluiceError.wrapping(error, as: .output)))
                return false
            }
        }
    }
}
