import ArgumentParser
import Foundation
import SluiceCore

/// `sluice list`: the jobs under a folder.
struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the jobs (checkpoints) found under a folder, or kept in a PostgreSQL database, one line each.",
        discussion: """
            Each line: state (running, finished, stopped, cancelled), progress, items done of total, failed items, cost at the job's prices, time since the checkpoint last changed, the job's name and its checkpoint.

            Examples:
              sluice list
              sluice list out --json
              sluice list postgres://sluice@db.internal:5432/batch      (every job in that database; password from PGPASSWORD or ~/.pgpass)
            """
    )

    @Argument(
        help: ArgumentHelp(
            "Folder to search (with its subfolders; hidden and .build folders skipped), or a postgres:// URL naming a database.", valueName: "DIR"))
    var directory: String = "."

    @Flag(help: "Print a JSON array of the entries.")
    var json = false

    func run() async throws {
        try await reportingErrors {
            var checkpoints: [String]
            if PostgresLocation.isPostgres(directory) {
                checkpoints = try await PostgresCheckpointStore.jobs(in: try PostgresLocation(parsing: directory, requireJob: false))
            } else {
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                    throw SluiceError(.configuration, "\(directory): no such folder")
                }
                checkpoints = CheckpointFiles.under(directory)
            }
            var entries: [JobListing.Entry] = []
            for checkpoint in checkpoints {
                do {
                    entries.append(try await JobListing.entry(for: checkpoint))
                } catch let error as SluiceError {
                    // An unrelated SQLite file, or one this sluice cannot read: say so and go on.
                    FileHandle.standardError.write(Data("sluice: skipped \(checkpoint): \(error.message)\n".utf8))
                }
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(entries), as: UTF8.self))
            } else if entries.isEmpty {
                print("sluice: no jobs under \(directory)")
            } else {
                entries.forEach { print($0.line()) }
            }
        }
    }
}
