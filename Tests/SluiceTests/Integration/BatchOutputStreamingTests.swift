import Foundation
import Testing

/// A provider batch's output file is streamed to a private temporary file and read back a line at a time:
/// collecting a large one must not take memory in proportion to it, and must leave no temporary file.
@Suite(.serialized)
struct BatchOutputStreamingTests {
    /// The child's peak resident set (VmHWM, which only grows) read from /proc while it runs, in bytes; the
    /// last reading before it exits stands for the whole run.
    func runWatchingMemory(_ arguments: [String], environment: [String: String], timeout: Double) async throws -> (Finished, Int) {
        let child = try Child(Binaries.sluice, arguments, environment: environment)
        var peak = 0
        let deadline = Date().addingTimeInterval(timeout)
        while child.process.isRunning && Date() < deadline {
            if let status = try? String(contentsOfFile: "/proc/\(child.pid)/status", encoding: .utf8),
                let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
                let kilobytes = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
            {
                peak = max(peak, kilobytes * 1024)
            }
            try await Task.sleep(nanoseconds: 5_000_000)
        }
        return (await child.wait(timeout: 1), peak)
    }

    /// One batch of `lines` answers of `answerBytes` each, collected by a real sluice: its peak RSS, after
    /// checking every item was answered once and no temporary file was left.
    func collectPeak(lines: Int, answerBytes: Int) async throws -> Int {
        let mock = try await MockGatewayProcess(["--batch-seconds", "0.3", "--batch-answer-bytes", "\(answerBytes)"])
        let dir = TemporaryDirectory()
        let scratch = dir.file("tmp")
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let input = dir.writePrompts("in.jsonl", count: lines)
        let (run, peak) = try await runWatchingMemory(
            [
                "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--mode", "batch", "--poll-interval", "0.2",
            ], environment: ["TMPDIR": scratch + "/"], timeout: 120)
        #expect(run.status == 0, "\(run.stderr)")
        let batch = try await mock.stats().raw["batch"] as? [String: Any] ?? [:]
        #expect(batch["lines_answered"] as? Int == lines && batch["custom_ids_answered_twice"] as? Int == 0, "\(batch)")
        let results = try readJSONLines(dir.file("in.results.jsonl"))
        #expect(results.compactMap { $0["custom_id"] as? String } == (0..<lines).map { "i\($0)" })
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch).isEmpty, "temporary files left in \(scratch)")
        #expect(peak > 0)
        return peak
    }

    /// The same batch with short answers and with 8,000-byte ones (a ≥ 91 MiB output file): the large file may
    /// add a quarter of its size at most to the peak (holding it whole added over twice its size).
    @Test func aLargeOutputFileIsCollectedWithBoundedMemoryAndNoTemporaryFileLeft() async throws {
        let lines = 12_000
        let small = try await collectPeak(lines: lines, answerBytes: 100)
        let large = try await collectPeak(lines: lines, answerBytes: 8_000)
        let outputBytes = lines * 8_000
        let shown = "peak RSS \(small / 1_048_576) MiB with short answers, \(large / 1_048_576) MiB collecting a \(outputBytes / 1_048_576) MiB output file"
        print("BatchOutputStreamingTests: \(shown)")
        #expect(large - small < outputBytes / 4, "\(shown)")
    }
}
