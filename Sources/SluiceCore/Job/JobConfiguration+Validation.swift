import Foundation

extension JobConfiguration {
    /// Each setting's own check (its row in `settings`), then the checks that weigh settings against each other.
    package func validate() throws {
        func fail(_ message: String) -> SluiceError { SluiceError(.configuration, message) }
        for setting in Self.settings {
            if let problem = setting.check(self) { throw fail(problem) }
        }
        guard let url = URL(string: baseURL), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
            let host = url.host, !host.isEmpty
        else {
            throw fail("base URL must be an http(s) URL such as \(Defaults.baseURL), got \"\(baseURL)\"")
        }
        if scheme == "http", httpVersion == .http2 {
            throw fail("--http-version 2 needs an https base URL (sluice speaks HTTP/2 over TLS only), got \"\(baseURL)\"")
        }
        if scheme == "http", !Self.isLoopback(host), !allowInsecureHTTP {
            throw fail("refusing to send the API key over plain http to \(host); use https, or pass --allow-insecure-http if this network is trusted")
        }
        // Compared as files, not spellings (`./x`, symlinks, hard links): see OwnedFiles.
        try OwnedFiles(job: self).refuseClashes()
        for (model, price) in prices where !(price.input >= 0 && price.output >= 0 && (price.cachedInput ?? 0) >= 0) {
            throw fail("the price of \(model) must not be negative")
        }
        if let maxCost, let model = ([model].compactMap { $0 } + gateway.fallback).first(where: { priceTable.price(for: $0) == nil }) {
            throw fail("--max-cost \(maxCost) needs a price for \(model): give one with --price \(model)=IN,OUT or the job file's \"prices\"")
        }
        for name in [model].compactMap({ $0 }) + gateway.fallback where name.contains(",") || name.isEmpty {
            throw fail(
                name.isEmpty
                    ? "a model name is empty"
                    : "model \"\(name)\" contains a comma, which some gateways read as a fallback list; name one model, and fallbacks with --fallback")
        }
        if let template { _ = try TemplateRenderer(template) }
        _ = try answerChecker()
        if mode != .live { try validateBatches() }
        if idField != nil, template == nil { throw fail("--id-field names a record field, which only a template reads (--template)") }
        if template == nil, let csv = inputs.first(where: CSVRecordReader.handles) {
            throw fail("\(csv): a CSV or TSV input needs a template to turn its rows into prompts (--template)")
        }
        try checkHeaders()
        try checkGatewayProfile()
    }

    /// Provider batches' settings, checked only when the job uses them.
    private func validateBatches() throws {
        func fail(_ message: String) -> SluiceError { SluiceError(.configuration, message) }
        guard batchMaxLines >= 1, batchMaxBytes >= 1024 else { throw fail("a batch file needs at least 1 line and 1024 bytes") }
        guard pollInterval > 0 else { throw fail("the poll interval must be more than 0 seconds") }
        if let deadline, Self.deadlineDate(deadline, from: Date()) == nil {
            throw fail("--deadline \(deadline): give a duration such as 90m, 6h, 2d or 3600s, or an ISO 8601 time")
        }
        if mode == .batch, deadline != nil {
            throw fail("--deadline sends what a batch still holds live, which only --mode auto does")
        }
        if let provider = batchProvider, !["openai", "anthropic"].contains(provider) {
            throw fail("--batch-provider must be openai or anthropic, got \(provider)")
        }
    }
}
