import ArgumentParser
import SluiceCore

/// Streaming: asked for to measure time to first token and tokens per second,
/// not to change the results, which keep the shape of an unstreamed answer.
struct StreamingOptions: ParsableArguments {
    @Flag(help: .setting(\.stream))
    var stream = false

    func apply(to flags: inout JobFile) {
        if stream { flags.stream = true }
    }
}
