import ArgumentParser
import SluiceCore

/// What an answer must be: JSON, or JSON matching a schema, and how often to ask again when it is not.
struct AnswerOptions: ParsableArguments {
    @Flag(help: "Every answer must be JSON; one that is not is asked again (--output-retries), then fails as invalid_output.")
    var expectJson = false

    @Option(
        help: ArgumentHelp(
            "A JSON Schema (draft 2020-12 subset, see docs/structured-outputs.md) every answer must match, e.g. --schema label.schema.json. Implies --expect-json.",
            valueName: "FILE"))
    var schema: String?

    @Option(
        help: ArgumentHelp(
            "How many times an answer that is not the JSON asked for is asked again before the item fails (default: \(JobConfiguration.Defaults.outputRetries)).",
            valueName: "N"))
    var outputRetries: Int?

    func apply(to flags: inout JobFile) {
        if expectJson { flags.expectJSON = true }
        flags.schema = schema.map { .string($0) }
        flags.outputRetries = outputRetries
    }
}
