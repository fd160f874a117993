import ArgumentParser
import Foundation
import SluiceCore

/// `sluice cancel`: asks a running job to stop, through its checkpoint.
struct CancelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cancel",
        abstract: "Stop a running job: it drains its requests in flight and stops, resumable with run --force.",
        discussion: """
            JOB is the job file or the checkpoint (.sluice.db). The running sluice notices within a second, gives the requests in flight its --grace period, checkpoints and exits with code 130. Nothing finished is lost; unfinished items stay pending. A later `sluice run` of the job refuses to continue it unless --force is given, so a cancelled job is not restarted by accident (a cron line, a retry loop).

            A job that is not running is marked cancelled all the same.

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
            let (checkpoint, pid) = try await withJob(job, role: .control) { reference, store in
                try await CancelWatcher.request(in: store)
                return (reference.checkpoint, reference.checkpoint.contains("://") ? nil : JobLock.holder(checkpointPath: reference.checkpoint))
            }
            guard let pid else {
                print("sluice: job \(checkpoint) is not running; marked cancelled (run --force continues it)")
                return
            }
            print("sluice: asked the job running as pid \(pid) to stop")
            guard wait else { return }
            while JobLock.holder(checkpointPath: checkpoint) != nil { try await Task.sleep(for: .milliseconds(200)) }
            print("sluice: the job stopped")
        }
    }
}
