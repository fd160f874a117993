/// Reads and parses one input file a batch at a time, on a thread of its own:
/// `read(2)`, gzip inflation and parsing are blocking work and stay off the
/// cooperative pool.
///
/// ```swift
/// let reader = InputReader(parser: parser)
/// try await reader.open(input)
/// while let batch = try await reader.nextBatch(limit: 500) { ... }
/// await reader.close()
/// ```
actor InputReader {
    /// Lines read and parsed since the last batch, and how far into the file they go.
    struct Batch: Sendable {
        var items: [PlannedItem]
        /// The last line read, blank and skipped lines included.
        var lastLine: Int
        /// The file ended (cleanly, or with `error`).
        var ended: Bool
        /// A corrupt or truncated gzip stream ended the file early.
        var error: String?
        /// How far through the file the batch reaches, by bytes.
        var fractionRead: Double = 1
    }

    private let thread = DedicatedThread()
    nonisolated var unownedExecutor: UnownedSerialExecutor { thread.executor }
    private let parser: ItemParser
    private var lines: LineReader?
    /// CSV and TSV inputs are read as rows, not lines.
    private var rows: CSVRecordReader?
    private var input: InputRecord?
    private var lastLine = 0

    init(parser: ItemParser) { self.parser = parser }

    func open(_ input: InputRecord) throws {
        if CSVRecordReader.handles(input.path) {
            guard parser.template != nil else {
                throw SluiceError(.configuration, "\(input.path): a CSV or TSV input needs a template to turn its rows into prompts (--template)")
            }
            rows = try CSVRecordReader(path: input.path)
            lines = nil
        } else {
            lines = LineReader(source: try openInput(path: input.path), maxLineBytes: parser.maxLineBytes)
            rows = nil
        }
        self.input = input
        lastLine = 0
    }

    /// The next batch of up to `limit` items, skipping lines planned by an earlier run; nil after the end.
    func nextBatch(limit: Int) throws -> Batch? {
        if rows != nil { return try nextRows(limit: limit) }
        guard let reader = lines, let input else { return nil }
        var items: [PlannedItem] = []
        items.reserveCapacity(limit)
        do {
            while items.count < limit, let line = try reader.next() {
                lastLine = line.number
                if line.number <= input.plannedLines { continue }
                if var item = parser.parse(line, fileIndex: input.fileIndex, fileLabel: input.path) {
                    if let problem = item.problem {
                        item.problem?.message = problem.located(file: input.path, line: line.number)
                    }
                    items.append(item)
                }
            }
        } catch let error as SluiceError where error.code == .corruptInput {
            // The lines read before the damage still run; the file is not read further.
            lines = nil
            return Batch(items: items, lastLine: lastLine, ended: true, error: "\(error.message); \(lastLine) lines were read before it")
        }
        if items.count < limit {
            lines = nil
            return Batch(items: items, lastLine: lastLine, ended: true, error: nil)
        }
        return Batch(items: items, lastLine: lastLine, ended: false, error: nil, fractionRead: reader.fractionRead)
    }

    private func nextRows(limit: Int) throws -> Batch? {
        guard let reader = rows, let input else { return nil }
        var items: [PlannedItem] = []
        items.reserveCapacity(limit)
        do {
            while items.count < limit, let row = try reader.next() {
                lastLine = row.number
                if row.number <= input.plannedLines { continue }
                var item = parser.item(for: row.fields, fileIndex: input.fileIndex, number: row.number, fileLabel: input.path, lineHash: row.hash)
                if let problem = row.problem { item = item.failing(.invalidField, problem) }
                if let problem = item.problem { item.problem?.message = problem.located(file: input.path, line: row.number) }
                items.append(item)
            }
        } catch let error as SluiceError where error.code == .corruptInput {
            rows = nil
            return Batch(items: items, lastLine: lastLine, ended: true, error: "\(error.message); \(lastLine) rows were read before it")
        }
        if items.count < limit {
            rows = nil
            return Batch(items: items, lastLine: lastLine, ended: true, error: nil)
        }
        return Batch(items: items, lastLine: lastLine, ended: false, error: nil, fractionRead: reader.fractionRead)
    }

    /// Not isolated: it must not wait for its own thread to end while running on it.
    nonisolated func close() async {
        await closeFile()
        await thread.shutdown()
    }

    private func closeFile() {
        lines = nil
        rows = nil
    }
}
