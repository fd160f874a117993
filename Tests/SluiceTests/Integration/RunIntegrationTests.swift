import Foundation
import Testing

@testable import SluiceCore

/// `sluice run` end to end: the real binary against a real `sluice-mock` process.
@Suite(.serialized)
struct RunIntegrationTests {
    @Test func gzipJobCompletesWithOneResultPerLineAndSendsGatewayHeaders() async throws {
        let mock = try await MockGatewayProcess(["--api-key", "fp_header_test_key"])
        let dir = TemporaryDirectory()
        let plain = dir.writePrompts("prompts.jsonl", count: 120)
        let gz = dir.file("prompts.jsonl.gz")
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/sh")
        gzip.arguments = ["-c", "gzip -c '\(plain)' > '\(gz)'"]
        try gzip.run()
        gzip.waitUntilExit()

        let run = try await runSluice(
            [
                "run", "--input", gz, "--model", "gpt-4o-mini", "--base-url", mock.baseURL,
                "--property", "batch=nightly", "--property", "team=search", "--cache", "exact",
                "--session-id", "s-1", "--user-id", "u-9", "--header", "X-Extra: yes",
                "--fallback", "backup-model", "--no-progress",
            ], environment: ["FLOOPY_API_KEY": "fp_header_test_key"])
        #expect(run.status == 0, "\(run.stderr)")
        let results = try readJSONLines(dir.file("prompts.results.jsonl"))
        #expect(results.count == 120)
        #expect(results.map { $0["custom_id"] as? String } == (0..<120).map { "i\($0)" })
        let first = try #require(results.first?["response"] as? [String: Any])
        #expect(first["status_code"] as? Int == 200)
        #expect((first["request_id"] as? String)?.hasPrefix("req_") == true)

        let stats = try await mock.stats()
        #expect(stats.totalRequests == 120)
        #expect(stats.nested("properties", "batch", "nightly") == 120)
        #expect(stats.nested("properties", "team", "search") == 120)
        #expect(stats.nested("floopy_headers", "floopy-session-id", "s-1") == 120)
        #expect(stats.nested("floopy_headers", "floopy-user-id", "u-9") == 120)
        #expect(stats.nested("floopy_headers", "floopy-cache", "exact") == 120)
        #expect(stats.nested("floopy_headers", "floopy-fallback", "backup-model") == 120)

        // The headers actually sent are recorded per item, without the key.
        let headers = try queryCheckpoint(
            dir.file("prompts.results.jsonl.sluice.db"), "SELECT header_sets.json FROM items JOIN header_sets ON header_sets.id = items.headers_id LIMIT 1")
        let recorded = try #require(headers.first?.first ?? nil)
        #expect(recorded.contains("floopy-property-batch"))
        #expect(recorded.contains("X-Extra"))
        // The request carried the key (the mock requires it), and the record of its headers does not.
        #expect(!recorded.lowercased().contains("authorization"))
        #expect(!recorded.contains("fp_header_test_key"))
    }

