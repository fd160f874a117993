import ArgumentParser
import SluiceCore

/// Provider batch mode: half price for work that can wait, through the gateway's Files and Batches API.
struct BatchOptions: ParsableArguments {
    typealias Defaults = JobConfiguration.Defaults

    @Option(
        help: ArgumentHelp(
            "live (each item a request, the default), batch (provider batches through the gateway's Files and Batches API, about half price, within 24 h) or auto (batches, and live for lines a batch fails, expires or still holds at --deadline).",
            valueName: "MODE"))
    var mode: JobMode?

    @Option(
        help: ArgumentHelp("Most lines in one batch input file (default: \(Defaults.batchMaxLines), OpenAI's limit; Anthropic's is 100,000).", valueName: "N"))
    var batchMaxLines: Int?

    @Option(help: ArgumentHelp("Most bytes in one batch input file (default: \(Defaults.batchMaxBytes), 200 MB).", valueName: "BYTES"))
    var batchMaxBytes: Int?

    @Option(
        help: ArgumentHelp(
            "Seconds between the first polls of a batch (default: \(Int(Defaults.pollInterval))); the interval grows for long batches, up to 5 minutes.",
            valueName: "SECONDS"))
    var pollInterval: Double?

    @Option(
        help: ArgumentHelp(
            "With --mode auto: batches still unfinished this long after their creation (90m, 6h, 2d) or at this ISO 8601 time are cancelled and their lines sent live.",
            valueName: "WHEN"))
    var deadline: String?

    @Option(help: ArgumentHelp("Floopy's provider for batches, sent as floopy-provider: openai or anthropic.", valueName: "NAME"))
    var batchProvider: String?

    func apply(to flags: inout JobFile) {
        flags.mode = mode
        flags.batchMaxLines = batchMaxLines
        flags.batchMaxBytes = batchMaxBytes
        flags.pollInterval = pollInterval
        flags.deadline = deadline
        flags.batchProvider = batchProvider
    }
}
