import Foundation

/// Reads every input line, parses it, and stores it in the checkpoint as a
/// pending (or, for a bad line, failed) item, a batch per transaction.
///
/// Planning can itself be interrupted: each batch records how far into its
/// file it got, and the next run skips those lines without parsing them again.
public struct Planner: Sendable {
    public struct Report: Sendable {
        public var planned = 0
        public var problems = 0
        /// Files whose reading ended early (truncated or corrupt gzip), with the reason.
        public var inputErrors: [String] = []
    }

    public var parser: ItemParser
    /// Items per planning transaction. Small on purpose: the planner runs beside the
    /// dispatcher, and a transaction's dirty index pages stay in memory until it commits
    /// (2,000 per transaction cost ~7 MB more peak memory on a 2,000,000-item job).
    public var batchSize = 500

    public init(parser: ItemParser) { self.parser = parser }

    /// Plans every input not yet fully planned. `replanning` holds the indexes of
    /// files that changed and are read again in full, keeping unchanged lines.
    public func run(inputs: [InputRecord], replanning: Set<Int>, store: CheckpointStore, control: RunControl,
                    onBatch: (_ planned: Int, _ problems: Int) -> Void) throws -> Report {
        var report = Report()
        for input in inputs where !input.planningComplete {
            if control.isStopping { break }
            let isReplan = replanning.contains(input.fileIndex)
            let reader = LineReader(source: try openInput(path: input.path), maxLineBytes: parser.maxLineBytes)
            var batch: [PlannedItem] = []
            batch.reserveCapacity(batchSize)
            var lastLine = 0
            func commit(complete: Bool, error: String?) throws {
                let problems = try store.insertPlanned(batch, fileIndex: input.fileIndex, throughLine: lastLine,
                                                       complete: complete, replanning: isReplan, error: error)
                report.planned += batch.count
                report.problems += problems
                onBatch(batch.count, problems)
                batch.removeAll(keepingCapacity: true)
            }
            do {
                while let line = try reader.next() {
                    lastLine = line.number
                    if line.number <= input.plannedLines { continue }
                    if var item = parser.parse(line, fileIndex: input.fileIndex, fileLabel: input.path) {
                        if let problem = item.problem {
                            item.problem?.message = problem.located(file: input.path, line: line.number)
                        }
                        batch.append(item)
                    }
                    if batch.count >= batchSize {
                        try commit(complete: false, error: nil)
                        if control.isStopping { break }
                    }
                }
                if control.isStopping { try commit(complete: false, error: nil); break }
                try commit(complete: true, error: nil)
                if isReplan { try store.removeItems(fileIndex: input.fileIndex, afterLine: lastLine) }
            } catch let error as SluiceError where error.code == .corruptInput {
                // The lines read before the damage still run; the file is not read further.
                let message = "\(error.message); \(lastLine) lines were read before it"
                try commit(complete: true, error: message)
                report.inputErrors.append(message)
            }
        }
        return report
    }
}