    @Test func rateLimitWithRetryAfterIsWaitedOut() async throws {
        let mock = try await MockGatewayProcess(["--p429", "1", "--fail-first", "1", "--retry-after", "1"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 20)
        let run = try await runSluice(["run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--concurrency", "20"])
        #expect(run.status == 0, "\(run.stderr)")
        let stats = try await mock.stats()
        #expect(stats.count("status", "429") == 20)
        #expect(stats.count("status", "200") == 20)
        #expect(run.stdout.contains("20 refused with 429"), "\(run.stdout)")
        // Every item got its 429 and was sent again only after the gateway's Retry-After.
        let timeline = try await mock.timeline()
        for refusal in timeline where refusal.status == 429 {
            let again = try #require(timeline.first { $0.body == refusal.body && $0.time > refusal.time })
            #expect(again.time - refusal.time >= 0.99, "sent again after \(again.time - refusal.time) s")
        }
        let db = dir.file("in.results.jsonl.sluice.db")
        #expect(try checkpointCount(db, "state = 2 AND attempts = 2") == 20)
    }

    @Test func serverErrorsAreRetriedUntilTheySucceed() async throws {
        let mock = try await MockGatewayProcess(["--p500", "1", "--fail-first", "2"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 10)
        let run = try await runSluice(["run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--max-attempts", "3"])
        #expect(run.status == 0, "\(run.stderr)")
        let stats = try await mock.stats()
        #expect(stats.count("status", "500") == 20)
        #expect(stats.count("status", "200") == 10)
        #expect(try checkpointCount(dir.file("in.results.jsonl.sluice.db"), "state = 2 AND attempts = 3") == 10)
    }

    @Test func badRequestIsNotRetried() async throws {
        let mock = try await MockGatewayProcess(["--p400", "1"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 8)
        let run = try await runSluice(["run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress"])
        #expect(run.status == 1)
        let stats = try await mock.stats()
        #expect(stats.totalRequests == 8)
        let errors = try readJSONLines(dir.file("in.errors.jsonl"))
        #expect(errors.count == 8)
        #expect((errors.first?["response"] as? [String: Any])?["status_code"] as? Int == 400)
        #expect(try readJSONLines(dir.file("in.results.jsonl")).count == 8)
    }

    @Test func fallbackModelAnswersWhenThePrimaryAlwaysFails() async throws {
        // The gateway does not fall back by itself here, so sluice must.
        let mock = try await MockGatewayProcess(["--failing-model", "primary", "--no-gateway-fallback"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 6)
        let run = try await runSluice([
            "run", "--input", input, "--model", "primary", "--fallback", "backup",
            "--base-url", mock.baseURL, "--no-progress",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let stats = try await mock.stats()
        #expect(stats.count("models_requested", "primary") == 6)
        #expect(stats.count("models_answered", "backup") == 6)
        let results = try readJSONLines(dir.file("in.results.jsonl"))
        #expect(results.allSatisfy { (($0["response"] as? [String: Any])?["body"] as? [String: Any])?["model"] as? String == "backup" })
        #expect(try checkpointCount(dir.file("in.results.jsonl.sluice.db"), "answered_model = 'backup' AND fallbacks_used = 1") == 6)
    }

    @Test func badLinesAreReportedWithTheirLineNumbers() async throws {
        let mock = try await MockGatewayProcess()
        let dir = TemporaryDirectory()
        let input = dir.file("bad.jsonl")
        let lines = [
            #"{"id":"a","prompt":"fine"}"#, #"{"id":"b","prompt":"#, "[1,2]", "", #"{"id":"c","text":"no prompt"}"#,
            #"{"id":"a","prompt":"duplicate"}"#, #"{"custom_id":"d","method":"POST","url":"/v1/nope","body":{}}"#,
        ]
        writeFile(input, Data((lines.joined(separator: "\n") + "\n").utf8))
        let run = try await runSluice(["run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress"])
        #expect(run.status == 1)
        #expect(run.stderr.contains("bad.jsonl:2: invalid JSON"))
        #expect(run.stderr.contains("bad.jsonl:3: expected a JSON object, got an array"))
        #expect(run.stderr.contains("bad.jsonl:5: line has neither"))
        #expect(run.stderr.contains("bad.jsonl:6: duplicate custom_id \"a\" (first at \(input):1)"))
        #expect(run.stderr.contains("bad.jsonl:7: unknown url \"/v1/nope\""))
        let results = try readJSONLines(dir.file("bad.results.jsonl"))
        #expect(results.count == 6)  // the blank line is skipped, not an error
        #expect(try readJSONLines(dir.file("bad.errors.jsonl")).count == 5)
        #expect(try await mock.stats().totalRequests == 1)

        let strict = try await runSluice([
            "run", "--input", input, "--model", "m", "--base-url", mock.baseURL,
            "--output", dir.file("strict.jsonl"), "--strict", "--no-progress",
        ])
        #expect(strict.status == 2)
        #expect(strict.stderr.contains("--strict: 5 bad input lines; nothing was sent"))
        #expect(try await mock.stats().totalRequests == 1)
        #expect(!FileManager.default.fileExists(atPath: dir.file("strict.jsonl.sluice.db")))
    }

    @Test func changedInputIsRefusedOnResumeUnlessForced() async throws {
        let mock = try await MockGatewayProcess()
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 10)
        let arguments = ["run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress"]
        #expect(try await runSluice(arguments).status == 0)
        dir.writePrompts("in.jsonl", count: 12)  // two lines appended
        let refused = try await runSluice(arguments)
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("changed since the job started"))
        #expect(refused.stderr.contains("--force"))
        #expect(try await mock.stats().totalRequests == 10)

        let forced = try await runSluice(arguments + ["--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        // Only the new lines were sent; the ten unchanged ones kept their results.
        #expect(try await mock.stats().totalRequests == 12)
        #expect(try readJSONLines(dir.file("in.results.jsonl")).count == 12)
    }

    @Test func truncatedGzipRunsTheItemsReadBeforeTheDamageAndExitsNonZero() async throws {
        let mock = try await MockGatewayProcess()
        let dir = TemporaryDirectory()
        let text =
            (0..<3000).map { #"{"id":"i\#($0)","prompt":"question \#($0) with enough text to make the file compress into several blocks \#($0 * 7919)"}"# }
            .joined(separator: "\n") + "\n"
        let whole = try Deflater(path: "test").compress(Array(text.utf8), finish: true)
        let input = dir.file("cut.jsonl.gz")
        writeFile(input, Data(whole.prefix(whole.count / 2)))
        let run = try await runSluice(["run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress"])
        #expect(run.status == 1)
        #expect(run.stderr.contains("cut.jsonl.gz: gzip stream is truncated"))
        let results = try readJSONLines(dir.file("cut.results.jsonl"))
        #expect(results.count > 100 && results.count < 3000)
        #expect(try await mock.stats().totalRequests == results.count)
    }

    @Test func theProgressLineIsPlainLinesInALogAndRedrawnOnATerminal() async throws {
        let mock = try await MockGatewayProcess(["--latency-ms", "50"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 60)
        let plain = try await runSluice([
            "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--concurrency", "2",
            "--progress-interval", "0.3", "--output", dir.file("plain.jsonl"),
        ])
        #expect(plain.status == 0, "\(plain.stderr)")
        let lines = plain.stderr.split(separator: "\n").filter { $0.hasPrefix("sluice: ") && $0.contains(" done") }
        #expect(lines.count >= 3, "\(plain.stderr)")
        #expect(lines.allSatisfy { $0.contains("/60 done") && $0.contains("req/s") && $0.contains("limit 2") })
        #expect(!plain.stderr.contains("\u{1B}["), "no terminal codes in a log")

        // On a terminal (a pseudo-terminal made by script(1)), the line is redrawn in place.
        let command = [
            Binaries.sluice, "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--concurrency", "2",
            "--output", dir.file("tty.jsonl"),
        ].map { "'\($0)'" }.joined(separator: " ")
        let terminal = try await Child("/usr/bin/script", ["-qefc", command, "/dev/null"]).wait()
        #expect(terminal.status == 0, "\(terminal.stdout)")
        #expect(terminal.stdout.contains("\r\u{1B}[2Ksluice: "), "redrawn with a carriage return and an erase: \(terminal.stdout.prefix(300))")
        #expect(terminal.stdout.components(separatedBy: "\r\u{1B}[2K").count >= 3)
    }

    @Test func gzipOutputIsWrittenWhenTheNameEndsInGz() async throws {
        let mock = try await MockGatewayProcess()
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 25)
        let output = dir.file("out.results.jsonl.gz")
        let run = try await runSluice(["run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--output", output, "--no-progress"])
        #expect(run.status == 0, "\(run.stderr)")
        let magic = FileManager.default.contents(atPath: output)?.prefix(2)
        #expect(magic.map(Array.init) == [0x1f, 0x8b], "not gzip")
        let reader = LineReader(source: try openInput(path: output), maxLineBytes: 1 << 20)
        var count = 0
        while let line = try reader.next() {
            #expect((try JSONSerialization.jsonObject(with: Data(line.bytes)) as? [String: Any])?["custom_id"] as? String == "i\(count)")
            count += 1
        }
        #expect(count == 25)
        #expect(FileManager.default.contents(atPath: dir.file("out.errors.jsonl.gz"))?.prefix(2).map { $0 } == [0x1f, 0x8b])
    }
}

/// Rate budgets and adaptive concurrency against a rate-limited mock.
@Suite(.serialized)
struct RateLimitIntegrationTests {
    @Test func requestsPerMinuteBudgetKeepsTheGatewayFromThrottling() async throws {
        // The gateway allows 20 requests per 2-second window (10 a second); unpaced, 16 in flight
        // would draw dozens of 429s from 60 items. Paced a little under it (570 a minute, as a
        // user would set it), they leave about 0.1 s apart and none is refused.
        let mock = try await MockGatewayProcess(["--rpm", "20", "--rate-window", "2", "--latency-ms", "5"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 60)
        let run = try await runSluice([
            "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--rpm", "570",
            "--concurrency", "16", "--no-progress",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let stats = try await mock.stats()
        #expect(stats.count("status", "429") == 0, "\(stats.raw)")
        #expect(stats.count("status", "200") == 60)
        let arrivals = try await mock.timeline().map(\.time)
        let gaps = zip(arrivals.dropFirst(), arrivals).map { $0 - $1 }
        #expect(gaps.filter { $0 < 0.05 }.count <= 6, "requests left in bursts: \(gaps)")
    }

    @Test func unpacedTheSameJobIsThrottled() async throws {
        // The counter-check of the test above: without --rpm the same gateway refuses many.
        let mock = try await MockGatewayProcess(["--rpm", "20", "--rate-window", "2", "--latency-ms", "5"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 60)
        let run = try await runSluice([
            "run", "--input", input, "--model", "m", "--base-url", mock.baseURL,
            "--concurrency", "16", "--max-attempts", "30", "--no-progress",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try await mock.stats().count("status", "429") >= 5)
    }

    @Test func adaptiveConcurrencyBacksOffAndTheResumedJobStartsWhereItLeftOff() async throws {
        // A capacity limit of 4 at a ceiling of 64: the job learns a limit near 4.
        let mock = try await MockGatewayProcess(["--max-inflight", "4", "--latency-ms", "10"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 300)
        let db = dir.file("in.results.jsonl.sluice.db")
        let arguments = ["run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--concurrency", "64", "--max-attempts", "30", "--no-progress"]
        let run = try await runSluice(arguments)
        #expect(run.status == 0, "\(run.stderr)")
        let learned = Int(try queryCheckpoint(db, "SELECT value FROM job WHERE key = 'learned_concurrency'").first?.first.flatMap { $0 } ?? "") ?? 0
        #expect(learned >= 2 && learned <= 8, "learned \(learned)")
        #expect(run.stdout.contains("· concurrency \(learned)\n"), "\(run.stdout)")

        // More lines for the same job: the resumed run sends them, starting at what was learned.
        dir.writePrompts("in.jsonl", count: 400)
        let before = try await mock.stats().totalRequests
        let resumed = try await runSluice(arguments + ["--force", "--log-level", "info"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("starting at the concurrency learned by the last run: \(learned) (ceiling 64)"), "\(resumed.stderr)")
        #expect(try await mock.stats().totalRequests - before >= 100)
        // Starting at the learned limit, the resumed run is refused far less than the first one, which started at 64.
        let timeline = try await mock.timeline()
        let first = timeline.prefix(before).filter { $0.status == 429 }.count
        let second = timeline.dropFirst(before).filter { $0.status == 429 }.count
        #expect(second * 3 < first, "429s: \(first) in the first run, \(second) after resuming")
    }
}
