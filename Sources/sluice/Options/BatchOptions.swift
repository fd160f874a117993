import ArgumentParser
import SluiceCore

/// Provider batch mode: half price for work that can wait, through the gateway's Files and Batches API.
struct BatchOptions: ParsableArguments {
    @Option(help: .setting(\.mode, valueName: "MODE"))
    var mode: JobMode?

    @Option(help: .setting(\.batchMaxLines, valueName: "N"))
    var batchMaxLines: Int?

    @Option(help: .setting(\.batchMaxBytes, valueName: "BYTES"))
    var batchMaxBytes: Int?

    @Option(help: .setting(\.batchMaxEnqueuedTokens, valueName: "N"))
    var batchMaxEnqueuedTokens: Int?

    @Option(help: .setting(\.pollInterval, valueName: "SECONDS"))
    var pollInterval: Double?

    @Option(help: .setting(\.deadline, valueName: "WHEN"))
    var deadline: String?

    @Option(help: .setting(\.batchProvider, valueName: "NAME"))
    var batchProvider: String?

    func apply(to flags: inout JobFile) {
        flags.mode = mode
        flags.batchMaxLines = batchMaxLines
        flags.batchMaxBytes = batchMaxBytes
        flags.batchMaxEnqueuedTokens = batchMaxEnqueuedTokens
        flags.pollInterval = pollInterval
        flags.deadline = deadline
        flags.batchProvider = batchProvider
    }
}
