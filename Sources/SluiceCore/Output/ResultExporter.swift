import CSV
import Foundation

/// `sluice export`: the results as the checkpoint holds them right now, in
/// input order, in one of three shapes. It reads pages of 1,000 items through
/// the store, so it works on a running job (a reader takes no lock) and its
/// memory does not grow with the job.
///
/// ```swift
/// let exporter = ResultExporter(store: store, format: .flat, selection: .failed, jobProperties: ["team": "search"])
/// let written = try await exporter.export(to: OutputFile(path: "failed.jsonl.gz"))
/// ```
package struct ResultExporter: Sendable {
    package static let pageSize = 1000

    let store: any CheckpointStore
    let format: ExportFormat
    let selection: ExportSelection
    /// The job's properties: each item's are these with its line's own over them.
    let jobProperties: [String: String]
    /// Metadata fields written as their own CSV columns.
    let metadataColumns: [String]
    /// CSV cells that a spreadsheet would run as formulas are written as text (`SpreadsheetCell`); false
    /// (`--csv-raw`) keeps every byte, for pipelines that read the file as data.
    let neutralisesFormulas: Bool

    package init(
        store: any CheckpointStore, format: ExportFormat, selection: ExportSelection = .all, jobProperties: [String: String] = [:],
        metadataColumns: [String] = [], neutralisesFormulas: Bool = true
    ) {
        self.store = store
        self.format = format
        self.selection = selection
        self.jobProperties = jobProperties
        self.metadataColumns = metadataColumns
        self.neutralisesFormulas = neutralisesFormulas
    }

    package static let csvColumns = [
        "custom_id", "status", "model", "content", "prompt_tokens", "completion_tokens", "total_tokens", "latency_ms", "error_code",
        "error_message", "properties",
    ]

    /// Writes every selected finished item and commits the file; returns how many items it wrote.
    @discardableResult
    package func export(to file: OutputFile) async throws -> Int {
        var cursor = ResultCursor.start
        var written = 0
        if format == .csv { try file.write(try csvRows([Self.csvColumns + metadataColumns.map { "metadata." + $0 }])) }
        while true {
            let page = try await store.results(after: cursor, limit: Self.pageSize)
            guard let last = page.last else { break }
            cursor = last.position
            let rows = page.filter(isSelected)
            written += rows.count
            switch format {
            case .openaiBatch: try file.write(rows.flatMap(ResultLine.line(for:)))
            case .flat: try file.write(rows.flatMap(flatLine(for:)))
            case .csv: if !rows.isEmpty { try file.write(try csvRows(rows.map(csvFields(for:)))) }
            }
            if page.count < Self.pageSize { break }
        }
        try file.commit()
        return written
    }

    private func isSelected(_ row: ResultRow) -> Bool {
        switch selection {
        case .all: row.state == .succeeded || row.state == .failed
        case .succeeded: row.state == .succeeded
        case .failed: row.state == .failed
        }
    }

    /// The parts both flat shapes share.
    private struct Flat {
        var content: Any?
        var usage: Any?
        var properties: [String: String]
        var metadata: [String: Any]?
        var error: (code: String, message: String, status: Int?)?
    }

    private func flat(_ row: ResultRow) -> Flat {
        let body = row.response.flatMap { try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any] }
        var properties = jobProperties
        if let own = row.overrides?.properties { properties.merge(own) { _, line in line } }
        var result = Flat(
            content: nil, usage: body?["usage"], properties: properties,
            metadata: row.metadata.flatMap { try? JSONSerialization.jsonObject(with: Data($0)) as? [String: Any] })
        if row.state == .succeeded {
            result.content = body.flatMap(AnswerContent.content(of:))
        } else {
            let message = (body?["error"] as? [String: Any])?["message"] as? String
            result.error = (
                row.errorCode ?? row.httpStatus.map { "http_\($0)" } ?? "unknown",
                row.errorMessage ?? message ?? row.response.map { String(decoding: $0.prefix(500), as: UTF8.self) } ?? "", row.httpStatus
            )
        }
        return result
    }

    func flatLine(for row: ResultRow) -> [UInt8] {
        let item = flat(row)
        var out: [UInt8] = []
        func field(_ name: String, _ value: Any?) {
            out += Array(",\"\(name)\":".utf8)
            if let value, (try? JSONText.append(value, to: &out)) != nil { return }
            out += Array("null".utf8)
        }
        out += Array(#"{"custom_id":"#.utf8)
        JSONText.appendQuoted(row.customID, to: &out)
        field("status", row.state == .succeeded ? "succeeded" : "failed")
        field("content", item.content)
        field("parsed", Self.parsed(item.content))
        field("model", row.answeredModel)
        field("usage", item.usage)
        field("latency_ms", row.latencyMilliseconds.map { $0.rounded() })
        field("metadata", item.metadata)
        field("properties", item.properties.isEmpty ? nil : item.properties)
        if let error = item.error {
            var object: [String: Any] = ["code": error.code, "message": error.message]
            if let status = error.status { object["status"] = status }
            field("error", object)
        } else {
            field("error", nil)
        }
        out += Array("}\n".utf8)
        return out
    }

    /// An answer that is a JSON object or array (what structured outputs ask for), parsed, so a consumer
    /// of the flat export need not parse a string inside JSON; nil for prose.
    static func parsed(_ content: Any?) -> Any? {
        guard let text = content as? String, let first = text.utf8.first(where: { $0 > 0x20 }), first == UInt8(ascii: "{") || first == UInt8(ascii: "[")
        else { return nil }
        return try? JSONSerialization.jsonObject(with: Data(text.utf8))
    }

    func csvFields(for row: ResultRow) -> [String] {
        let item = flat(row)
        func text(_ value: Any?) -> String {
            switch value {
            case nil, is NSNull: return ""
            case let string as String: return string
            case let value?: return (try? JSONText.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? ""
            }
        }
        let properties = item.properties.isEmpty ? "" : text(item.properties)
        func number(_ value: Int?) -> String { value.map(String.init) ?? "" }
        let latency = row.latencyMilliseconds.map { String(Int($0.rounded())) } ?? ""
        var fields: [String] = [row.customID, row.state == .succeeded ? "succeeded" : "failed", row.answeredModel ?? "", text(item.content)]
        fields += [number(row.promptTokens), number(row.completionTokens), number(row.totalTokens), latency]
        fields += [item.error?.code ?? "", item.error?.message ?? "", properties]
        for column in metadataColumns { fields.append(text(item.metadata?[column])) }
        return neutralisesFormulas ? fields.map(SpreadsheetCell.neutralised) : fields
    }

    /// Quoted by CSV.swift's writer; one writer per page, each page ending its last line.
    private func csvRows(_ rows: [[String]]) throws -> [UInt8] {
        let stream = OutputStream(toMemory: ())
        stream.open()
        let writer = try CSVWriter(stream: stream)
        for row in rows { try writer.write(row: row) }
        stream.close()
        guard let data = stream.property(forKey: .dataWrittenToMemoryStreamKey) as? Data else { return [] }
        return Array(data) + [UInt8(ascii: "\n")]
    }
}
