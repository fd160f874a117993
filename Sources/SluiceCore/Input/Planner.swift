import ServiceLifecycle

/// Reads every input line, parses it, and stores it in the checkpoint as a
/// pending (or, for a bad line, failed) item, a batch per transaction.
///
/// Planning can itself be interrupted: each batch records how far into its
/// file it got, and the next run skips those lines without parsing them again.
/// It runs as a service beside the dispatcher (which starts sending as soon as
/// the first batch is stored), or on its own first for `--strict`.
///
/// ```swift
/// let planner = Planner(parser: parser, inputs: records, replanning: [], store: store, control: control,
///                       onBatch: { planned, problems, fraction in ... })
/// let report = try await planner.plan()      // or, beside the dispatcher: the service's run()
/// ```
package final class Planner: Service {
    package struct Report: Sendable {
        package var planned = 0
        package var problems = 0
        /// Files whose reading ended early (truncated or corrupt gzip), with the reason.
        package var inputErrors: [String] = []
    }

    /// Items per planning transaction. Small on purpose: the planner runs beside the
    /// dispatcher, and a transaction's dirty index pages stay in memory until it commits
    /// (2,000 per transaction cost ~7 MB more peak memory on a 2,000,000-item job).
    package static let batchSize = 500

    private let parser: ItemParser
    private let inputs: [InputRecord]
    private let replanning: Set<Int>
    private let store: any CheckpointStore
    private let control: RunControl
    /// Told after each stored batch, as the service (`run`) runs, with how far through
    /// the inputs planning is (0...1, by bytes: for gzip, compressed bytes).
    private let onBatch: @Sendable (_ planned: Int, _ problems: Int, _ fraction: Double) async -> Void
    private let onEnd: @Sendable (Report) async -> Void

    package init(
        parser: ItemParser, inputs: [InputRecord], replanning: Set<Int>, store: any CheckpointStore, control: RunControl,
        onBatch: @escaping @Sendable (Int, Int, Double) async -> Void = { _, _, _ in }, onEnd: @escaping @Sendable (Report) async -> Void = { _ in }
    ) {
        self.parser = parser
        self.inputs = inputs
        self.replanning = replanning
        self.store = store
        self.control = control
        self.onBatch = onBatch
        self.onEnd = onEnd
    }

    /// As a service: plans until done or the run stops (the run's group then holds it
    /// until it stops everything, see `RunServiceRole`).
    package func run() async {
        var report = Report()
        do {
            report = try await plan()
        } catch {
            control.stop(.error(SluiceError.wrapping(error, as: .input)))
        }
        await onEnd(report)
    }

    /// Plans every input not yet fully planned.
    package func plan() async throws -> Report {
        let reader = InputReader(parser: parser)
        do {
            let report = try await plan(with: reader)
            await reader.close()
            return report
        } catch {
            await reader.close()
            throw error
        }
    }

    private func plan(with reader: InputReader) async throws -> Report {
        var report = Report()
        let totalBytes = Double(max(inputs.reduce(0) { $0 + $1.fingerprint.size }, 1))
        var bytesBefore = Double(inputs.filter(\.planningComplete).reduce(0) { $0 + $1.fingerprint.size })
        for input in inputs where !input.planningComplete {
            if control.isStopping { break }
            let isReplan = replanning.contains(input.fileIndex)
            try await reader.open(input)
            while let batch = try await reader.nextBatch(limit: Self.batchSize) {
                let problems = try await store.insertPlanned(
                    batch.items, fileIndex: input.fileIndex, throughLine: batch.lastLine,
                    complete: batch.ended, replanning: isReplan, error: batch.error)
                report.planned += batch.items.count
                report.problems += problems
                if let error = batch.error { report.inputErrors.append(error) }
                await onBatch(batch.items.count, problems, (bytesBefore + batch.fractionRead * Double(input.fingerprint.size)) / totalBytes)
                if batch.ended {
                    if isReplan, batch.error == nil { try await store.removeItems(fileIndex: input.fileIndex, afterLine: batch.lastLine) }
                    bytesBefore += Double(input.fingerprint.size)
                    break
                }
                if control.isStopping { return report }
            }
        }
        return report
    }
}
