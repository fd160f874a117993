import ArgumentParser
import SluiceCore

/// Paying once per distinct request: dedup within the job, answers from earlier jobs, and idempotency
/// keys for gateways that honour them.
struct ReuseOptions: ParsableArguments {
    @Flag(help: .setting(\.dedup))
    var noDedup = false

    @Option(help: .setting(\.reuse, valueName: "PATH"))
    var reuse: [String] = []

    @Flag(help: .setting(\.idempotencyKey))
    var idempotencyKey = false

    func apply(to flags: inout JobFile) {
        if noDedup { flags.dedup = false }
        flags.reuse = reuse.isEmpty ? nil : reuse
        if idempotencyKey { flags.idempotencyKey = true }
    }
}
