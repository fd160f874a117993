import Foundation
import Logging

/// Everything before the first request: the checkpoint opened (and locked),
/// the inputs checked against what it planned, the settings saved, items left
/// leased by a crash recovered, and for `--strict` every line planned and
/// checked.
///
/// ```swift
/// let preparation = JobPreparation(configuration: config, options: options, logger: logger, control: control)
/// try await preparation.withPreparedJob { job in
///     // ... run it; the checkpoint is closed when this ends ...
/// }
/// ```
struct JobPreparation {
    let configuration: JobConfiguration
    let options: RunOptions
    let logger: Logger
    let control: RunControl

    /// A job ready to run.
    struct PreparedJob {
        var store: any CheckpointStore
        var inputs: [InputRecord]
        /// Files that changed and are read again in full (`--force`), keeping unchanged lines.
        var replanning: Set<Int>
        var needsPlanning: Bool
        /// Read errors that ended planning of a file early, from earlier runs and `--strict` planning.
        var inputErrors: [String]
        var preparation: RunPreparation
        /// The checkpoint's totals before this run sent anything.
        var baseline: ItemCounts
    }

    /// Prepares the job and runs `body` with it; its checkpoint is open for the length of `body`.
    func withPreparedJob<T>(_ body: (PreparedJob) async throws -> T) async throws -> T {
        // Checked before anything is sent: finding out after the last answer that the results cannot be written wastes the job.
        let shared = PostgresLocation.isPostgres(configuration.checkpoint)
        if shared { try refuseWhatOneWorkerOnlyDoes() }
        // Checked by the commands already; again here because the copy of standard input is an input only from
        // now on, and a library caller may pass a configuration nobody validated.
        try OwnedFiles(job: configuration).refuseClashes()
        for (path, what) in [(configuration.output, "results file"), (configuration.errors, "errors file"), (configuration.checkpoint, "checkpoint")]
        where !(shared && what == "checkpoint") {
            try createParentDirectory(of: path)
            try checkWritable(path, what)
        }
        return try await CheckpointStores.withStore(configuration.checkpoint, role: .runner) { store in
            try await body(try await prepare(store))
        }
    }

    private func prepare(_ store: any CheckpointStore) async throws -> PreparedJob {
        // Reading every byte of every input is blocking work: off the cooperative pool.
        let reading = DedicatedThread()
        let inputs = configuration.inputs
        let fingerprints: [InputFingerprint]
        do {
            fingerprints = try await reading.run { try inputs.map { try InputFingerprint.of(path: $0) } }
            await reading.shutdown()
        } catch {
            await reading.shutdown()
            throw error
        }
        let fresh = try await store.jobSettings() == nil
        if !fresh, let note = try await store.value(forKey: CancelWatcher.key), !note.isEmpty {
            guard options.force else {
                throw SluiceError(
                    .configuration,
                    "this job was cancelled (sluice cancel, \(note)); run it with --force to continue it anyway")
            }
            logger.info("continuing a job that was cancelled (\(note)): --force")
            try await store.setValue("", forKey: CancelWatcher.key)
        }
        let (records, replanning) = try await reconcileInputs(store: store, fingerprints: fingerprints, fresh: fresh)
        try await store.saveJobSettings(configuration.json())
        try await store.saveInputs(records)
        var preparation = try await store.prepareForRun(retryFailed: options.retryFailed)
        if let classes = options.retryClasses { preparation.requeuedFailed += try await store.requeueFailed(classes: classes) }
        if preparation.recoveredInFlight > 0 {
            logger.info("resuming: \(preparation.recoveredInFlight) items were in flight when the last run stopped and will be sent again")
        }
        var job = PreparedJob(
            store: store, inputs: records, replanning: replanning, needsPlanning: records.contains { !$0.planningComplete },
            inputErrors: records.compactMap(\.planningError), preparation: preparation, baseline: try await store.counts())
        if let shared = store as? any SharedCheckpointStore, job.needsPlanning || job.baseline.pending + job.baseline.inFlight > 0 {
            try await shared.reopenPublication()
        }
        if options.strict { try await planStrictly(&job, fresh: fresh) }
        return job
    }

    /// Features that assume the job has one worker, refused before anything is sent.
    private func refuseWhatOneWorkerOnlyDoes() throws {
        if configuration.mode != .live {
            throw SluiceError(
                .configuration,
                "--mode \(configuration.mode.rawValue) with a PostgreSQL checkpoint: provider batches are collected by one worker; use an SQLite checkpoint for batch jobs"
            )
        }
        if options.strict {
            throw SluiceError(
                .configuration, "--strict with a PostgreSQL checkpoint: workers start sending while planning runs; check the input first with sluice validate")
        }
    }

