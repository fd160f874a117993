import Foundation

extension Measurements {
    /// Submitting a large job in batches: from the start of `sluice run --mode batch` (planning included) to the
    /// moment the gateway holds every batch. The mock's batches never finish here; sluice is stopped then.
    func batchSubmit(items: Int) async throws -> [BenchRow] {
        let dir = try folder("batch-submit")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let input = dir + "/in.jsonl"
        _ = try Workloads.writePrompts(input, count: items)
        let mock = try await MockProcess(binDirectory: binDirectory, workDirectory: dir, ["--no-body-counts", "--batch-seconds", "86400"])
        defer { mock.stop() }
        let linesPerBatch = 50_000
        let expected = (items + linesPerBatch - 1) / linesPerBatch
        let start = ContinuousClock.now
        let child = try ChildProcess(
            binDirectory + "/sluice",
            [
                "run", "--input", input, "--model", "bench-model", "--base-url", mock.baseURL, "--output", dir + "/out.results.jsonl",
                "--no-progress", "--mode", "batch", "--batch-max-lines", "\(linesPerBatch)", "--poll-interval", "5",
            ],
            log: dir + "/sluice.log")
        var created = 0
        while created < expected, seconds(since: start) < 600 {
            try await Task.sleep(for: .milliseconds(100))
            created = ((try await mock.stats()["batch"] as? [String: Any])?["batches_created"] as? Int) ?? 0
        }
        let elapsed = seconds(since: start)
        child.signal(SIGTERM)
        _ = child.wait()
        guard created == expected else { throw BenchError("\(created) of \(expected) batches created in 600 s; see \(dir)/sluice.log") }
        return [
            BenchRow(
                measurement:
                    "submitting \(format(Double(items))) items in batches (\(expected) files of \(format(Double(linesPerBatch))) lines; planning to the last batch created)",
                figure: "\(format(elapsed, 1)) s (\(format(Double(items) / elapsed)) items/s)", target: "≤ 60 s", met: elapsed <= 60)
        ]
    }
}
