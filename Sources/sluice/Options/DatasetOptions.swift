import ArgumentParser
import SluiceCore

/// What turns a dataset that is not made of requests into requests: a prompt template filled from
/// each record (a JSON object per line, or a CSV/TSV row) and the field that keys each record.
struct DatasetOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Prompt template: a JSON file {\"system\": \"...\", \"user\": \"... {{field}} ...\"} (Mustache, not HTML-escaped) filled from each input record; inputs may then be any JSON objects, or CSV/TSV files with a header row, e.g. --template prompts/label.json.",
            valueName: "FILE"))
    var template: String?

    @Option(
        help: ArgumentHelp(
            "The record field that keys each item in the results (default: file:line, or file:row for CSV), e.g. --id-field ticket_id.",
            valueName: "NAME"))
    var idField: String?

    @Option(
        help: ArgumentHelp(
            "Floopy's server-side prompt, sent as floopy-prompt-id: lines then carry {\"inputs\": {...}} that fill it (a line's own \"prompt_id\" wins).",
            valueName: "ID"))
    var promptId: String?

    @Option(help: ArgumentHelp("The version of --prompt-id to use (floopy-prompt-version); the gateway's current one otherwise.", valueName: "VERSION"))
    var promptVersion: String?

    @Option(
        help: ArgumentHelp(
            "Embedding items (/v1/embeddings, one string input each) packed into one request of up to N inputs; the vectors are split back and each item is checkpointed on its own (default 1), e.g. --embed-batch 256.",
            valueName: "N"))
    var embedBatch: Int?

    func apply(to flags: inout JobFile) {
        flags.embedBatch = embedBatch
        flags.template = template.map { .file($0) }
        flags.idField = idField
        flags.promptID = promptId
        flags.promptVersion = promptVersion
    }
}