    /// `--strict`: every line is planned before anything is sent, and any bad one refuses the job
    /// (a fresh job leaves no checkpoint behind).
    private func planStrictly(_ job: inout PreparedJob, fresh: Bool) async throws {
        if job.needsPlanning {
            let report = try await planner(for: job).plan()
            job.inputErrors += report.inputErrors
            job.needsPlanning = false
        }
        let counts = try await job.store.counts()
        guard counts.invalidInput > 0 || !job.inputErrors.isEmpty else {
            job.baseline = counts
            return
        }
        let problems = try await job.store.inputProblems(limit: 50).map { "  \($0.message)" }
        let more = counts.invalidInput > problems.count ? ["  ... and \(counts.invalidInput - problems.count) more"] : []
        if fresh { try await job.store.destroy() }
        throw SluiceError(
            .configuration,
            (["--strict: \(counts.invalidInput) bad input line\(counts.invalidInput == 1 ? "" : "s"); nothing was sent:"]
                + job.inputErrors.map { "  \($0)" } + problems + more).joined(separator: "\n"))
    }

    /// `inputs`: where planning starts (a shared job's planner reads the stored planning positions afresh).
    func planner(
        for job: PreparedJob, inputs: [InputRecord]? = nil, onBatch: @escaping @Sendable (Int, Int, Double) async -> Void = { _, _, _ in },
        onEnd: @escaping @Sendable (Planner.Report) async -> Void = { _ in }
    ) throws -> Planner {
        Planner(
            parser: try configuration.itemParser(),
            inputs: inputs ?? job.inputs, replanning: job.replanning, store: job.store, control: control, onBatch: onBatch, onEnd: onEnd)
    }

    /// Compares the inputs with what the checkpoint planned. A changed input is
    /// refused unless `--force`, which re-plans that file keeping unchanged lines.
    private func reconcileInputs(store: any CheckpointStore, fingerprints: [InputFingerprint], fresh: Bool) async throws -> ([InputRecord], Set<Int>) {
        let stored = try await store.inputs()
        func newRecord(_ index: Int) -> InputRecord {
            InputRecord(
                fileIndex: index, path: configuration.inputs[index], fingerprint: fingerprints[index],
                plannedLines: 0, planningComplete: false, planningError: nil)
        }
        if fresh || stored.isEmpty { return (configuration.inputs.indices.map(newRecord), []) }
        var records: [InputRecord] = []
        var changes: [String] = []
        var replanning = Set<Int>()
        for index in configuration.inputs.indices {
            guard index < stored.count else {
                changes.append("\(configuration.inputs[index]) was not an input when the job started")
                records.append(newRecord(index))
                continue
            }
            var record = stored[index]
            record.path = configuration.inputs[index]
            if record.fingerprint != fingerprints[index] {
                changes.append("\(record.path) changed since the job started (was \(record.fingerprint), now \(fingerprints[index]))")
                record = newRecord(index)
                replanning.insert(index)
            }
            records.append(record)
        }
        if stored.count > configuration.inputs.count {
            changes.append("the job started with \(stored.count) inputs, now \(configuration.inputs.count)")
        }
        if !changes.isEmpty {
            guard options.force else {
                throw SluiceError(
                    .inputChanged,
                    changes.joined(separator: "; ")
                        + ". Nothing was sent. Run with --force to re-plan the changed lines (unchanged lines keep their results), or use another --checkpoint to start over."
                )
            }
            logger.warning("--force: \(changes.joined(separator: "; ")); re-planning changed lines")
            for removed in configuration.inputs.count..<max(stored.count, configuration.inputs.count) {
                try await store.removeItems(fileIndex: removed, afterLine: 0)
            }
        }
        return (records, replanning)
    }

    private func checkWritable(_ path: String, _ what: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            if isDirectory.boolValue { throw SluiceError(.configuration, "\(path): the \(what) is a folder; name a file (nothing was sent)") }
            guard access(path, W_OK) == 0 else {
                throw SluiceError(.configuration, "\(path): the \(what) is not writable (\(String(cString: strerror(errno)))); nothing was sent")
            }
            return
        }
        let folder = (path as NSString).deletingLastPathComponent
        guard access(folder.isEmpty ? "." : folder, W_OK | X_OK) == 0 else {
            throw SluiceError(
                .configuration,
                "\(path): cannot create the \(what) in \(folder.isEmpty ? "." : folder) (\(String(cString: strerror(errno)))); nothing was sent")
        }
    }

    private func createParentDirectory(of path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        guard !directory.isEmpty else { return }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw SluiceError(.configuration, "\(directory): cannot create the folder (\(error.localizedDescription))")
        }
    }
}
