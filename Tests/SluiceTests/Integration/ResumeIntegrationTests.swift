import Foundation
import Testing

@testable import SluiceCore

/// Interruptions of every kind: SIGKILL, SIGINT, a second process, a refused key.
@Suite(.serialized)
struct ResumeIntegrationTests {
    @Test func killedWithSIGKILLAndResumedFinishesEveryItemExactlyOnce() async throws {
        let mock = try await MockGatewayProcess(["--latency-ms", "20-60", "--p500", "0.05"])
        let dir = TemporaryDirectory()
        let count = 600
        let input = dir.writePrompts("in.jsonl", count: count)
        let db = dir.file("in.results.jsonl.sluice.db")
        let arguments = ["run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--concurrency", "16", "--no-progress"]

        let first = try Child(Binaries.sluice, arguments)
        try await waitFor { ((try? checkpointCount(db, "state = 2")) ?? 0) >= 150 }
        first.signal(SIGKILL)
        let killed = await first.wait()
        #expect(killed.status != 0)
        #expect(try queryCheckpoint(db, "PRAGMA integrity_check").first?.first == "ok")

        // What was committed before the kill, and how often the mock had seen each of those bodies.
        let done = try await committedDigests(db)
        #expect(done.count >= 150 && done.count < count)
        let before = try await mock.stats().bodies
        let inFlight = try checkpointCount(db, "state = 1")
        // Killed mid-stream (16 requests of 20-60 ms each outstanding at any moment): the mock had received
        // bodies whose answers were never committed, and their items are in flight in the checkpoint.
        let outstanding = Set(before.keys).subtracting(done)
        #expect(!outstanding.isEmpty, "the kill came while requests were outstanding")
        #expect(inFlight > 0)

        let resumed = try await runSluice(arguments)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("\(done.count) skipped"))
        #expect(resumed.stdout.contains("\(inFlight) items that were in flight"), "\(resumed.stdout)")

