import ArgumentParser
import Foundation
import SluiceCore

/// `sluice list`: the jobs under a folder.
struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the jobs (checkpoints) found under a folder, one line each.",
        discussion: """
            Each line: state (running, finished, stopped, cancelled), progress, items done of total, failed items, cost at the job's prices, time since the checkpoint last changed, the job's name and its checkpoint.

            Examples:
              sluice list
              sluice list out --json
            """
    )

    @Argument(help: ArgumentHelp("Folder to search (with its subfolders; hidden and .build folders skipped).", valueName: "DIR"))
    var directory: String = "."

    @Flag(help: "Print a JSON array of the entries.")
    var json = false

    func run() async throws {
        try await reportingErrors {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw SluiceError(.configuration, "\(directory): no such folder")
            }
            var entries: [JobListing.Entry] = []
            for checkpoint in JobListing.checkpoints(under: directory) {
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
