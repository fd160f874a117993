import CSV
import Foundation
import Testing

/// `sluice status` and `sluice export` against checkpoints written by real runs
/// on the mock with faults: every figure is checked against the database and
/// against what the mock saw (`/stats`).
@Suite(.serialized)
struct StatusExportTests {
    /// 120 prompts; every third line is team "a", every third + 1 team "b", the rest have no line property.
    private func writeTeamPrompts(_ dir: TemporaryDirectory, count: Int = 120) -> String {
        let lines = (0..<count).map { index -> String in
            let team = index % 3 == 0 ? #","properties":{"team":"a"}"# : index % 3 == 1 ? #","properties":{"team":"b"}"# : ""
            return #"{"id":"t\#(index)","prompt":"question \#(index) about \#(String(repeating: "x", count: index % 7))"\#(team),"metadata":{"row":\#(index)}}"#
        }
        let path = dir.file("teams.jsonl")
        writeFile(path, Data((lines.joined(separator: "\n") + "\n").utf8))
        return path
    }

    private func status(_ job: String) async throws -> [String: Any] {
        let finished = try await runSluice(["status", job, "--json"])
        guard finished.status == 0, let object = try JSONSerialization.jsonObject(with: Data(finished.stdout.utf8)) as? [String: Any] else {
            throw TestFailure("status failed (\(finished.status)): \(finished.stderr)\n\(finished.stdout)")
        }
        return object
    }

    private func sum(_ db: String, _ expression: String, _ whereClause: String = "1") throws -> Int {
        Int((try queryCheckpoint(db, "SELECT coalesce(sum(\(expression)), 0) FROM items WHERE \(whereClause)").first?.first ?? nil) ?? "") ?? -1
    }

    @Test func statusFiguresAgreeWithTheCheckpointAndTheMock() async throws {
        let mock = try await MockGatewayProcess(["--p400", "0.08", "--p500", "0.1", "--p429", "0.05", "--retry-after", "0.1", "--seed", "7"])
        let dir = TemporaryDirectory()
        let input = writeTeamPrompts(dir)
        let run = try await runSluice([
            "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--max-attempts", "2", "--property", "batch=nightly",
            "--price", "m=1,2",
        ])
        #expect(run.status == 1, "some items fail for good: \(run.stderr)")
        let db = dir.file("teams.results.jsonl.sluice.db")
        let stats = try await mock.stats()
        let status = try await status(db)

        let items = try #require(status["items"] as? [String: Any])
        let succeeded = try checkpointCount(db, "state = 2")
        let failed = try checkpointCount(db, "state = 3")
        #expect(status["schema"] as? String == "sluice.status/1")
        #expect(status["state"] as? String == "finished")
        #expect(items["total"] as? Int == 120)
        #expect(items["succeeded"] as? Int == succeeded)
        #expect(items["failed"] as? Int == failed)
        #expect(failed > 0 && succeeded > 0, "the faults leave both outcomes")

        let tokens = try #require(status["tokens"] as? [String: Any])
        let prompt = try sum(db, "prompt_tokens")
        let completion = try sum(db, "completion_tokens")
        #expect(tokens["prompt"] as? Int == prompt)
        #expect(tokens["completion"] as? Int == completion)
        let mockTokens = try #require(stats.raw["tokens"] as? [String: Int])
        #expect(mockTokens["prompt"] == prompt, "the mock billed what the checkpoint holds")
        #expect(mockTokens["completion"] == completion)

        let cost = try #require(status["cost"] as? [String: Any])
        let expected = (Double(prompt) * 1 + Double(completion) * 2) / 1_000_000
        #expect(abs((cost["total_usd"] as? Double ?? -1) - expected) < 1e-8, "cost is the usage at the --price given")

        let requests = try #require(status["requests"] as? [String: Any])
        #expect(requests["attempts"] as? Int == stats.totalRequests, "every request the mock saw is counted")
        #expect(requests["retries"] as? Int == (try sum(db, "retries")))

        let latency = try #require(status["latency_ms"] as? [String: Any])
        #expect(latency["count"] as? Int == (try checkpointCount(db, "latency_ms IS NOT NULL")))
        let maxLatency = Double((try queryCheckpoint(db, "SELECT max(latency_ms) FROM items").first?.first ?? nil) ?? "") ?? -1
        #expect(abs((latency["max"] as? Double ?? -1) - maxLatency) < 0.001)
        let p50 = latency["p50"] as? Double ?? -1
        let p99 = latency["p99"] as? Double ?? -1
        #expect(p50 > 0 && p50 <= p99 && p99 <= maxLatency)

        let errors = try #require(status["errors"] as? [[String: Any]])
        let byClass = Dictionary(uniqueKeysWithValues: errors.map { ($0["class"] as? String ?? "", $0["count"] as? Int ?? -1) })
        #expect(byClass["bad_request"] == (try checkpointCount(db, "state = 3 AND http_status = 400")))
        #expect(byClass["server"] == (try checkpointCount(db, "state = 3 AND http_status >= 500")))
        #expect(byClass.values.reduce(0, +) == failed)
        #expect(errors.allSatisfy { ($0["sample"] as? String)?.isEmpty == false && ($0["sample_item"] as? String)?.hasPrefix("t") == true })

        let answered = try #require(status["answered_by"] as? [[String: Any]])
        #expect(answered.first?["model"] as? String == "m" && answered.first?["items"] as? Int == succeeded)

        // Per property: the job-wide one covers every item; line properties only their lines.
        let properties = try #require(status["properties"] as? [[String: Any]])
        func property(_ name: String, _ value: String) -> [String: Any]? {
            properties.first { $0["name"] as? String == name && $0["value"] as? String == value }
        }
        #expect(property("batch", "nightly")?["items"] as? Int == 120)
        #expect(property("team", "a")?["items"] as? Int == 40)
        #expect(property("team", "b")?["items"] as? Int == 40)
        let teamTokens = try #require(stats.raw["property_tokens"] as? [String: [String: Int]])
        for team in ["a", "b"] {
            let usage = try #require(property("team", team))
            let statusTokens = (usage["prompt_tokens"] as? Int ?? 0) + (usage["completion_tokens"] as? Int ?? 0)
            #expect(statusTokens == teamTokens["team"]?[team], "team \(team): tokens agree with what the mock billed for it")
        }
        #expect(stats.nested("properties", "team", "a") >= 40, "every request of team a carried the property")

        // The text form prints the same figures.
        let text = try await runSluice(["status", db])
        #expect(text.status == 0)
        #expect(text.stdout.contains("items      120 total · \(succeeded) succeeded · \(failed) failed"), "\(text.stdout)")
        #expect(text.stdout.contains("\(prompt) prompt"))
        #expect(text.stdout.contains("team=a · 40 items"))
    }

