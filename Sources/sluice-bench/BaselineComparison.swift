import Foundation

/// This build's CPU per item and peak memory against an older build's (`make bench-baseline`), measured
/// in the same run, so the ratios hold on any machine: features must not quietly cost the per-item path.
extension Measurements {
    /// Where the baseline build came from: the commit `scripts/bench-baseline.sh` wrote beside its build folder.
    static func baselineName(_ binDirectory: String) -> String {
        let stamp = URL(fileURLWithPath: binDirectory).deletingLastPathComponent().appendingPathComponent("baseline-commit").path
        let commit = (try? String(contentsOfFile: stamp, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        return commit.isEmpty ? "the baseline" : String(commit.prefix(7))
    }

    /// Runs both builds `rounds` times, interleaved (this, baseline, this, ...), against one sluice-mock that
    /// answers at once, and compares the medians. Only flags the baseline knows are passed.
    func baselineComparison(baselineBin: String?, items: Int, rounds: Int) async throws -> [BenchRow] {
        let dir = try folder("baseline")
        let input = dir + "/in.jsonl"
        try Workloads.writePrompts(input, count: items)
        let mock = try await MockProcess(binDirectory: binDirectory, workDirectory: dir, ["--no-body-counts", "--threads", "1"])
        defer { mock.stop() }
        let baseline = baselineBin.map { $0 + "/sluice" }.flatMap { FileManager.default.isExecutableFile(atPath: $0) ? $0 : nil }
        var current: [SluiceRun] = []
        var old: [SluiceRun] = []
        // A fresh output and checkpoint for every run (a kept one would resume); removed after, they are large.
        func measure(_ sluice: String?, _ name: String) throws -> SluiceRun {
            let runDirectory = try folder("baseline/" + name)
            defer { try? FileManager.default.removeItem(atPath: runDirectory) }
            return try runSluice(runDirectory, input: input, mock: mock, ["--concurrency", "64"], sluice: sluice)
        }
        for round in 0..<rounds {
            current.append(try measure(nil, "current-\(round)"))
            if let baseline { old.append(try measure(baseline, "baseline-\(round)")) }
        }
        let cpu = median(current.map { $0.cpu / Double(items) * 1e6 })
        let rss = median(current.map(\.peakRSS))
        let what = "\(format(Double(items))) items, zero latency, C = 64, median of \(rounds)"
        guard let baselineBin, baseline != nil else {
            let why =
                baselineBin.map { "no sluice in \($0) (make bench-baseline)" }
                ?? "baseline not built (make bench-baseline, then --baseline-bin .build-baseline/release)"
            return [
                BenchRow(
                    measurement: "CPU per item and peak RSS against a baseline build (\(what))",
                    figure: "this build \(format(cpu)) µs, \(format(rss, 1)) MB; \(why)", target: "≤ 1.1 CPU, ≤ 1.15 RSS", met: nil)
            ]
        }
        let name = Self.baselineName(baselineBin)
        let oldCPU = median(old.map { $0.cpu / Double(items) * 1e6 })
        let oldRSS = median(old.map(\.peakRSS))
        return [
            BenchRow(
                measurement: "sluice CPU per item (user+sys) against \(name), same run (\(what))",
                figure: "\(format(cpu / oldCPU, 2))x (\(format(cpu)) µs against \(format(oldCPU)) µs)", target: "≤ 1.1x", met: cpu <= oldCPU * 1.1),
            BenchRow(
                measurement: "sluice peak RSS against \(name), same runs",
                figure: "\(format(rss / oldRSS, 2))x (\(format(rss, 1)) MB against \(format(oldRSS, 1)) MB)", target: "≤ 1.15x",
                met: rss <= oldRSS * 1.15),
        ]
    }

    private func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
