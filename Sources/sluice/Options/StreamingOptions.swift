import ArgumentParser
import SluiceCore

/// Streaming: asked for to measure time to first token and tokens per second,
/// not to change the results, which keep the shape of an unstreamed answer.
struct StreamingOptions: ParsableArguments {
    @Flag(
        help: ArgumentHelp(
            "Stream chat completions (stream: true, stream_options.include_usage) and assemble each into a normal chat.completion for the results; status and the report then show time to first token and tokens per second. Lines with \"stream\": true are accepted. Other endpoints (embeddings, completions, responses) are sent unstreamed."
        ))
    var stream = false

    func apply(to flags: inout JobFile) {
        if stream { flags.stream = true }
    }
}
