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

    /// `taskset` (util-linux), for the pinned rows.
    static let taskset = "/usr/bin/taskset"

    /// Runs both builds `rounds` times, interleaved (this, baseline, this, ...), against one sluice-mock that
    /// answers at once, and compares each pair of neighbouring runs (the median of the pair ratios, and their
    /// range: on a shared 2-core VM one build's runs vary by a third within minutes, and a pair shares the
    /// machine's state). Only flags the baseline knows are passed. With `taskset` and 2 cores or more, the same
    /// again with the mock on core 0 and sluice on core 1: the work per item without the scheduling of two
    /// busy processes over two cores (shown, not held to the target).
    func baselineComparison(baselineBin: String?, items: Int, rounds: Int) async throws -> [BenchRow] {
        let dir = try folder("baseline")
        let input = dir + "/in.jsonl"
        try Workloads.writePrompts(input, count: items)
        let baseline = baselineBin.map { $0 + "/sluice" }.flatMap { FileManager.default.isExecutableFile(atPath: $0) ? $0 : nil }
        let what = "\(format(Double(items))) items, zero latency, C = 64"
        guard let baselineBin, let baseline else {
            let current = try await pairs(dir: dir, input: input, baseline: nil, rounds: rounds, pinned: nil)
            let cpu = median(current.map { $0.current.cpu / Double(items) * 1e6 })
            let rss = median(current.map(\.current.peakRSS))
            let why =
                baselineBin.map { "no sluice in \($0) (make bench-baseline)" }
                ?? "baseline not built (make bench-baseline, then --baseline-bin .build-baseline/release)"
            return [
                BenchRow(
                    measurement: "CPU per item and peak RSS against a baseline build (\(what), median of \(rounds))",
                    figure: "this build \(format(cpu)) µs, \(format(rss, 1)) MB; \(why)", target: "≤ 1.1 CPU, ≤ 1.15 RSS", met: nil)
            ]
        }
        let name = Self.baselineName(baselineBin)
        let runs = try await pairs(dir: dir, input: input, baseline: baseline, rounds: rounds, pinned: nil)
        var rows = [
            cpuRow(
                runs, items: items, measurement: "sluice CPU per item (user+sys) against \(name), same run (\(what), \(rounds) interleaved pairs)", held: true),
            BenchRow(
                measurement: "sluice peak RSS against \(name), same runs",
                figure: ratioText(runs.map { $0.current.peakRSS / ($0.baseline?.peakRSS ?? 1) })
                    + " (\(format(median(runs.map(\.current.peakRSS)), 1)) MB against \(format(median(runs.compactMap(\.baseline?.peakRSS)), 1)) MB)",
                target: "≤ 1.15x", met: median(runs.map { $0.current.peakRSS / ($0.baseline?.peakRSS ?? 1) }) <= 1.15),
        ]
        let cores = Self.allowedCores()
        if cores.count >= 2, FileManager.default.isExecutableFile(atPath: Self.taskset) {
            let measurement = "the same, the mock pinned to core \(cores[0]) and sluice to core \(cores[1]) (taskset; shown, not held)"
            do {
                let pinned = try await pairs(dir: dir, input: input, baseline: baseline, rounds: rounds, pinned: (cores[0], cores[1]))
                rows.append(cpuRow(pinned, items: items, measurement: measurement, held: false))
            } catch {
                rows.append(BenchRow(measurement: measurement, figure: "not measured: \(error)", target: "-", met: nil))
            }
        }
        return rows
    }

    private typealias Pair = (current: SluiceRun, baseline: SluiceRun?)

    /// `rounds` pairs of runs against one mock: this build and the baseline's (when there is one), in turns first
    /// (so neither is always the one that follows the other). `pinned`: the mock's core and sluice's.
    private func pairs(dir: String, input: String, baseline: String?, rounds: Int, pinned: (mock: Int, sluice: Int)?) async throws -> [Pair] {
        let mock = try await MockProcess(binDirectory: binDirectory, workDirectory: dir, ["--no-body-counts", "--threads", "1"], core: pinned?.mock)
        defer { mock.stop() }
        // A fresh output and checkpoint for every run (a kept one would resume); removed after, they are large.
        func measure(_ sluice: String?, _ name: String) throws -> SluiceRun {
            let runDirectory = try folder("baseline/" + name)
            defer { try? FileManager.default.removeItem(atPath: runDirectory) }
            return try runSluice(runDirectory, input: input, mock: mock, ["--concurrency", "64"], sluice: sluice, core: pinned?.sluice)
        }
        return try (0..<rounds).map { round in
            guard let baseline, round % 2 == 1 else {
                return (try measure(nil, "current-\(round)"), try baseline.map { try measure($0, "baseline-\(round)") })
            }
            let old = try measure(baseline, "baseline-\(round)")
            return (try measure(nil, "current-\(round)"), old)
        }
    }

    /// The cores this process may run on (`Cpus_allowed_list` in /proc/self/status), in order.
    static func allowedCores() -> [Int] {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") })
        else { return [] }
        return line.dropFirst("Cpus_allowed_list:".count).split(separator: ",").flatMap { range -> [Int] in
            let ends = range.split(separator: "-").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard let low = ends.first, let high = ends.last, high >= low else { return [] }
            return Array(low...high)
        }
    }

    private func cpuRow(_ runs: [Pair], items: Int, measurement: String, held: Bool) -> BenchRow {
        let ratios = runs.compactMap { pair in pair.baseline.map { pair.current.cpu / $0.cpu } }
        let cpu = median(runs.map { $0.current.cpu / Double(items) * 1e6 })
        let old = median(runs.compactMap { $0.baseline.map { $0.cpu / Double(items) * 1e6 } })
        return BenchRow(
            measurement: measurement, figure: ratioText(ratios) + " (medians \(format(cpu)) µs against \(format(old)) µs)",
            target: held ? "≤ 1.1x" : "-", met: held ? median(ratios) <= 1.1 : nil)
    }

    /// The median pair ratio and the range of the pairs.
    private func ratioText(_ ratios: [Double]) -> String {
        guard let low = ratios.min(), let high = ratios.max() else { return "-" }
        return "\(format(median(ratios), 2))x (pairs \(format(low, 2))-\(format(high, 2)))"
    }

    private func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
