import Foundation
import Testing

/// A re-ask that says what was wrong, against sluice-mock's `mock-stubborn-json`, which answers prose until the
/// last user message carries a checker's reason, then `{"label": "yes", "question": <that message>}`.
@Suite(.serialized)
struct ReaskIntegrationTests {
    static let items = 4

    func lines(_ dir: TemporaryDirectory, responses: Bool = false) -> String {
        let path = dir.file("in.jsonl")
        let text = (0..<Self.items).map { index in
            responses
                ? #"{"custom_id":"q\#(index)","method":"POST","url":"/v1/responses","body":{"input":"Is \#(index) even?"}}"#
                : #"{"id":"q\#(index)","messages":[{"role":"user","content":"Is \#(index) even?"}],"temperature":0}"#
        }.joined(separator: "\n")
        writeFile(path, Data((text + "\n").utf8))
        return path
    }

    func run(_ dir: TemporaryDirectory, _ mock: MockGatewayProcess, _ extra: [String], responses: Bool = false) async throws -> Finished {
        let input = lines(dir, responses: responses)
        return try await runSluice(
            [
                "run", "--input", input, "--model", "mock-stubborn-json", "--base-url", mock.baseURL, "--no-progress", "--expect-json",
                "--output-retries", "2",
            ] + extra)
    }

    /// What the model said in the end, per item: the `question` of its JSON answer (the last user message it saw).
    func toldMessages(_ dir: TemporaryDirectory) async throws -> [String] {
        let flat = try await runSluice(["export", dir.file("in.results.jsonl.sluice.db"), "--format", "flat", "--output", "-"])
        return try flat.stdout.split(separator: "\n").map { line in
            let row = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return ((row?["parsed"] as? [String: Any])?["question"] as? String) ?? ""
        }
    }

