import Foundation
import Testing

/// `sluice status` (text and `--json`) and `sluice report` show every provider batch: its id, state, lines
/// by outcome, times and note, read from the checkpoint of a real batch-mode run against sluice-mock.
@Suite(.serialized)
struct BatchStatusTests {
    func statusJSON(_ checkpoint: String) async throws -> [String: Any] {
        let status = try await runSluice(["status", checkpoint, "--json"])
        #expect(status.status == 0, "\(status.stderr)")
        return try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any] ?? [:]
    }

    @Test func statusAndTheReportListEveryBatchWithItsLinesAndNote() async throws {
        let mock = try await MockGatewayProcess(["--batch-seconds", "0.2", "--batch-duplicate-line"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 30)
        let run = try await runSluice([
            "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--mode", "batch", "--batch-max-lines", "10",
            "--poll-interval", "0.1",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let checkpoint = dir.file("in.results.jsonl.sluice.db")
        let batches = try await statusJSON(checkpoint)["batches"] as? [[String: Any]] ?? []
        #expect(batches.count == 3, "\(batches)")
        for batch in batches {
            #expect((batch["id"] as? String)?.hasPrefix("batch_") == true, "\(batch)")
            #expect(batch["state"] as? String == "done" && batch["lines"] as? Int == 10, "\(batch)")
            #expect(batch["succeeded"] as? Int == 10 && batch["failed"] as? Int == 0 && batch["returned"] as? Int == 0, "\(batch)")
            #expect(batch["created_at"] is String && batch["finished_at"] is String && batch["input_file_id"] is String, "\(batch)")
            #expect((batch["note"] as? String)?.contains("duplicated custom_id line ignored") == true, "\(batch)")
        }

        let text = try await runSluice(["status", checkpoint])
        let lines = text.stdout.split(separator: "\n").filter { $0.contains("10 lines: 10 succeeded, 0 failed") }
        #expect(lines.count == 3 && lines[0].hasPrefix("batch      batch_"), "\(text.stdout)")

        let report = dir.file("report.html")
        let made = try await runSluice(["report", checkpoint, "--html", report])
        #expect(made.status == 0, "\(made.stderr)")
        let html = try String(contentsOfFile: report, encoding: .utf8)
        #expect(html.contains("<table id=\"batch-list\">"))
        #expect(html.components(separatedBy: "data-batch=\"batch_").count - 1 == 3, "one row per batch")
        #expect(html.components(separatedBy: "data-succeeded=\"10\"").count - 1 == 3)
    }

    /// A batch that failed as a whole: its lines show as failed under it, and its note says why.
    @Test func aFailedBatchShowsItsFailedLinesAndWhy() async throws {
        let mock = try await MockGatewayProcess(["--batch-seconds", "0.2", "--batch-fail", "1"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 20)
        let run = try await runSluice([
            "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--mode", "batch", "--poll-interval", "0.1",
            "--max-attempts", "1",
        ])
        #expect(run.status == 1, "\(run.stderr)")
        let batches = try await statusJSON(dir.file("in.results.jsonl.sluice.db"))["batches"] as? [[String: Any]] ?? []
        #expect(batches.count == 1, "\(batches)")
        #expect(batches.first?["failed"] as? Int == 20 && batches.first?["succeeded"] as? Int == 0, "\(batches)")
        #expect((batches.first?["note"] as? String)?.isEmpty == false, "\(batches)")
    }

    /// A job that never opened a batch has no batches field at all.
    @Test func aLiveJobHasNoBatches() async throws {
        let mock = try await MockGatewayProcess([])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 5)
        let run = try await runSluice(["run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try await statusJSON(dir.file("in.results.jsonl.sluice.db"))["batches"] == nil)
    }
}
