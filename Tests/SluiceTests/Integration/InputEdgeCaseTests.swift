import Foundation
import Testing

@testable import SluiceCore

/// Input a new user hands sluice on the first day: files saved by Windows editors, prompts piped in,
/// an output path that is a folder, a model name with a comma, empty keys and non-ASCII properties.
@Suite(.serialized)
struct InputEdgeCaseTests {
    @Test func byteOrderMarkBeforeTheFirstLineIsSkipped() async throws {
        let mock = try await MockGatewayProcess()
        let dir = TemporaryDirectory()
        let input = dir.file("bom.jsonl")
        writeFile(input, Data([0xEF, 0xBB, 0xBF]) + Data(#"{"id":"a","prompt":"one"}"#.utf8) + Data("\r\n".utf8) + Data(#"{"id":"b","prompt":"two"}"#.utf8))
        let run = try await runSluice(["run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try await mock.stats().totalRequests == 2)
        let results = try readJSONLines(dir.file("bom.results.jsonl"))
        #expect(results.compactMap { $0["custom_id"] as? String } == ["a", "b"])
    }

    @Test func standardInputIsSpooledAndAResumeReadsTheCopy() async throws {
        let mock = try await MockGatewayProcess()
        let dir = TemporaryDirectory()
        let prompts = dir.writePrompts("piped.jsonl", count: 30)
        let checkpoint = dir.file("state/job.sluice.db")
        let arguments = [
            "run", "--input", "-", "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--output", dir.file("out.jsonl"),
            "--checkpoint", checkpoint,
        ]
        let first = try await runSluice(arguments, standardInput: prompts)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("standard input is saved in \(dir.file("state/"))"), "\(first.stderr)")
        let spooled = try FileManager.default.contentsOfDirectory(atPath: dir.file("state")).filter { $0.contains(".stdin-") }
        #expect(spooled.count == 1, "\(spooled)")
        #expect(FileManager.default.contents(atPath: dir.file("state/\(spooled.first ?? "?")")) == FileManager.default.contents(atPath: prompts))
        #expect(try readJSONLines(dir.file("out.jsonl")).count == 30)

        // The same data piped again is the same job: nothing is sent twice.
        let again = try await runSluice(arguments, standardInput: prompts)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try await mock.stats().totalRequests == 30)

        // Different data under the same checkpoint is a changed input, refused before anything is sent.
        let other = dir.writePrompts("other.jsonl", count: 5, prefix: "o")
        let changed = try await runSluice(arguments, standardInput: other)
        #expect(changed.status == 2, "\(changed.stderr)")
        #expect(changed.stderr.contains("changed since the job started"), "\(changed.stderr)")
        #expect(try await mock.stats().totalRequests == 30)
    }

    @Test func anEmptyStandardInputIsAClearError() async throws {
        let dir = TemporaryDirectory()
        writeFile(dir.file("empty"), Data())
        let run = try await runSluice(
            ["run", "--input", "-", "--model", "m", "--base-url", "http://127.0.0.1:9/v1", "--output", dir.file("out.jsonl")],
            standardInput: dir.file("empty"))
        #expect(run.status == 2, "\(run.stderr)")
        #expect(run.stderr.contains("standard input: the input is empty"), "\(run.stderr)")
    }

    @Test func validateReadsStandardInputAndLeavesNothingBehind() async throws {
        let dir = TemporaryDirectory()
        let prompts = dir.writePrompts("p.jsonl", count: 12)
        let run = try await runSluice(["validate", "--input", "-", "--model", "m"], standardInput: prompts)
        #expect(run.status == 0, "\(run.stderr)")
        // Read through the spool: the twelve lines, every one a valid prompt, none a problem.
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first { $0.hasPrefix("sluice validate: ") }?.hasPrefix("sluice validate: 1 input, 12 lines read in ") == true, "\(run.stdout)")
        #expect(lines.contains("lines      12 requests · 0 problems · 0 blank"), "\(run.stdout)")
        #expect(lines.contains("shapes     prompt 12"), "\(run.stdout)")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory()).filter { $0.hasPrefix("sluice-validate-") }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }

    @Test func anOutputThatIsAFolderIsRefusedBeforeAnyRequest() async throws {
        let mock = try await MockGatewayProcess()
        let dir = TemporaryDirectory()
        let prompts = dir.writePrompts("p.jsonl", count: 5)
        try FileManager.default.createDirectory(atPath: dir.file("results"), withIntermediateDirectories: true)
        let run = try await runSluice([
            "run", "--input", prompts, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--output", dir.file("results"),
            "--errors", dir.file("errors.jsonl"), "--checkpoint", dir.file("job.db"),
        ])
        #expect(run.status == 2, "\(run.stderr)")
        #expect(run.stderr.contains("\(dir.file("results")): the results file is a folder"), "\(run.stderr)")
        #expect(try await mock.stats().totalRequests == 0)
    }

    @Test func aModelNameWithACommaIsRefused() async throws {
        let dir = TemporaryDirectory()
        let prompts = dir.writePrompts("p.jsonl", count: 2)
        let run = try await runSluice(["run", "--input", prompts, "--model", "gpt-4o,claude", "--base-url", "http://127.0.0.1:9/v1"])
        #expect(run.status == 2, "\(run.stderr)")
        #expect(run.stderr.contains(#"model "gpt-4o,claude" contains a comma"#), "\(run.stderr)")

        let mock = try await MockGatewayProcess()
        let lines = dir.file("lines.jsonl")
        writeFile(lines, Data((#"{"id":"x","prompt":"p","model":"a,b"}"# + "\n" + #"{"id":"y","prompt":"p"}"# + "\n").utf8))
        let perLine = try await runSluice(["run", "--input", lines, "--model", "m", "--base-url", mock.baseURL, "--no-progress"])
        #expect(perLine.status == 1, "\(perLine.stderr)")
        #expect(perLine.stderr.contains(#"lines.jsonl:1: "model" model "a,b" contains a comma"#), "\(perLine.stderr)")
        #expect(try await mock.stats().totalRequests == 1)
    }

    @Test func anEmptyCustomIDSaysItIsEmpty() async throws {
        let mock = try await MockGatewayProcess()
        let dir = TemporaryDirectory()
        let lines = dir.file("ids.jsonl")
        writeFile(lines, Data((#"{"custom_id":"","prompt":"p"}"# + "\n" + #"{"custom_id":"ok","prompt":"p"}"# + "\n").utf8))
        let run = try await runSluice(["run", "--input", lines, "--model", "m", "--base-url", mock.baseURL, "--no-progress"])
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stderr.contains("ids.jsonl:1: custom_id is empty"), "\(run.stderr)")
    }

    @Test func nonASCIIPropertyValuesArePercentEncoded() async throws {
        let mock = try await MockGatewayProcess()
        let dir = TemporaryDirectory()
        let lines = dir.file("p.jsonl")
        writeFile(lines, Data((#"{"id":"a","prompt":"p","properties":{"city":"Zürich"}}"# + "\n").utf8))
        let run = try await runSluice([
            "run", "--input", lines, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--property", "team=café 50%",
            "--property", "plain=ascii 50%",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let stats = try await mock.stats()
        #expect(stats.nested("properties", "team", "caf%C3%A9%2050%25") == 1, "\(stats.raw)")
        #expect(stats.nested("properties", "city", "Z%C3%BCrich") == 1, "\(stats.raw)")
        #expect(stats.nested("properties", "plain", "ascii 50%") == 1, "\(stats.raw)")
        // The checkpoint and status keep the text as written.
        let status = try await runSluice(["status", dir.file("p.results.jsonl.sluice.db"), "--json"])
        #expect(status.stdout.contains("Zürich") || status.stdout.contains("Z\\u00fcrich"), "\(status.stdout)")
    }
}