    /// The default (`--reask reason`): every item is answered on its second attempt, and the second request is
    /// another body (the conversation grew), whose last user message told the model why.
    @Test(arguments: [false, true])
    func withTheReasonEveryItemSucceedsOnItsSecondAttempt(responses: Bool) async throws {
        let mock = try await MockGatewayProcess(["--record-requests", "100"])
        let dir = TemporaryDirectory()
        let run = try await run(dir, mock, [], responses: responses)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("answers    \(Self.items) not the JSON asked for (\(Self.items) sent again"), "\(run.stdout)")
        let stats = try await mock.stats()
        #expect(stats.totalRequests == 2 * Self.items, "two attempts per item")
        let bodies = stats.bodies
        #expect(bodies.count == 2 * Self.items && bodies.values.allSatisfy { $0 == 1 }, "the re-ask is not the same body: \(bodies)")
        let told = try await toldMessages(dir)
        #expect(told.count == Self.items)
        for message in told {
            #expect(message.hasPrefix("Your answer is not JSON ("), "\(message)")
            #expect(message.hasSuffix("Answer again with JSON only."), "\(message)")
        }
        // What the mock received: each second request ends with the prose answer and the message with the reason.
        let sent = try await recordedConversations(mock, key: responses ? "input" : "messages")
        let reasks = sent.filter { $0.count == 3 }
        #expect(sent.count == 2 * Self.items && reasks.count == Self.items, "\(sent)")
        for turns in reasks {
            #expect(turns.map { $0["role"] as? String ?? "" } == ["user", "assistant", "user"])
            #expect(turns[1]["content"] as? String == "Sure! The label is yes.")
            #expect((turns[2]["content"] as? String)?.hasPrefix("Your answer is not JSON (") == true, "\(turns)")
        }
        let status = try await runSluice(["status", dir.file("in.results.jsonl.sluice.db"), "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any]
        let requests = try #require(object?["requests"] as? [String: Any], "\(status.stdout)")
        #expect(requests["attempts"] as? Int == 2 * Self.items && requests["retries"] as? Int == Self.items, "\(requests)")
    }

    /// The conversation of each request the mock recorded (`--record-requests`); a Responses text input is one turn.
    func recordedConversations(_ mock: MockGatewayProcess, key: String) async throws -> [[[String: Any]]] {
        let data = try await httpGet("http://127.0.0.1:\(mock.port)/stats/requests")
        let list = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
        return list.map { request in
            let value = (request["body"] as? [String: Any])?[key]
            if let text = value as? String { return [["role": "user", "content": text]] }
            return value as? [[String: Any]] ?? []
        }
    }

    /// `--reask same` is the behaviour before re-asks said why: the stubborn model never learns, every item fails.
    @Test func theSameRequestAgainFailsAsInvalidOutput() async throws {
        let mock = try await MockGatewayProcess()
        let dir = TemporaryDirectory()
        let run = try await run(dir, mock, ["--reask", "same"])
        #expect(run.status == 1, "\(run.stderr)")
        let stats = try await mock.stats()
        #expect(stats.totalRequests == 3 * Self.items, "1 attempt and 2 re-asks per item")
        let bodies = stats.bodies
        #expect(bodies.count == Self.items && bodies.values.allSatisfy { $0 == 3 }, "each re-ask is the same body: \(bodies)")
        let errors = try readJSONLines(dir.file("in.errors.jsonl"))
        #expect(errors.count == Self.items)
        #expect(errors.allSatisfy { ($0["error"] as? [String: Any])?["code"] as? String == "invalid_output" }, "\(errors)")
    }

    /// Identical lines still share one answer: the leader's re-ask is its own, and the accepted answer goes to the
    /// others (never a re-ask looked up by its own body). A later job with --reuse finds an answer accepted after a
    /// re-ask by the line's own request (the lone line, which no identical line answered too).
    @Test func identicalRequestsShareTheAcceptedAnswer() async throws {
        let mock = try await MockGatewayProcess()
        let dir = TemporaryDirectory()
        let shared = #"{"messages":[{"role":"user","content":"Is it even?"}]}"#
        let lone = #"{"messages":[{"role":"user","content":"Is it odd?"}]}"#
        writeFile(dir.file("in.jsonl"), Data(([shared, shared, shared, lone].joined(separator: "\n") + "\n").utf8))
        let run = try await runSluice([
            "run", "--input", dir.file("in.jsonl"), "--model", "mock-stubborn-json", "--base-url", mock.baseURL, "--no-progress",
            "--expect-json", "--concurrency", "1",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try await mock.stats().totalRequests == 4, "two items asked twice, two shared the first one's answer")
        let told = try await toldMessages(dir)
        #expect(told.count == 4 && told.allSatisfy { $0.hasPrefix("Your answer is not JSON (") }, "\(told)")

        writeFile(dir.file("again.jsonl"), Data((lone + "\n").utf8))
        let reused = try await runSluice([
            "run", "--input", dir.file("again.jsonl"), "--model", "mock-stubborn-json", "--base-url", mock.baseURL, "--no-progress",
            "--expect-json", "--reuse", dir.file("in.results.jsonl.sluice.db"),
        ])
        #expect(reused.status == 0, "\(reused.stderr)")
        #expect(try await mock.stats().totalRequests == 4, "the line's own request found the accepted answer")
    }

    /// `--reask-message` is the user message sent, with the checker's reason in place of `{reason}`.
    @Test func theTemplateIsTheMessageSent() async throws {
        let mock = try await MockGatewayProcess()
        let dir = TemporaryDirectory()
        let run = try await run(dir, mock, ["--reask-message", "Please fix it: the reply {reason}!"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try await mock.stats().totalRequests == 2 * Self.items)
        for message in try await toldMessages(dir) {
            #expect(message.hasPrefix("Please fix it: the reply is not JSON (") && message.hasSuffix("!"), "\(message)")
        }
        let refused = try await runSluice(["run", "--input", dir.file("in.jsonl"), "--base-url", mock.baseURL, "--reask-message", "Again."])
        #expect(refused.status == 2 && refused.stderr.contains("--reask-message"), "\(refused.stderr)")
    }

    /// `--mode batch` and `auto`: a batch's invalid answers go into a follow-up batch whose lines carry the answer
    /// and the reason (in `auto` too, before any `--deadline`: nothing goes live).
    @Test(arguments: ["batch", "auto"])
    func aBatchsInvalidAnswersGoToAFollowUpBatchWithTheReason(mode: String) async throws {
        let mock = try await MockGatewayProcess(["--batch-seconds", "0.2"])
        let dir = TemporaryDirectory()
        let run = try await run(dir, mock, ["--mode", mode, "--poll-interval", "0.1"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("answers    \(Self.items) not the JSON asked for (\(Self.items) sent again"), "\(run.stdout)")
        let stats = try await mock.stats()
        let batch = stats.raw["batch"] as? [String: Any] ?? [:]
        #expect(batch["batches_created"] as? Int == 2 && batch["lines_answered"] as? Int == 2 * Self.items, "\(batch)")
        #expect(stats.totalRequests == 0, "nothing went live")
        let told = try await toldMessages(dir)
        #expect(told.count == Self.items && told.allSatisfy { $0.hasPrefix("Your answer is not JSON (") }, "\(told)")
    }

    /// `--mode batch --reask same`: the line goes to a later batch as it was, as before, and fails there again.
    @Test func aBatchWithTheSameRequestAgainFails() async throws {
        let mock = try await MockGatewayProcess(["--batch-seconds", "0.2"])
        let dir = TemporaryDirectory()
        let run = try await run(dir, mock, ["--mode", "batch", "--poll-interval", "0.1", "--reask", "same", "--max-attempts", "2"])
        #expect(run.status == 1, "\(run.stderr)")
        let batch = try await mock.stats().raw["batch"] as? [String: Any] ?? [:]
        #expect(batch["batches_created"] as? Int == 2 && batch["lines_answered"] as? Int == 2 * Self.items, "\(batch)")
        let failed = try queryCheckpoint(dir.file("in.results.jsonl.sluice.db"), "SELECT error_code FROM items WHERE state = 3")
        #expect(failed.count == Self.items && failed.allSatisfy { $0 == ["invalid_output"] }, "\(failed)")
    }
}