        let results = try readJSONLines(dir.file("in.results.jsonl"))
        #expect(results.count == count)
        #expect(results.map { $0["custom_id"] as? String } == (0..<count).map { "i\($0)" })
        let after = try await mock.stats().bodies
        for digest in done {
            let seen = try #require(before[digest], "the mock never saw committed item \(digest)")
            #expect(after[digest] == seen, "completed item \(digest) was sent again")
        }
        // Every request outstanding at the kill was sent again by the resume.
        for digest in outstanding {
            #expect((after[digest] ?? 0) > before[digest]!, "item \(digest), in flight at the kill, was not sent again")
        }
        #expect(try checkpointCount(db, "state = 2") == count)
    }

    @Test func sigintStopsGracefullyAndTheJobResumes() async throws {
        let mock = try await MockGatewayProcess(["--latency-ms", "50"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 400)
        let db = dir.file("in.results.jsonl.sluice.db")
        let arguments = ["run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--concurrency", "8", "--no-progress"]
        let first = try Child(Binaries.sluice, arguments)
        try await waitFor { ((try? checkpointCount(db, "state = 2")) ?? 0) >= 40 }
        first.signal(SIGINT)
        let interrupted = await first.wait()
        #expect(interrupted.status == 130)
        #expect(interrupted.stderr.contains("resume with:"))
        #expect(interrupted.stderr.contains("sluice run --input"))
        // In-flight requests were allowed to finish: nothing is left in flight.
        #expect(try checkpointCount(db, "state = 1") == 0)
        #expect(!FileManager.default.fileExists(atPath: dir.file("in.results.jsonl")))

        let resumed = try await runSluice(arguments)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try readJSONLines(dir.file("in.results.jsonl")).count == 400)
        #expect(try await mock.stats().totalRequests == 400)
    }

    @Test func aSecondSignalExitsAtOnceAndTheJobStillResumes() async throws {
        let mock = try await MockGatewayProcess(["--latency-ms", "3000"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 40)
        let arguments = ["run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--concurrency", "8", "--no-progress"]
        let child = try Child(Binaries.sluice, arguments)
        try await waitFor { ((try? await mock.stats().totalRequests) ?? 0) >= 8 }
        child.signal(SIGTERM)
        try await Task.sleep(for: .milliseconds(300))
        child.signal(SIGINT)
        let started = ContinuousClock.now
        let finished = await child.wait()
        #expect(ContinuousClock.now - started < .seconds(2), "did not wait for the 3-second answers")
        #expect(finished.status == 130)
        #expect(finished.stderr.contains("SIGTERM: no new requests"))
        #expect(finished.stderr.contains("SIGINT again: exiting now"))
        let fast = try await MockGatewayProcess()
        let resumed = try await runSluice(["run", "--input", input, "--model", "m", "--base-url", fast.baseURL, "--no-progress"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try readJSONLines(dir.file("in.results.jsonl")).count == 40)
    }

    @Test func whenTheGracePeriodRunsOutRequestsAreAbandonedAndTheirItemsReleased() async throws {
        let mock = try await MockGatewayProcess(["--latency-ms", "20000"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 40)
        let db = dir.file("in.results.jsonl.sluice.db")
        let child = try Child(
            Binaries.sluice,
            [
                "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--concurrency", "8",
                "--no-progress", "--grace", "1",
            ])
        try await waitFor { ((try? await mock.stats().totalRequests) ?? 0) >= 8 }
        let started = ContinuousClock.now
        child.signal(SIGINT)
        let finished = await child.wait()
        #expect(ContinuousClock.now - started < .seconds(8), "the 20-second answers were not waited for")
        #expect(finished.status == 130, "\(finished.stderr)")
        #expect(try checkpointCount(db, "state = 1") == 0, "abandoned items are pending again, not left in flight")
        #expect(try checkpointCount(db, "state = 0") == 40)
        #expect(try checkpointCount(db, "attempts = 1") == 8, "the abandoned attempts are counted")
    }

    @Test func finishedWorkIsReadableInInputOrderWhileTheJobRuns() async throws {
        let mock = try await MockGatewayProcess(["--latency-ms", "20"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 1000)
        let partial = dir.file("in.results.jsonl.partial")
        let arguments = ["run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--concurrency", "4", "--no-progress"]
        let child = try Child(Binaries.sluice, arguments)
        try await waitFor { ((try? readJSONLines(partial).count) ?? 0) >= 40 }
        // A prefix of the input, in order, every line whole.
        let early = try readJSONLines(partial)
        #expect(early.map { $0["custom_id"] as? String } == (0..<early.count).map { "i\($0)" })
        #expect(!FileManager.default.fileExists(atPath: dir.file("in.results.jsonl")))
        child.signal(SIGINT)
        let stopped = await child.wait()
        #expect(stopped.status == 130)
        let kept = try readJSONLines(partial)
        #expect(kept.count >= early.count && kept.count < 1000)
        #expect(kept.map { $0["custom_id"] as? String } == (0..<kept.count).map { "i\($0)" })

        let resumed = try await runSluice(arguments)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try readJSONLines(dir.file("in.results.jsonl")).count == 1000)
        #expect(!FileManager.default.fileExists(atPath: partial))
        #expect(!FileManager.default.fileExists(atPath: dir.file("in.errors.jsonl.partial")))
    }

    @Test func aGzipResultsFileIsReadableWhileTheJobRuns() async throws {
        let mock = try await MockGatewayProcess(["--latency-ms", "20"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 1000)
        let partial = dir.file("out.jsonl.gz.partial")
        let child = try Child(
            Binaries.sluice,
            [
                "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--concurrency", "4",
                "--no-progress", "--output", dir.file("out.jsonl.gz"),
            ])
        func readable() -> Int {
            // gzip -dc complains that the stream has no end yet, but prints every flushed line.
            let text = (try? shellOutput("gzip -dc '\(partial)' 2>/dev/null || true")) ?? ""
            return text.split(separator: "\n").count
        }
        try await waitFor { readable() >= 40 }
        child.signal(SIGKILL)
        _ = await child.wait()
        let lines = try shellOutput("gzip -dc '\(partial)' 2>/dev/null || true").split(separator: "\n")
        #expect(lines.count >= 40)
        for (index, line) in lines.enumerated() {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["custom_id"] as? String == "i\(index)")
        }
    }

    @Test func aSecondProcessOnTheSameJobIsRefused() async throws {
        let mock = try await MockGatewayProcess(["--latency-ms", "100"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 200)
        let db = dir.file("in.results.jsonl.sluice.db")
        let arguments = ["run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--concurrency", "4", "--no-progress"]
        let first = try Child(Binaries.sluice, arguments)
        try await waitFor { ((try? checkpointCount(db, "state = 2")) ?? 0) >= 4 }
        let second = try await runSluice(arguments)
        #expect(second.status == 2)
        #expect(second.stderr.contains("another sluice process (pid \(first.pid)) is running this job"))
        first.signal(SIGKILL)
        _ = await first.wait()
        #expect(try queryCheckpoint(db, "PRAGMA integrity_check").first?.first == "ok")
    }

    @Test func noFlagTakesTheKeyAndItNeverReachesArgvLogsOrTheResumeCommand() async throws {
        let key = "fp_argv_check_789"
        let mock = try await MockGatewayProcess(["--api-key", key, "--latency-ms", "100"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 50)
        // A key typed on the command line is refused, and not repeated back.
        let typed = try await runSluice(["run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--api-key", key])
        #expect(typed.status == 64, "\(typed.stderr)")
        #expect(typed.stderr.contains("looks like an API key"), "\(typed.stderr)")
        #expect(!(typed.stdout + typed.stderr).contains(key))
        let help = try await runSluice(["run", "--help"])
        let keyOptions = help.stdout.split(separator: "\n").filter { $0.hasPrefix("  --api-key") }.map { $0.split(separator: " ").first.map(String.init) ?? "" }
        #expect(keyOptions == ["--api-key-env", "--api-key-file"], "\(help.stdout)")

        // The key from the environment: in no argument of the running process, no log line, not in the resume command.
        let child = try Child(
            Binaries.sluice,
            [
                "run", "--input", input, "--model", "m", "--base-url", mock.baseURL,
                "--concurrency", "2", "--no-progress", "--log-level", "trace",
            ],
            environment: ["FLOOPY_API_KEY": key])
        try await waitFor { ((try? checkpointCount(dir.file("in.results.jsonl.sluice.db"), "state = 2")) ?? 0) >= 2 }
        let argv = FileManager.default.contents(atPath: "/proc/\(child.pid)/cmdline") ?? Data()
        #expect(argv.range(of: Data("--base-url".utf8)) != nil, "read the right process's arguments")
        #expect(argv.range(of: Data(key.utf8)) == nil)
        child.signal(SIGINT)
        let stopped = await child.wait()
        #expect(stopped.status == 130)
        #expect(stopped.stderr.contains("resume with:"))
        #expect(stopped.stderr.contains("debug sluice"), "verbose logging was on")
        #expect(!(stopped.stdout + stopped.stderr).contains(key))
    }

    @Test func aForbiddenAnswerStopsTheJobLikeARefusedKey() async throws {
        let mock = try await MockGatewayProcess(["--p403", "1"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 100)
        let finished = try await runSluice(["run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--concurrency", "2", "--no-progress"])
        #expect(finished.status == 2)
        #expect(finished.stderr.contains("refused the API key (HTTP 403 FORBIDDEN: this key may not use this model)"), "\(finished.stderr)")
        #expect(try await mock.stats().totalRequests <= 4)
        #expect(try checkpointCount(dir.file("in.results.jsonl.sluice.db"), "state = 0") == 100)
    }

    @Test func aRefusedKeyStopsTheJobAtOnceAndNeverLeaksIt() async throws {
        // The mock echoes the refused key in its 401 body, as some gateways do.
        let mock = try await MockGatewayProcess(["--api-key", "fp_right_key_123", "--echo-key-in-errors"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 300)
        let arguments = [
            "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--concurrency", "4", "--no-progress",
            "--log-level", "trace",
        ]
        let wrong = try await runSluice(arguments, environment: ["FLOOPY_API_KEY": "fp_wrong_key_456"])
        #expect(wrong.status == 2)
        #expect(wrong.stderr.contains("refused the API key (HTTP 401 INVALID_API_KEY: Invalid or missing API key: Bearer [REDACTED])"), "\(wrong.stderr)")
        #expect(try await mock.stats().totalRequests <= 8)
        #expect(!(wrong.stdout + wrong.stderr).contains("fp_wrong_key_456"))

        // The accepted key is echoed too, in the 400s a fifth of the items get: stored answers and messages hold it.
        let echoing = try await MockGatewayProcess(["--api-key", "fp_right_key_123", "--echo-credentials", "--p400", "0.2"])
        let rightArguments = arguments.map { $0 == mock.baseURL ? echoing.baseURL : $0 }
        let right = try await runSluice(rightArguments, environment: ["FLOOPY_API_KEY": "fp_right_key_123"])
        #expect(right.status == 1, "\(right.stderr)")
        #expect(right.stderr.contains("debug sluice"), "verbose logging was on")
        #expect(!(right.stdout + right.stderr).contains("fp_right_key_123"))
        #expect(try await echoing.stats().count("echoed", "live_error authorization") > 20, "the mock sent the key back")
        let db = dir.file("in.results.jsonl.sluice.db")
        #expect(try readJSONLines(dir.file("in.results.jsonl")).count == 300)
        #expect(try readJSONLines(dir.file("in.errors.jsonl")).count > 20)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(files.contains("in.results.jsonl.sluice.db.lock"))
        for file in files {
            let bytes = FileManager.default.contents(atPath: dir.file(file)) ?? Data()
            #expect(bytes.range(of: Data("fp_right_key_123".utf8)) == nil, "key found in \(file)")
            #expect(bytes.range(of: Data("fp_wrong_key_456".utf8)) == nil, "key found in \(file)")
            if file != "in.jsonl" {
                let mode = (try FileManager.default.attributesOfItem(atPath: dir.file(file))[.posixPermissions] as? Int) ?? 0
                #expect(mode & 0o077 == 0, "\(file) is readable by others: \(String(mode, radix: 8))")
            }
        }
        // Stored answers are compressed, so the checkpoint is also read as a reader sees it, decompressed.
        #expect(try checkpointCount(db, "state = 3 AND substr(response, 1, 1) = x'02'") > 0, "some echoing answers are stored compressed")
        let stored = try await storedAnswersAndMessages(db)
        #expect(stored.contains("Bearer [REDACTED]"), "the echoed key was stored, scrubbed")
        #expect(!stored.contains("fp_right_key_123"))
    }

    /// Every item's stored answer (decompressed) and error message.
    private func storedAnswersAndMessages(_ db: String) async throws -> String {
        try await CheckpointStores.withStore(db, role: .reader) { store in
            var text = ""
            var cursor = ResultCursor.start
            while true {
                let page = try await store.results(after: cursor, limit: 1000)
                guard let last = page.last else { break }
                cursor = last.position
                for row in page { text += String(decoding: row.response ?? [], as: UTF8.self) + " " + (row.errorMessage ?? "") + "\n" }
            }
            return text
        }
    }
}
