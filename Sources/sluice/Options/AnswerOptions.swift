import ArgumentParser
import SluiceCore

/// What an answer must be: JSON, or JSON matching a schema, and how often to ask again when it is not.
struct AnswerOptions: ParsableArguments {
    @Flag(help: .setting(\.expectJSON))
    var expectJson = false

    @Option(help: .setting(\.schema, valueName: "FILE"))
    var schema: String?

    @Option(help: .setting(\.outputRetries, valueName: "N"))
    var outputRetries: Int?

    @Option(help: .setting(\.reask, valueName: "HOW"))
    var reask: ReaskMode?

    @Option(help: .setting(\.reaskMessage, valueName: "TEMPLATE"))
    var reaskMessage: String?

    func apply(to flags: inout JobFile) {
        if expectJson { flags.expectJSON = true }
        flags.schema = schema.map { .string($0) }
        flags.outputRetries = outputRetries
        flags.reask = reask
        flags.reaskMessage = reaskMessage
    }
}
