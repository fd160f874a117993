import ArgumentParser
import SluiceCore

/// What turns a dataset that is not made of requests into requests: a prompt template filled from
/// each record (a JSON object per line, or a CSV/TSV row) and the field that keys each record.
struct DatasetOptions: ParsableArguments {
    @Option(help: .setting(\.template, valueName: "FILE"))
    var template: String?

    @Option(help: .setting(\.idField, valueName: "NAME"))
    var idField: String?

    @Option(help: .setting(\.gateway.promptID, valueName: "ID"))
    var promptId: String?

    @Option(help: .setting(\.gateway.promptVersion, valueName: "VERSION"))
    var promptVersion: String?

    @Option(help: .setting(\.embedBatch, valueName: "N"))
    var embedBatch: Int?

    func apply(to flags: inout JobFile) {
        flags.embedBatch = embedBatch
        flags.template = template.map { .file($0) }
        flags.idField = idField
        flags[\.gateway.promptID] = promptId
        flags[\.gateway.promptVersion] = promptVersion
    }
}
