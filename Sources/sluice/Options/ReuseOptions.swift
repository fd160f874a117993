import ArgumentParser
import SluiceCore

/// Paying once per distinct request: dedup within the job, answers from earlier jobs, and idempotency
/// keys for gateways that honour them.
struct ReuseOptions: ParsableArguments {
    @Flag(help: "Send every item's request even when another item's is identical (by default identical requests are sent once and share the answer).")
    var noDedup = false

    @Option(
        help: ArgumentHelp(
            "An earlier job's checkpoint, or a folder of them (repeatable): a request identical to one answered there takes that answer instead of being sent, e.g. --reuse runs/monday.results.jsonl.sluice.db.",
            valueName: "PATH"))
    var reuse: [String] = []

    @Flag(help: "Send a stable Idempotency-Key per item (the same across its retries and resumes), for gateways that honour it.")
    var idempotencyKey = false

    func apply(to flags: inout JobFile) {
        if noDedup { flags.dedup = false }
        flags.reuse = reuse.isEmpty ? nil : reuse
        if idempotencyKey { flags.idempotencyKey = true }
    }
}