    @Test func statusAndExportWorkWhileTheJobRunsAndExportMatchesTheResultsAfterwards() async throws {
        let mock = try await MockGatewayProcess(["--latency-ms", "60"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("slow.jsonl", count: 240)
        let job = dir.file("job.json")
        writeFile(job, Data(#"{"name": "slow", "inputs": ["slow.jsonl"], "model": "m", "concurrency": 4, "base_url": "\#(mock.baseURL)"}"#.utf8))
        _ = input
        let child = try Child(Binaries.sluice, ["run", job, "--no-progress"])
        let db = dir.file("slow.results.jsonl.sluice.db")
        try await waitFor { ((try? checkpointCountIfPresent(db, "state = 2")) ?? 0) >= 20 }

        let running = try await status(job)
        #expect(running["state"] as? String == "running", "status takes no lock: it sees the runner's")
        #expect((running["pid"] as? Int).map(Int32.init) == child.pid)
        let items = try #require(running["items"] as? [String: Any])
        let doneThen = (items["succeeded"] as? Int ?? 0) + (items["failed"] as? Int ?? 0)
        #expect(doneThen >= 20 && doneThen < 240)
        #expect((running["progress"] as? [String: Any])?["eta_seconds"] as? Double != nil, "a running job has an ETA")

        let export = try await runSluice(["export", job, "--format", "flat", "--output", "-"])
        #expect(export.status == 0, "\(export.stderr)")
        let exported = export.stdout.split(separator: "\n")
        #expect(exported.count >= doneThen && exported.count < 240, "a prefix of the finished items, read while the job runs")
        let first = try #require(try JSONSerialization.jsonObject(with: Data(exported[0].utf8)) as? [String: Any])
        #expect(first["custom_id"] as? String == "i0")

        let finished = await child.wait()
        #expect(finished.status == 0, "exporting and reading status did not disturb the run: \(finished.stderr)")
        let after = try await runSluice(["export", job, "--output", dir.file("export.jsonl")])
        #expect(after.status == 0, "\(after.stderr)")
        #expect(
            FileManager.default.contents(atPath: dir.file("export.jsonl")) == FileManager.default.contents(atPath: dir.file("slow.results.jsonl")),
            "openai-batch export is the results file, byte for byte")
        let done = try await status(job)
        #expect(done["state"] as? String == "finished")
    }

    @Test func flatCsvAndFailedExportsCarryTheAnswersMetadataAndErrors() async throws {
        // Every fifth line (c2, c7...) asks for a model the gateway does not have: six items fail for sure, the rest succeed.
        let mock = try await MockGatewayProcess(["--missing-model", "gone"])
        let dir = TemporaryDirectory()
        // A prompt the answer echoes, with the characters CSV must quote.
        let tricky = #"say \"hi\", then\nbye; ünïcode"#
        let lines = (0..<30).map { index in
            let model = index % 5 == 2 ? #","model":"gone""# : ""
            return #"{"id":"c\#(index)","prompt":"\#(index == 4 ? tricky : "plain \(index)")"\#(model),"metadata":{"source":"s\#(index % 2)","row":\#(index)}}"#
        }
        let input = dir.file("csv.jsonl")
        writeFile(input, Data((lines.joined(separator: "\n") + "\n").utf8))
        let run = try await runSluice(["run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--max-attempts", "1"])
        #expect(run.status == 1)
        let db = dir.file("csv.results.jsonl.sluice.db")
        let failedCount = try checkpointCount(db, "state = 3")
        #expect(failedCount == 6)

        let flat = try await runSluice(["export", db, "--format", "flat", "--output", dir.file("flat.jsonl")])
        #expect(flat.status == 0, "\(flat.stderr)")
        let objects = try readJSONLines(dir.file("flat.jsonl"))
        #expect(objects.count == 30)
        #expect(objects.map { $0["custom_id"] as? String } == (0..<30).map { "c\($0)" }, "input order")
        for object in objects {
            let succeeded = object["status"] as? String == "succeeded"
            #expect(succeeded == (object["error"] is NSNull))
            if succeeded {
                #expect((object["content"] as? String)?.hasPrefix("Mock answer") == true)
                #expect(((object["usage"] as? [String: Any])?["prompt_tokens"] as? Int ?? 0) > 0)
                #expect(object["model"] as? String == "m")
            } else {
                #expect((object["error"] as? [String: Any])?["status"] as? Int == 404)
            }
            #expect((object["metadata"] as? [String: Any])?["source"] as? String != nil)
        }

        let csv = try await runSluice(["export", db, "--format", "csv", "--metadata-column", "source", "--output", "-"])
        #expect(csv.status == 0, "\(csv.stderr)")
        let reader = try CSVReader(string: csv.stdout, hasHeaderRow: true)
        #expect(reader.headerRow?.last == "metadata.source")
        var rows: [[String]] = []
        while let row = reader.next() { rows.append(row) }
        #expect(rows.count == 30, "one row per item: quoted newlines do not split rows")
        let trickyRow = try #require(rows.first { $0[0] == "c4" })
        #expect(trickyRow[1] == "succeeded", "c4 asks for the model the gateway has")
        #expect(trickyRow[3].contains("say \"hi\", then\nbye; ünïcode"), "the answer round-trips through CSV quoting: \(trickyRow[3])")
        #expect(rows.allSatisfy { $0.last == "s0" || $0.last == "s1" })

        let failedExport = try await runSluice(["export", db, "--only", "failed", "--output", dir.file("failed.jsonl.gz")])
        #expect(failedExport.status == 0)
        let gunzipped = try shellOutput("gzip -dc '\(dir.file("failed.jsonl.gz"))' | wc -l")
        #expect(Int(gunzipped.trimmingCharacters(in: .whitespacesAndNewlines)) == failedCount)
    }

    @Test func exportRefusesWhatIsNotAJob() async throws {
        let dir = TemporaryDirectory()
        writeFile(dir.file("notes.txt"), Data("hello".utf8))
        let missing = try await runSluice(["export", dir.file("nope.db"), "--output", "-"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("no such job file or checkpoint"))
        let notJob = try await runSluice(["status", dir.file("notes.txt")])
        #expect(notJob.status == 2)
        #expect(notJob.stderr.contains("neither a sluice checkpoint nor a job file"), "\(notJob.stderr)")
    }
}
