import ArgumentParser
import Foundation
import Logging
import SluiceCore

/// `sluice cancel`: asks a running job to stop, through its checkpoint.
struct CancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Stop a running job: it drains its requests in flight and stops, resumable with run --force.",
        discussion: """
            JOB is the job file or the checkpoint (.sluice.db). The running sluice notices within a second, gives the requests in flight its --grace period, checkpoints and exits with code 130. Nothing finished is lost; unfinished items stay pending. A later `sluice run` of the job refuses to continue it unless --force is given, so a cancelled job is not restarted by accident (a cron line, a retry loop).

            A job that is not running is marked cancelled all the same, and its open provider batches (--mode batch or auto) are cancelled at the gateway (with the job's key, from its environment variable or key file), so they stop billing; the next run collects what they finished.

            Examples:
              sluice cancel jobs/nightly.json
              sluice cancel out/nightly.results.jsonl.sluice.db --wait
            """
    )

    @Argument(help: ArgumentHelp("The job file or its checkpoint.", valueName: "JOB"))
    var job: String

    @Flag(help: "Wait until the running sluice has stopped.")
    var wait = false

    func run() async throws {
        try await reportingErrors {
            // Every worker of a shared job watches the same note.
            let workers = try await withJob(job, role: .control) { _, store -> Int? in
                guard let shared = store as? any SharedCheckpointStore else { return nil }
                try await CancelWatcher.request(in: store)
                return try await shared.liveWorkers()
            }
            if let workers {
                try await cancelShared(liveWorkers: workers)
                return
            }
            let (checkpoint, pid, batches) = try await withJob(job, role: .control) { reference, store in
                try await CancelWatcher.request(in: store)
                let pid = JobLock.holder(checkpointPath: reference.checkpoint)
                var batches: [String] = []
                if pid == nil, let configuration = try await JobConfiguration.stored(in: store), !(try await store.batches(openOnly: true).isEmpty) {
                    do {
                        let key = try APIKeySource.resolve(
                            environmentVariable: configuration.apiKeyEnv, keyFile: configuration.apiKeyFile, baseURL: configuration.baseURL)
                        batches = try await BatchCanceller.cancelOpenBatches(
                            in: store, configuration: configuration, apiKey: key, logger: Logger(label: "sluice"))
                    } catch {
                        // The job is marked cancelled all the same; its batches run on at the gateway.
                        FileHandle.standardError.write(Data("sluice: could not cancel the job's open batches at the gateway: \(error)\n".utf8))
                    }
                }
                return (reference.checkpoint, pid, batches)
            }
            guard let pid else {
                print("sluice: job \(checkpoint) is not running; marked cancelled (run --force continues it)")
                if !batches.isEmpty { print("sluice: cancelled its open batches at the gateway: \(batches.joined(separator: ", "))") }
                return
            }
            print("sluice: asked the job running as pid \(pid) to stop")
            guard wait else { return }
            while JobLock.holder(checkpointPath: checkpoint) != nil { try await Task.sleep(for: .milliseconds(200)) }
            print("sluice: the job stopped")
        }
    }

    /// A PostgreSQL job: its workers see the note at their next look (within a second).
    private func cancelShared(liveWorkers: Int) async throws {
        guard liveWorkers > 0 else {
            print("sluice: job \(job) has no live worker; marked cancelled (run --force continues it)")
            return
        }
        print("sluice: asked the \(liveWorkers) live worker\(liveWorkers == 1 ? "" : "s") of the job to stop")
        guard wait else { return }
        while try await withJob(job, { _, store in try await (store as? any SharedCheckpointStore)?.liveWorkers() ?? 0 }) > 0 {
            try await Task.sleep(for: .milliseconds(500))
        }
        print("sluice: the job stopped")
    }
}
