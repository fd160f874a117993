import Foundation
import Testing

@testable import SluiceCore

/// No secret at rest: the mock sends the API key and a `--header-env` credential back in live error bodies,
/// batch error lines and batch output lines (`--echo-credentials`), and neither may appear in anything sluice
/// writes: its files, the checkpoint read decompressed, exports, the report, logs, stdout and stderr.
@Suite(.serialized)
struct SecretsIntegrationTests {
    static let key = "fp_echoed_key_4711"
    static let headerSecret = "azure-hdr-secret-0815"
    static let environment = ["FLOOPY_API_KEY": key, "AZURE_HDR": headerSecret]

    /// Every regular file of the folder, as bytes (checkpoint, its -wal while one exists, results, exports, report).
    func files(in dir: TemporaryDirectory) throws -> [(name: String, bytes: Data)] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted().compactMap { name in
            FileManager.default.contents(atPath: dir.file(name)).map { (name, $0) }
        }
    }

    /// The checkpoint as a reader sees it: the settings, every item's answer decompressed and its error message.
    func storedText(_ db: String) async throws -> String {
        try await CheckpointStores.withStore(db, role: .reader) { store in
            var text = try await store.jobSettings() ?? ""
            var cursor = ResultCursor.start
            while true {
                let page = try await store.results(after: cursor, limit: 1000)
                guard let last = page.last else { break }
                cursor = last.position
                for row in page { text += "\n" + String(decoding: row.response ?? [], as: UTF8.self) + " " + (row.errorMessage ?? "") }
            }
            return text
        }
    }

    func expectNoSecret(_ sources: [(name: String, bytes: Data)], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!sources.isEmpty, sourceLocation: sourceLocation)
        for (name, bytes) in sources {
            for secret in [Self.key, Self.headerSecret] {
                #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(secret) found in \(name)", sourceLocation: sourceLocation)
            }
        }
    }

    /// An errors-file line's message: the gateway's body for an HTTP error, sluice's own otherwise.
    func message(_ line: [String: Any]) -> String? {
        let body = (line["response"] as? [String: Any])?["body"] as? [String: Any]
        return ((body ?? line)["error"] as? [String: Any])?["message"] as? String
    }

    func output(_ name: String, _ finished: Finished) -> [(name: String, bytes: Data)] {
        [("\(name) stdout", Data(finished.stdout.utf8)), ("\(name) stderr", Data(finished.stderr.utf8))]
    }

    /// status, every export format and the HTML report of the checkpoint, with what each printed.
    func inspect(_ db: String, in dir: TemporaryDirectory) async throws -> [(name: String, bytes: Data)] {
        var printed: [(name: String, bytes: Data)] = []
        for arguments in [["status", db], ["status", db, "--json"], ["report", db, "--html", dir.file("report.html")]] {
            let finished = try await runSluice(arguments)
            #expect(finished.status == 0, "\(arguments): \(finished.stderr)")
            printed += output(arguments.joined(separator: " "), finished)
        }
        for format in ExportFormat.allCases {
            let finished = try await runSluice(["export", db, "--format", format.rawValue, "--output", dir.file("export.\(format.rawValue)")])
            #expect(finished.status == 0, "\(format): \(finished.stderr)")
            printed += output("export \(format.rawValue)", finished)
        }
        #expect(FileManager.default.fileExists(atPath: dir.file("report.html")))
        return printed
    }

    @Test func liveErrorsThatEchoTheKeyAndAHeaderSecretLeaveNoTrace() async throws {
        let mock = try await MockGatewayProcess(["--api-key", Self.key, "--echo-credentials", "--p400", "0.3", "--latency-ms", "10-30"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 300)
        let db = dir.file("in.results.jsonl.sluice.db")
        let arguments = [
            "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--concurrency", "4", "--no-progress",
            "--header-env", "x-api-key=AZURE_HDR", "--log-level", "debug", "--log-format", "json",
        ]
        var seen: [(name: String, bytes: Data)] = []
        // Killed mid-job: the checkpoint and its write-ahead log as a crash leaves them.
        let killed = try Child(Binaries.sluice, arguments, environment: Self.environment)
        try await waitFor { ((try? checkpointCount(db, "state IN (2, 3)")) ?? 0) >= 40 }
        killed.signal(SIGKILL)
        seen += output("killed run", await killed.wait())
        #expect(FileManager.default.fileExists(atPath: db + "-wal"), "the kill left a write-ahead log to scan")
        seen += try files(in: dir).map { ("after the kill: \($0.name)", $0.bytes) }

        // Interrupted: the resume command names the variable, never its value.
        let interrupted = try Child(Binaries.sluice, arguments, environment: Self.environment)
        try await waitFor { ((try? checkpointCount(db, "state IN (2, 3)")) ?? 0) >= 120 }
        interrupted.signal(SIGINT)
        let stopped = await interrupted.wait()
        #expect(stopped.status == 130, "\(stopped.stderr)")
        #expect(stopped.stderr.contains("--header-env x-api-key=AZURE_HDR"), "\(stopped.stderr)")
        seen += output("interrupted run", stopped)

        let finished = try await runSluice(arguments, environment: Self.environment)
        #expect(finished.status == 1, "some items were refused with 400: \(finished.stderr)")
        #expect(finished.stderr.contains(#""level":"debug""#), "JSON logs at debug level")
        seen += output("last run", finished)

        // The echo happened, with both secrets, and what was stored of it is scrubbed.
        let stats = try await mock.stats()
        #expect(stats.count("echoed", "live_error authorization") > 20, "\(stats.raw["echoed"] ?? "none")")
        #expect(stats.count("echoed", "live_error x-api-key") > 20, "\(stats.raw["echoed"] ?? "none")")
        let errors = try readJSONLines(dir.file("in.errors.jsonl"))
        let messages = errors.compactMap(message)
        #expect(!messages.isEmpty && messages.allSatisfy { $0.contains("authorization: Bearer [REDACTED]; x-api-key: [REDACTED]") }, "\(messages.prefix(2))")
        let stored = try await storedText(db)
        #expect(stored.contains(#""headerEnv":{"x-api-key":"AZURE_HDR"}"#))
        #expect(stored.contains("x-api-key: [REDACTED]"))
        // Stored bodies are compressed: a byte search of the database alone could not see into them.
        #expect(try checkpointCount(db, "state = 3 AND substr(response, 1, 1) = x'02'") > 0)
        seen.append(("checkpoint read decompressed", Data(stored.utf8)))
        seen += try await inspect(db, in: dir)
        seen += try files(in: dir)
        expectNoSecret(seen)
    }

    @Test func batchErrorAndOutputLinesThatEchoTheSecretsLeaveNoTrace() async throws {
        let mock = try await MockGatewayProcess(["--api-key", Self.key, "--echo-credentials", "--batch-seconds", "0.3"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 60)
        let db = dir.file("in.results.jsonl.sluice.db")
        let run = try await runSluice(
            [
                "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--mode", "batch", "--poll-interval", "0.1",
                "--header-env", "x-api-key=AZURE_HDR", "--log-level", "trace",
            ], environment: Self.environment)
        #expect(run.status == 1, "the echoing error line fails its item: \(run.stderr)")
        #expect(run.stderr.contains("trace sluice") || run.stderr.contains("debug sluice"), "verbose logging was on")

        let stats = try await mock.stats()
        for place in ["batch_error_line", "batch_output_line"] {
            for header in ["authorization", "x-api-key"] {
                #expect(stats.count("echoed", "\(place) \(header)") == 1, "\(place) \(header): \(stats.raw["echoed"] ?? "none")")
            }
        }
        let errors = try readJSONLines(dir.file("in.errors.jsonl"))
        #expect(errors.count == 1)
        #expect(errors.first.flatMap(message) == "Invalid request (presented: authorization: Bearer [REDACTED]; x-api-key: [REDACTED])", "\(errors)")
        let results = try String(contentsOfFile: dir.file("in.results.jsonl"), encoding: .utf8)
        #expect(results.contains(#""mock_echo":"authorization: Bearer [REDACTED]; x-api-key: [REDACTED]""#))
        let stored = try await storedText(db)
        #expect(stored.contains(#""mock_echo":"authorization: Bearer [REDACTED]; x-api-key: [REDACTED]""#))
        var seen = output("batch run", run) + [("checkpoint read decompressed", Data(stored.utf8))]
        seen += try await inspect(db, in: dir)
        seen += try files(in: dir)
        expectNoSecret(seen)
    }

    @Test func aBatchAPIRefusalThatEchoesTheSecretsIsReportedScrubbed() async throws {
        let mock = try await MockGatewayProcess(["--api-key", "fp_the_right_key_9", "--echo-credentials", "--batch-seconds", "0.2"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 5)
        let run = try await runSluice(
            [
                "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--mode", "batch", "--poll-interval", "0.1",
                "--header-env", "x-api-key=AZURE_HDR", "--log-level", "trace",
            ], environment: Self.environment)
        #expect(run.status == 1, "\(run.stderr)")
        let refusal = "HTTP 401 from POST /v1/files: Invalid or missing API key (presented: authorization: Bearer [REDACTED]; x-api-key: [REDACTED])"
        #expect(run.stderr.contains(refusal), "\(run.stderr)")
        let stats = try await mock.stats()
        #expect(stats.count("echoed", "batch_api_error authorization") >= 1 && stats.count("echoed", "batch_api_error x-api-key") >= 1)
        expectNoSecret(output("refused batch run", run) + (try files(in: dir)))
    }

    static let credentialHeaders = [
        "x-api-key", "api-key", "X-Portkey-Api-Key", "x-portkey-virtual-key", "Helicone-Auth", "X-Session-Token", "x-client-secret",
        "Authorization", "Proxy-Authorization", "Cookie",
    ]

    @Test func aCredentialHeaderValueIsRefusedOnTheCommandLineAndInAJobFile() async throws {
        let mock = try await MockGatewayProcess()
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 3)
        let value = "typed-secret-value-42"
        for name in Self.credentialHeaders {
            let job = dir.file("job.json")
            let object: [String: Any] = ["inputs": [input], "model": "m", "base_url": mock.baseURL, "headers": [name: value]]
            writeFile(job, try JSONSerialization.data(withJSONObject: object))
            let flag = try await runSluice(["run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--header", "\(name): \(value)"])
            let file = try await runSluice(["run", job])
            for (source, finished) in [("--header", flag), ("job file", file)] {
                #expect(finished.status == 2, "\(name) in \(source): \(finished.stderr)")
                #expect(finished.stderr.contains("--header-env"), "\(name) in \(source): \(finished.stderr)")
                #expect(!(finished.stdout + finished.stderr).contains(value), "\(name) in \(source)")
            }
        }
        #expect(try await mock.stats().totalRequests == 0)
        #expect(!FileManager.default.fileExists(atPath: dir.file("in.results.jsonl.sluice.db")), "nothing was started")
    }

    @Test func aHeaderEnvVariableThatIsNotSetStopsTheJobBeforeAnythingIsSent() async throws {
        let mock = try await MockGatewayProcess()
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 3)
        let finished = try await runSluice([
            "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--header-env", "x-portkey-virtual-key=SLUICE_TEST_UNSET_VK",
        ])
        #expect(finished.status == 2, "\(finished.stderr)")
        #expect(finished.stderr.contains("the environment variable SLUICE_TEST_UNSET_VK is not set"), "\(finished.stderr)")
        #expect(try await mock.stats().totalRequests == 0)
        #expect(!FileManager.default.fileExists(atPath: dir.file("in.results.jsonl.sluice.db")))
    }
}
