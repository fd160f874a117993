import ArgumentParser
import Foundation
import SluiceCore

/// `sluice status`: where a job stands, read from its checkpoint.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show where a job stands: progress, tokens, cost, latency, errors by class, usage by property.",
        discussion: """
            JOB is the job file or the checkpoint (.sluice.db). Works while the job runs (the checkpoint is read, never locked) and after it.

            Examples:
              sluice status jobs/nightly.json
              sluice status out/nightly.results.jsonl.sluice.db --json | jq .cost.total_usd
              watch -n 5 sluice status jobs/nightly.json

            --json prints one object whose schema ("schema": "sluice.status/1") only ever gains fields; docs/operating.md ("status --json") documents each one.
            """
    )

    @Argument(help: ArgumentHelp("The job file or its checkpoint.", valueName: "JOB"))
    var job: String

    @Flag(help: "Print the status as JSON (stable schema sluice.status/1).")
    var json = false

    @Option(
        name: .customLong("price"),
        help: ArgumentHelp(
            "Price a model differently from the job (repeatable), per million tokens, e.g. --price gpt-4o-mini=0.15,0.60.", valueName: "MODEL=IN,OUT[,CACHED]"))
    var prices: [ModelPrice] = []

    func run() async throws {
        try await reportingErrors {
            let status = try await withJob(job) { reference, store in
                try await JobStatusCollector(store: store, configuration: reference.configuration, prices: try priceTable(store: store, reference: reference))
                    .collect()
            }
            print(json ? status.json() : status.text())
        }
    }

    /// The job's prices, with `--price` over them.
    private func priceTable(store: any CheckpointStore, reference: JobReference) async throws -> PriceTable? {
        guard !prices.isEmpty else { return nil }
        var own = reference.configuration
        if own == nil { own = try await JobConfiguration.stored(in: store) }
        return PriceTable(overrides: (own?.prices ?? [:]).merging(prices.map { ($0.model, $0.price) }) { _, flag in flag })
    }
}
