import ArgumentParser
import Foundation
import SluiceCore

/// `sluice report`: one self-contained HTML page about a job, from its checkpoint.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write a self-contained HTML report of a job: summary, charts over time, usage by model and property, slowest and failed items.",
        discussion: """
            JOB is the job file or the checkpoint (.sluice.db). Works while the job runs (the checkpoint is read, never locked) and after it.

            The page is one file that fetches nothing (inline styles, charts as inline SVG, no script), so it opens offline, can be mailed or attached to a ticket, and prints. It shows the summary `sluice status` shows; requests and finished items per minute with the concurrency limit over time; a latency histogram; failed attempts over time by class; tokens and cost by model and by property value; the slowest items; and the failed items with their messages. The charts over time need the per-minute history sluice records in the checkpoint while a job runs.

            Times are shown in the local time zone, with its offset; set TZ (e.g. TZ=UTC) for another.

            Examples:
              sluice report jobs/nightly.json --html nightly.html
              sluice report out/nightly.results.jsonl.sluice.db --html - > report.html
              sluice report jobs/nightly.json --html nightly.html --price gpt-4o-mini=0.15,0.60 --failed 500
            """
    )

    @Argument(help: ArgumentHelp("The job file or its checkpoint.", valueName: "JOB"))
    var job: String

    @Option(
        help: ArgumentHelp(
            "Where to write the page: a path (written under a temporary name and renamed when complete), or - for standard output.",
            valueName: "PATH"))
    var html: String

    @Option(
        name: .customLong("price"),
        help: ArgumentHelp(
            "Price a model differently from the job (repeatable), per million tokens, e.g. --price gpt-4o-mini=0.15,0.60.", valueName: "MODEL=IN,OUT[,CACHED]"))
    var prices: [ModelPrice] = []

    @Option(help: ArgumentHelp("How many of the slowest answered items to list.", valueName: "N"))
    var slowest = 20

    @Option(help: ArgumentHelp("How many failed items to list with their messages, in input order (the page says how many more there are).", valueName: "N"))
    var failed = 100

    func validate() throws {
        if html.isEmpty { throw ValidationError("--html needs a path, or - for standard output") }
        if slowest < 0 || failed < 0 { throw ValidationError("--slowest and --failed take a count of 0 or more") }
    }

    func run() async throws {
        try await reportingErrors {
            let page = try await withJob(job) { reference, store in
                if html != "-" {
                    var settings = reference.configuration
                    if settings == nil { settings = try await JobConfiguration.stored(in: store) }
                    try OwnedFiles.refuseOverwritingJob(writing: html, as: "--html", argument: job, reference: reference, settings: settings)
                }
                let collector = JobStatusCollector(
                    store: store, configuration: reference.configuration, prices: try await priceTable(store: store, reference: reference))
                let collected = try await collector.collectAll(slowestLimit: slowest, failedLimit: failed)
                return HTMLReport(collected: collected, history: try await store.history()).render()
            }
            let data = Data(page.utf8)
            if html == "-" {
                FileHandle.standardOutput.write(data)
                return
            }
            let folder = (html as NSString).deletingLastPathComponent
            var isFolder: ObjCBool = false
            if !folder.isEmpty && !(FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) && isFolder.boolValue) {
                throw SluiceError(.output, "\(html): cannot write the report: there is no folder \(folder)")
            }
            // Under a private temporary name (never through a symlink), mode 0600, renamed into place when complete.
            let file = try OutputFile(path: html, what: "report")
            try file.write(Array(data))
            try file.commit()
            FileHandle.standardError.write(Data("sluice: wrote the report to \(html) (\(max(data.count / 1024, 1)) KB)\n".utf8))
        }
    }

    /// The job's prices, with `--price` over them (as `sluice status` does).
    private func priceTable(store: any CheckpointStore, reference: JobReference) async throws -> PriceTable? {
        guard !prices.isEmpty else { return nil }
        var own = reference.configuration
        if own == nil { own = try await JobConfiguration.stored(in: store) }
        return PriceTable(overrides: (own?.prices ?? [:]).merging(prices.map { ($0.model, $0.price) }) { _, flag in flag })
    }
}
