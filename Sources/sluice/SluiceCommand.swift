import ArgumentParser

/// `sluice`: push large JSONL prompt datasets through an OpenAI-compatible gateway.
@main
struct SluiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluice",
        abstract: "Run large JSONL prompt datasets through an OpenAI-compatible LLM gateway, resumably.",
        discussion: """
            sluice reads JSONL or CSV prompt files (plain or gzip), sends them through a gateway such as Floopy (https://api.floopy.ai/v1) with adaptive, bounded concurrency, retries and fallback models (live, or through a provider's Batch API), checkpoints every result in SQLite (or PostgreSQL, for several workers on one job), and resumes an interrupted job exactly where it stopped.

            Examples:
              FLOOPY_API_KEY=fp_... sluice run jobs/floopy-example.json
              sluice run --input prompts.jsonl.gz --model gpt-4o-mini --property batch=nightly
              sluice run --input evals.jsonl --base-url http://127.0.0.1:4000/v1 --api-key-env LITELLM_KEY

            Exit codes: 0 all items succeeded; 1 some items failed; 2 usage, configuration or authentication error; 3 stopped at the --max-cost cap; 64 a command line that cannot be parsed; 130/143 interrupted by SIGINT/SIGTERM or sluice cancel (run again to resume).
            """,
        version: SluiceVersion.description,
        subcommands: [
            RunCommand.self, StatusCommand.self, ExportCommand.self, RetryFailedCommand.self, ValidateCommand.self, ListCommand.self,
            CancelCommand.self, ReportCommand.self, WorkersCommand.self,
        ],
        defaultSubcommand: nil
    )

    /// Before any thread allocates: see `MallocArenas`.
    static func main() async {
        MallocArenas.limitToCores()
        await main(nil)
    }
}
