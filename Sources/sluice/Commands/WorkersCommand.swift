import ArgumentParser
import Foundation
import SluiceCore

/// `sluice workers`: who is working on a shared (PostgreSQL) job.
struct WorkersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "workers",
        abstract: "List the workers of a job kept in PostgreSQL: live or recently stopped, with their leases and rates.",
        discussion: """
            JOB is the job's postgres:// URL (with ?job=NAME) or a job file whose checkpoint is one. A worker is live while its heartbeat (every third of the lease) is younger than the lease; one that stopped beating without saying so (killed, cut off) shows as "lost" until its leases expire and other workers take its items.

            Columns: worker (host:pid:tag), state (live, planning, stopped, lost), leases held, requests/s over the last heartbeat, requests sent, items finished, late answers (answers that came after its lease was taken over: counted, never stored), items it took over from lost workers, seconds since its last heartbeat.

            Examples:
              sluice workers 'postgres://sluice@db.internal:5432/batch?job=nightly'
              sluice workers jobs/nightly.json --json
            """
    )

    @Argument(help: ArgumentHelp("The job's postgres:// URL or its job file.", valueName: "JOB"))
    var job: String

    @Option(help: ArgumentHelp("Also show workers that stopped within this many seconds.", valueName: "SECONDS"))
    var recent: Double = 3600

    @Flag(help: "Print a JSON array of the workers.")
    var json = false

    func validate() throws {
        guard recent >= 0 else { throw ValidationError("--recent must be zero or more seconds") }
    }

    func run() async throws {
        try await reportingErrors {
            let (workers, lease) = try await withJob(job) { reference, store in
                guard let shared = store as? any SharedCheckpointStore else {
                    throw SluiceError(
                        .configuration, "\(reference.checkpoint): an SQLite checkpoint has one worker, the process holding its lock (see sluice list)")
                }
                return (try await shared.workers(seenWithin: recent), shared.leaseSeconds)
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(workers), as: UTF8.self))
                return
            }
            guard !workers.isEmpty else {
                print("sluice: no workers in the last \(Int(recent)) s")
                return
            }
            print("worker".padding(toLength: 36, withPad: " ", startingAt: 0) + "  state     leases   req/s     sent  finished  late  taken  seen")
            for worker in workers {
                let state =
                    worker.stopped ? "stopped" : worker.seenSecondsAgo > lease ? "lost" : worker.planning ? "planning" : "live"
                let columns = [
                    state.padding(toLength: 8, withPad: " ", startingAt: 0), pad(worker.leases, 6), String(format: "%7.1f", worker.requestsPerSecond),
                    pad(worker.sent, 8), pad(worker.finished, 9), pad(worker.lateAnswers, 5), pad(worker.takenOver, 6),
                    String(format: "%4.0fs", worker.seenSecondsAgo),
                ]
                print(worker.id.padding(toLength: 36, withPad: " ", startingAt: 0) + "  " + columns.joined(separator: "  "))
            }
        }
    }

    private func pad(_ number: Int, _ width: Int) -> String {
        let text = String(number)
        return String(repeating: " ", count: max(0, width - text.count)) + text
    }
}
