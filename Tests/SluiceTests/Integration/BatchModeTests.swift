import Foundation
import Testing

/// Provider batch mode against sluice-mock's Files and Batches API: one result per item, nothing answered
/// twice across crashes, failed and expired lines sent live in `auto` mode.
@Suite(.serialized)
struct BatchModeTests {
    struct BatchStats {
        var raw: [String: Any]
        var created: Int { raw["batches_created"] as? Int ?? -1 }
        var uploaded: Int { raw["files_uploaded"] as? Int ?? -1 }
        var answeredTwice: Int { raw["custom_ids_answered_twice"] as? Int ?? -1 }
        var linesAnswered: Int { raw["lines_answered"] as? Int ?? -1 }
        var providers: [String: Int] { raw["providers"] as? [String: Int] ?? [:] }
    }

    func batchStats(_ mock: MockGatewayProcess) async throws -> (batch: BatchStats, live: Int, bodies: [String: Int]) {
        let stats = try await mock.stats()
        return (BatchStats(raw: stats.raw["batch"] as? [String: Any] ?? [:]), stats.totalRequests, stats.bodies)
    }

    func ids(_ path: String) throws -> [String] { try readJSONLines(path).compactMap { $0["custom_id"] as? String } }

    @Test func aLargeJobIsSplitIntoBatchesAndEveryItemAnsweredOnceInInputOrder() async throws {
        let mock = try await MockGatewayProcess(["--batch-seconds", "0.5"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 20_000)
        let run = try await runSluice(
            [
                "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--mode", "batch", "--batch-max-lines", "6000",
                "--poll-interval", "0.2", "--price", "m=1,2",
            ], timeout: 300)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("batches    4 created, 4 finished in this run · 20000 items answered in batches"), "\(run.stdout)")
        #expect(run.stdout.contains("saved $"), "\(run.stdout)")
        let (batch, live, bodies) = try await batchStats(mock)
        #expect(batch.created == 4 && batch.answeredTwice == 0 && live == 0)
        #expect(bodies.count == 20_000 && bodies.values.allSatisfy { $0 == 1 })
        #expect(try ids(dir.file("in.results.jsonl")) == (0..<20_000).map { "i\($0)" })
        let status = try await runSluice(["status", dir.file("in.results.jsonl.sluice.db"), "--json"])
        let cost = (try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])?["cost"] as? [String: Any]
        #expect(cost?["batch_items"] as? Int == 20_000, "\(status.stdout.prefix(400))")
        // Half price: what was saved equals what was paid.
        let saved = cost?["batch_savings_usd"] as? Double ?? 0
        #expect(saved > 0 && abs(saved - (cost?["total_usd"] as? Double ?? 0)) < 1e-6, "\(String(describing: cost))")
    }

    /// SIGKILL at each moment that matters, then the same command again.
    @Test(arguments: ["batch-uploaded", "batch-recorded", "batch-created", "batch-polled", "batch-downloaded", "batch-committed"])
    func aCrashAtAnyStepNeitherLosesNorRepeatsABatch(_ point: String) async throws {
        let mock = try await MockGatewayProcess(["--batch-seconds", "0.3"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 300)
        let arguments = [
            "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--mode", "batch", "--poll-interval", "0.1",
        ]
        let crashed = try await runSluice(arguments, environment: ["SLUICE_CRASH_AT": point])
        #expect(crashed.status == 9, "killed at \(point): \(crashed.stderr)")
        let resumed = try await runSluice(arguments)
        #expect(resumed.status == 0, "\(point): \(resumed.stderr)")
        let (batch, live, bodies) = try await batchStats(mock)
        // Only a file uploaded but never recorded is uploaded again; no batch is ever created twice.
        #expect(batch.created == 1, "\(point): \(batch.raw)")
        #expect(batch.uploaded == (point == "batch-uploaded" ? 2 : 1), "\(point): \(batch.raw)")
        #expect(batch.answeredTwice == 0 && live == 0, "\(point)")
        #expect(bodies.values.allSatisfy { $0 == 1 }, "\(point)")
        #expect(try ids(dir.file("in.results.jsonl")) == (0..<300).map { "i\($0)" }, "\(point)")
        if point == "batch-created" { #expect(resumed.stderr.contains("created before sluice could record it"), "\(resumed.stderr)") }
    }

    @Test func autoSendsFailedAndExpiredLinesLive() async throws {
        let mock = try await MockGatewayProcess(["--batch-seconds", "0.3", "--batch-line-fail", "0.1", "--batch-expire", "1"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 400)
        let run = try await runSluice([
            "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--mode", "auto", "--poll-interval", "0.1",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let (batch, live, bodies) = try await batchStats(mock)
        #expect(batch.linesAnswered + live == 400, "\(batch.raw), \(live) live")
        #expect(live >= 200, "an expired batch answers about half; the rest and the failed lines go live")
        #expect(bodies.count == 400 && bodies.values.allSatisfy { $0 == 1 }, "no item answered twice")
        #expect(try ids(dir.file("in.results.jsonl")).count == 400)
        let sources = try queryCheckpoint(dir.file("in.results.jsonl.sluice.db"), "SELECT count(*) FROM items WHERE answer_source LIKE 'batch:%'")
        #expect(sources == [["\(batch.linesAnswered)"]])
    }

    @Test func aLineMarkedLiveSkipsTheBatchAndLimitsSplitFiles() async throws {
        let mock = try await MockGatewayProcess(["--batch-seconds", "0.2"])
        let dir = TemporaryDirectory()
        var lines = (0..<100).map { #"{"id":"b\#($0)","prompt":"question \#($0)"}"# }
        lines += (0..<5).map { #"{"id":"u\#($0)","prompt":"urgent \#($0)","mode":"live"}"# }
        writeFile(dir.file("in.jsonl"), Data((lines.joined(separator: "\n") + "\n").utf8))
        let run = try await runSluice([
            "run", "--input", dir.file("in.jsonl"), "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--mode", "batch",
            "--poll-interval", "0.1", "--batch-max-bytes", "4096", "--batch-provider", "anthropic",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let (batch, live, _) = try await batchStats(mock)
        #expect(live == 5)
        #expect(batch.linesAnswered == 100)
        // 100 lines of about 120 bytes in files of at most 4 KiB.
        #expect(batch.uploaded >= 3 && batch.created == batch.uploaded, "\(batch.raw)")
        #expect(batch.providers == ["anthropic": batch.created], "\(batch.raw)")
        #expect(try ids(dir.file("in.results.jsonl")).count == 105)
    }

    @Test func batchModeRebatchesRetryableLinesThenGivesUp() async throws {
        let mock = try await MockGatewayProcess(["--batch-seconds", "0.2", "--batch-line-fail", "1"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 20)
        let run = try await runSluice([
            "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--mode", "batch", "--poll-interval", "0.1",
            "--max-attempts", "2", "--profile", "litellm",
        ])
        #expect(run.status == 1, "\(run.stderr)")
        let (batch, live, _) = try await batchStats(mock)
        #expect(batch.created == 2 && live == 0, "\(batch.raw)")
        // The errors file keeps the gateway's answer (HTTP 500, as the batch output said); the item's message says why it stopped.
        let errors = try readJSONLines(dir.file("in.errors.jsonl"))
        #expect(errors.count == 20)
        #expect((errors.first?["response"] as? [String: Any])?["status_code"] as? Int == 500)
        let messages = try queryCheckpoint(dir.file("in.results.jsonl.sluice.db"), "SELECT DISTINCT error_message FROM items")
        #expect(messages.count == 1 && (messages.first?.first ?? nil)?.hasPrefix("no answer after 2 batches: HTTP 500") == true, "\(messages)")
    }

    @Test func cancelCancelsTheOpenBatchesAtTheGatewayAndAResumeCollectsThem() async throws {
        let mock = try await MockGatewayProcess(["--batch-seconds", "4"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 50)
        let arguments = [
            "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--mode", "batch", "--poll-interval", "0.2",
        ]
        let running = try Child(Binaries.sluice, arguments)
        try await waitFor { ((try? await self.batchStats(mock))?.batch.created ?? 0) >= 1 }
        let cancel = try await runSluice(["cancel", dir.file("in.results.jsonl.sluice.db")])
        #expect(cancel.status == 0, "\(cancel.stderr)")
        let stopped = await running.wait(timeout: 60)
        #expect(stopped.status == 130, "\(stopped.stderr)")
        let statuses = (try await batchStats(mock)).batch.raw["batches_by_status"] as? [String: Int] ?? [:]
        #expect(statuses["cancelling", default: 0] + statuses["cancelled", default: 0] == 1, "\(statuses)")
        // The next run (with --force, the job was cancelled) collects the cancelled batch and batches the rest again.
        let resumed = try await runSluice(arguments + ["--force"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try ids(dir.file("in.results.jsonl")).count == 50)
        #expect((try await batchStats(mock)).batch.answeredTwice == 0)
    }

    @Test func autoSendsWhatABatchStillHoldsAtTheDeadlineLive() async throws {
        let mock = try await MockGatewayProcess(["--batch-seconds", "20"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 40)
        let run = try await runSluice([
            "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--mode", "auto", "--poll-interval", "0.2",
            "--deadline", "1s",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("at the deadline: cancelling it"), "\(run.stderr)")
        let (batch, live, bodies) = try await batchStats(mock)
        #expect(batch.linesAnswered + live == 40 && live > 0, "\(batch.raw), \(live) live")
        #expect(bodies.values.allSatisfy { $0 == 1 })
        #expect(try ids(dir.file("in.results.jsonl")).count == 40)
    }

    @Test func oddOutputFilesAreHandledAndNoted() async throws {
        // Duplicated and unknown custom_ids in the output; then an output file gone before the download.
        let mock = try await MockGatewayProcess(["--batch-seconds", "0.2", "--batch-duplicate-line", "--batch-unknown-line"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 30)
        let run = try await runSluice([
            "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--mode", "batch", "--poll-interval", "0.1",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try ids(dir.file("in.results.jsonl")) == (0..<30).map { "i\($0)" })
        let note = try queryCheckpoint(dir.file("in.results.jsonl.sluice.db"), "SELECT note FROM batches").first?.first ?? nil
        #expect(note?.contains("1 duplicated custom_id line ignored") == true, "\(note ?? "")")
        #expect(note?.contains("1 line with a custom_id this batch did not hold, ignored") == true, "\(note ?? "")")

        let expiring = try await MockGatewayProcess(["--batch-seconds", "0.2", "--file-expiry-seconds", "0"])
        let gone = try await runSluice([
            "run", "--input", input, "--model", "m", "--base-url", expiring.baseURL, "--no-progress", "--mode", "auto", "--poll-interval", "0.1",
            "--output", dir.file("gone.jsonl"),
        ])
        #expect(gone.status == 0, "\(gone.stderr)")
        #expect(try await expiring.stats().totalRequests == 30, "every line of the lost output went live")
        let goneNote = try queryCheckpoint(dir.file("gone.jsonl.sluice.db"), "SELECT note FROM batches").first?.first ?? nil
        #expect(goneNote?.contains("was gone before it could be downloaded") == true, "\(goneNote ?? "")")
    }

    @Test func aBatchThatFailsAsAWholeSaysWhyAndAutoSendsItsLinesLive() async throws {
        let mock = try await MockGatewayProcess(["--batch-seconds", "0.2", "--batch-fail", "1"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 20)
        let auto = try await runSluice([
            "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--mode", "auto", "--poll-interval", "0.1",
        ])
        #expect(auto.status == 0, "\(auto.stderr)")
        #expect(try await mock.stats().totalRequests == 20)
        let strict = try await runSluice([
            "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--mode", "batch", "--poll-interval", "0.1",
            "--max-attempts", "1", "--output", dir.file("strict.jsonl"),
        ])
        #expect(strict.status == 1, "\(strict.stderr)")
        let messages = try queryCheckpoint(dir.file("strict.jsonl.sluice.db"), "SELECT DISTINCT error_message FROM items")
        #expect((messages.first?.first ?? nil)?.hasPrefix("no answer after 1 batches: the batch failed:") == true, "\(messages)")
    }

    @Test func aLiveRunCollectsTheBatchesAnEarlierRunLeftOpen() async throws {
        let mock = try await MockGatewayProcess(["--batch-seconds", "1"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 50)
        let base = ["run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--poll-interval", "0.2"]
        let crashed = try await runSluice(base + ["--mode", "batch"], environment: ["SLUICE_CRASH_AT": "batch-polled"])
        #expect(crashed.status == 9)
        let live = try await runSluice(base)
        #expect(live.status == 0, "\(live.stderr)")
        #expect(live.stderr.contains("re-attached to 1 provider batch"), "\(live.stderr)")
        let (batch, sent, _) = try await batchStats(mock)
        #expect(batch.linesAnswered == 50 && sent == 0, "\(batch.raw), \(sent) live")
        #expect(try ids(dir.file("in.results.jsonl")) == (0..<50).map { "i\($0)" })
    }

    @Test func batchAnswersAskedToBeJSONAreChecked() async throws {
        let mock = try await MockGatewayProcess(["--batch-seconds", "0.2"])
        let dir = TemporaryDirectory()
        let lines = ["fine", "[[not-json]] please", "also fine"].enumerated().map { index, prompt in
            #"{"id":"q\#(index)","messages":[{"role":"user","content":"\#(prompt)"}],"response_format":{"type":"json_object"}}"#
        }
        writeFile(dir.file("in.jsonl"), Data((lines.joined(separator: "\n") + "\n").utf8))
        let run = try await runSluice([
            "run", "--input", dir.file("in.jsonl"), "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--mode", "auto",
            "--poll-interval", "0.1", "--output-retries", "1", "--reask", "same",
        ])
        #expect(run.status == 1, "\(run.stderr)")
        // The prose answer from the batch is not taken: the line goes live, where it is asked once more, then fails.
        // (`--reask same` keeps `[[not-json]]` the last user message; with the reason the live re-ask gets JSON.)
        #expect(try await mock.stats().totalRequests == 2)
        let failed = try queryCheckpoint(dir.file("in.results.jsonl.sluice.db"), "SELECT custom_id, error_code FROM items WHERE state = 3")
        #expect(failed == [["q1", "invalid_output"]], "\(failed)")
    }

    @Test func cancellingAJobNobodyRunsCancelsItsBatchesAtTheGateway() async throws {
        let mock = try await MockGatewayProcess(["--batch-seconds", "30"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 20)
        let arguments = [
            "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--mode", "batch", "--poll-interval", "0.2",
        ]
        let crashed = try await runSluice(arguments, environment: ["SLUICE_CRASH_AT": "batch-polled"])
        #expect(crashed.status == 9)
        let cancel = try await runSluice(["cancel", dir.file("in.results.jsonl.sluice.db")])
        #expect(cancel.status == 0, "\(cancel.stderr)")
        #expect(cancel.stdout.contains("cancelled its open batches at the gateway: batch_1"), "\(cancel.stdout)")
        let statuses = (try await batchStats(mock)).batch.raw["batches_by_status"] as? [String: Int] ?? [:]
        #expect(statuses["cancelling", default: 0] + statuses["cancelled", default: 0] == 1, "\(statuses)")
    }

    @Test func aLineTooLargeForAnyBatchFileFailsInBatchModeAndGoesLiveInAuto() async throws {
        let mock = try await MockGatewayProcess(["--batch-seconds", "0.2"])
        let dir = TemporaryDirectory()
        let big = String(repeating: "long text ", count: 300)
        let lines = [#"{"id":"small","prompt":"short"}"#, #"{"id":"big","prompt":"\#(big)"}"#]
        writeFile(dir.file("in.jsonl"), Data((lines.joined(separator: "\n") + "\n").utf8))
        let base = [
            "run", "--input", dir.file("in.jsonl"), "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--poll-interval", "0.1",
            "--batch-max-bytes", "2048",
        ]
        let batch = try await runSluice(base + ["--mode", "batch", "--output", dir.file("batch.jsonl")])
        #expect(batch.status == 1, "\(batch.stderr)")
        let failed = try queryCheckpoint(dir.file("batch.jsonl.sluice.db"), "SELECT custom_id, error_code FROM items WHERE state = 3")
        #expect(failed == [["big", "batch_line_too_large"]], "\(failed)")
        #expect(try await mock.stats().totalRequests == 0)
        let auto = try await runSluice(base + ["--mode", "auto", "--output", dir.file("auto.jsonl")])
        #expect(auto.status == 0, "\(auto.stderr)")
        #expect(try await mock.stats().totalRequests == 1, "the large line went live")
    }
}
