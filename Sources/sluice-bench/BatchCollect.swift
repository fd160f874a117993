import Foundation

extension Measurements {
    /// Collecting a provider batch's output file: streamed to a temporary file and read a line at a time, so
    /// peak RSS stays flat however large the file (it once held the whole download, then parsed it).
    func batchCollect(lines: Int, answerBytes: Int) async throws -> [BenchRow] {
        let dir = try folder("batch-collect")
        let input = dir + "/in.jsonl"
        _ = try Workloads.writePrompts(input, count: lines)
        let mock = try await MockProcess(
            binDirectory: binDirectory, workDirectory: dir, ["--no-body-counts", "--batch-seconds", "0.5", "--batch-answer-bytes", "\(answerBytes)"])
        let run = try runSluice(dir, input: input, mock: mock, ["--mode", "batch", "--poll-interval", "0.5"])
        mock.stop()
        try? FileManager.default.removeItem(atPath: dir)
        let outputMB = Double(lines * answerBytes) / 1e6
        return [
            BenchRow(
                measurement: "peak RSS collecting a \(format(Double(lines)))-line, ≥ \(format(outputMB, 0)) MB batch output",
                figure: "\(format(run.peakRSS, 1)) MB", target: "≤ 128 MB", met: run.peakRSS <= 128)
        ]
    }
}
