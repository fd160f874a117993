import Foundation
import Testing

@testable import SluiceCore

/// The bad-input corpus (Tests/SluiceTests/Fixtures/bad-input): for each file, the exact
/// error a user sees, the exit code, and that the good lines still ran.
@Suite(.serialized)
struct BadInputTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/bad-input").path

    struct Case: CustomTestStringConvertible, Sendable {
        var file: String
        var status: Int32
        var message: String?
        /// Requests that reach the gateway (the good lines).
        var sent: Int
        var testDescription: String { file }
    }

    static let cases: [Case] = [
        Case(file: "invalid-json.jsonl", status: 1, message: "invalid-json.jsonl:2: invalid JSON: ", sent: 2),
        Case(file: "array.jsonl", status: 1, message: "array.jsonl:1: expected a JSON object, got an array", sent: 1),
        Case(file: "number.jsonl", status: 1, message: "number.jsonl:2: expected a JSON object, got a number", sent: 1),
        Case(file: "invalid-utf8.jsonl", status: 1, message: "invalid-utf8.jsonl:1: invalid UTF-8 at byte 27 of the line", sent: 1),
        Case(file: "empty.jsonl", status: 2, message: "empty.jsonl: the input is empty (no lines to send)", sent: 0),
        Case(file: "blank-lines.jsonl", status: 0, message: nil, sent: 2),
        Case(
            file: "missing-prompt.jsonl", status: 1, message: #"missing-prompt.jsonl:1: line has neither "messages", "prompt", "inputs" nor a batch "body""#,
            sent: 1),
        Case(file: "unknown-url.jsonl", status: 1, message: #"unknown-url.jsonl:1: unknown url "/v1/images/generations""#, sent: 1),
        Case(file: "get-method.jsonl", status: 1, message: "get-method.jsonl:1: method must be POST, got GET", sent: 1),
        Case(file: "duplicate-ids.jsonl", status: 1, message: #"duplicate-ids.jsonl:3: duplicate custom_id "ok-1" (first at "#, sent: 2),
        Case(file: "not-gzip.jsonl.gz", status: 0, message: nil, sent: 2),
    ]

    @Test(arguments: cases)
    func corpusFileGivesItsExactError(_ example: Case) async throws {
        let mock = try await MockGatewayProcess()
        let dir = TemporaryDirectory()
        let run = try await runSluice([
            "run", "--input", "\(Self.fixtures)/\(example.file)", "--model", "m", "--base-url", mock.baseURL,
            "--output", dir.file("out.jsonl"), "--no-progress",
        ])
        #expect(run.status == example.status, "\(run.stderr)")
        if let message = example.message { #expect(run.stderr.contains(message), "\(run.stderr)") }
        #expect(!run.stderr.contains("Fatal error"))
        #expect(try await mock.stats().totalRequests == example.sent)
        if example.status == 1 {
            let errors = try readJSONLines(dir.file("out.errors.jsonl"))
            #expect(errors.count == 1)
            let message = (errors.first?["error"] as? [String: Any])?["message"] as? String
            #expect(message?.contains(example.message ?? "?") == true)
        }
    }

    @Test func hugeLineIsRejectedWithoutStoppingTheJob() async throws {
        let mock = try await MockGatewayProcess()
        let dir = TemporaryDirectory()
        let huge = #"{"id":"huge","prompt":""# + String(repeating: "a", count: 20 << 20) + #""}"#
        let text = #"{"id":"a","prompt":"small"}"# + "\n" + huge + "\n" + #"{"id":"b","prompt":"small too"}"# + "\n"
        writeFile(dir.file("huge.jsonl"), Data(text.utf8))
        let run = try await runSluice(["run", "--input", dir.file("huge.jsonl"), "--model", "m", "--base-url", mock.baseURL, "--no-progress"])
        #expect(run.status == 1)
        #expect(run.stderr.contains("huge.jsonl:2: line is \(huge.utf8.count) bytes, over the limit of 8388608 bytes (--max-line-bytes)"))
        #expect(try await mock.stats().totalRequests == 2)
    }

    @Test func missingPathsDirectoriesAndBadJobFilesAreUsageErrors() async throws {
        let dir = TemporaryDirectory()
        let missing = try await runSluice(["run", "--input", dir.file("nope.jsonl"), "--model", "m", "--base-url", "http://127.0.0.1:9/v1"])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("nope.jsonl: cannot open input (No such file or directory)"))
        let directory = try await runSluice([
            "run", "--input", dir.path, "--model", "m", "--base-url", "http://127.0.0.1:9/v1", "--output", dir.file("o.jsonl"),
        ])
        #expect(directory.status == 2)
        #expect(directory.stderr.contains("is a directory, expected a JSONL file"))
        let unknown = try await runSluice(["run", "\(Self.fixtures)/unknown-key.json"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains(#"unknown-key.json: unknown key "concurency""#))
        let wrongType = try await runSluice(["run", "\(Self.fixtures)/wrong-type.json"])
        #expect(wrongType.status == 2)
        #expect(wrongType.stderr.contains(#"wrong-type.json: "max_attempts" must be an integer"#))
        let insecure = try await runSluice([
            "run", "--input", "\(Self.fixtures)/blank-lines.jsonl", "--model", "m", "--base-url", "http://gateway.example.com/v1",
        ])
        #expect(insecure.status == 2)
        #expect(insecure.stderr.contains("--allow-insecure-http"))
    }

    @Test func truncatedGzipKeepsWhatWasReadAcrossResumes() async throws {
        let mock = try await MockGatewayProcess()
        let dir = TemporaryDirectory()
        let text = (0..<2000).map { #"{"id":"i\#($0)","prompt":"number \#($0 * 104729) in words"}"# }.joined(separator: "\n")
        let whole = try Deflater(path: "t").compress(Array(text.utf8), finish: true)
        writeFile(dir.file("cut.jsonl.gz"), Data(whole.prefix(whole.count * 2 / 3)))
        let arguments = ["run", "--input", dir.file("cut.jsonl.gz"), "--model", "m", "--base-url", mock.baseURL, "--no-progress"]
        let first = try await runSluice(arguments)
        #expect(first.status == 1)
        #expect(first.stderr.contains("cut.jsonl.gz: gzip stream is truncated"))
        let sent = try await mock.stats().totalRequests
        // Running again sends nothing new and still reports the damage.
        let second = try await runSluice(arguments)
        #expect(second.status == 1)
        #expect(second.stderr.contains("gzip stream is truncated"))
        #expect(try await mock.stats().totalRequests == sent)
        #expect(try readJSONLines(dir.file("cut.results.jsonl")).count == sent)
    }

    @Test func corruptGzipRunsWhatWasReadBeforeTheDamage() async throws {
        let mock = try await MockGatewayProcess()
        let dir = TemporaryDirectory()
        let text = (0..<3000).map { #"{"id":"i\#($0)","prompt":"number \#($0 * 104729) in words"}"# }.joined(separator: "\n") + "\n"
        var bytes = try Deflater(path: "t").compress(Array(text.utf8), finish: true)
        // Garbage in the middle of the compressed data (the file is whole, not cut short).
        for offset in (bytes.count / 2)..<(bytes.count / 2 + 64) { bytes[offset] ^= 0x5A }
        writeFile(dir.file("bad.jsonl.gz"), Data(bytes))
        let finished = try await runSluice(["run", "--input", dir.file("bad.jsonl.gz"), "--model", "m", "--base-url", mock.baseURL, "--no-progress"])
        #expect(finished.status == 1)
        #expect(finished.stderr.contains("bad.jsonl.gz: gzip stream is corrupt ("), "\(finished.stderr)")
        let results = try readJSONLines(dir.file("bad.results.jsonl"))
        #expect(results.count > 100 && results.count < 3000)
        // The lines before the damage ran, in order (the last ones read may be garbage, reported as bad lines).
        #expect(results.prefix(100).map { $0["custom_id"] as? String } == (0..<100).map { "i\($0)" })
    }

    @Test func unreachableGatewayStopsWithoutLosingOrFailingAnything() async throws {
        let mock = try await MockGatewayProcess(["--p400", "0.5"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 40)
        let db = dir.file("in.results.jsonl.sluice.db")
        let first = try await runSluice(["run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress"])
        #expect(first.status == 1)
        let succeeded = try checkpointCount(db, "state = 2")
        #expect(succeeded > 0 && succeeded < 40)
        let unreachable = try await runSluice([
            "run", "--input", input, "--model", "m", "--base-url", "http://127.0.0.1:9/v1",
            "--retry-failed", "--max-attempts", "1", "--timeout", "2", "--no-progress",
        ])
        #expect(unreachable.status == 2)
        #expect(unreachable.stderr.contains("cannot reach the gateway at http://127.0.0.1:9/v1"))
        #expect(try checkpointCount(db, "state = 2") == succeeded)
        #expect(try checkpointCount(db, "state = 3") == 0)  // not marked failed: they wait, pending, for the next run
        #expect(try queryCheckpoint(db, "PRAGMA integrity_check").first?.first == "ok")
    }
}
