import ArgumentParser
import Foundation
import SluiceCore

/// `sluice export`: results from the checkpoint at any time, also while the job runs.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a job's results from its checkpoint, at any time (also while it runs).",
        discussion: """
            JOB is the job file or the checkpoint (.sluice.db). Items are written in input order; items not finished yet are left out.

            Formats:
              openai-batch  as `sluice run` writes its results (the OpenAI batch output format)
              flat          one object per item: custom_id, status, content (the answer text, or the embedding), model, usage, latency_ms, metadata, properties, error
              csv           the flat fields as columns (RFC 4180 quoting); --metadata-column adds metadata fields as columns

            Examples:
              sluice export jobs/nightly.json --format flat --output - | jq -r .content
              sluice export jobs/nightly.json --only failed --output failed.jsonl.gz
              sluice export out/nightly.results.jsonl.sluice.db --format csv --metadata-column source --output answers.csv
            """
    )

    @Argument(help: ArgumentHelp("The job file or its checkpoint.", valueName: "JOB"))
    var job: String

    @Option(help: "Output shape.")
    var format: ExportFormat = .openaiBatch

    @Option(help: ArgumentHelp("Which finished items to write.", valueName: "all|succeeded|failed"))
    var only: ExportSelection = .all

    @Option(
        help: ArgumentHelp(
            "Where to write: a path (.gz compresses; written under a temporary name and renamed when complete), or - for standard output.",
            valueName: "PATH"))
    var output: String

    @Option(
        name: .customLong("metadata-column"),
        help: ArgumentHelp("With --format csv: a metadata field to write as its own column (repeatable), e.g. --metadata-column source.", valueName: "FIELD"))
    var metadataColumns: [String] = []

    @Flag(help: "With --format csv: keep cells beginning with = + - @ as they are (by default a ' makes them text: spreadsheets run them).")
    var csvRaw = false

    func validate() throws {
        if !metadataColumns.isEmpty && format != .csv { throw ValidationError("--metadata-column applies to --format csv only") }
        if csvRaw && format != .csv { throw ValidationError("--csv-raw applies to --format csv only") }
        if output.isEmpty { throw ValidationError("--output needs a path, or - for standard output") }
    }

    func run() async throws {
        try await reportingErrors {
            let written = try await withJob(job) { reference, store in
                var settings = reference.configuration
                if settings == nil { settings = try await JobConfiguration.stored(in: store) }
                if output != "-" {
                    try OwnedFiles.refuseOverwritingJob(writing: output, as: "export --output", argument: job, reference: reference, settings: settings)
                }
                let exporter = ResultExporter(
                    store: store, format: format, selection: only, jobProperties: settings?.gateway.properties ?? [:],
                    metadataColumns: metadataColumns, neutralisesFormulas: !csvRaw)
                return try await exporter.export(to: output == "-" ? OutputFile.standardOutput() : OutputFile(path: output))
            }
            if output != "-" {
                FileHandle.standardError.write(Data("sluice: wrote \(written) item\(written == 1 ? "" : "s") to \(output)\n".utf8))
            }
        }
    }
}
