import Foundation

/// Several workers on one PostgreSQL job: do they add up, and what does the shared store cost per item?
extension Measurements {
    func sharedWorkers(items: Int) async throws -> [BenchRow] {
        let dir = try folder("shared")
        let postgres = try BenchPostgres(folder: dir + "/postgres")
        let input = dir + "/in.jsonl"
        try Workloads.writePrompts(input, count: items)
        let mock = try await MockProcess(binDirectory: binDirectory, workDirectory: dir, ["--latency-ms", "500", "--no-body-counts", "--threads", "2"])
        defer { mock.stop() }

        func workers(_ count: Int, job: String) throws -> (wall: Double, cpu: Double) {
            let start = ContinuousClock.now
            let children = try (0..<count).map { index in
                try ChildProcess(
                    binDirectory + "/sluice",
                    [
                        "run", "--input", input, "--model", "bench-model", "--base-url", mock.baseURL, "--output", dir + "/\(job).results.jsonl",
                        "--checkpoint", postgres.url + "?job=\(job)", "--concurrency", "64", "--no-adaptive", "--no-progress", "--timeout", "120",
                    ],
                    log: dir + "/\(job)-\(index).log")
            }
            let statuses = children.map { $0.wait() }
            guard statuses.allSatisfy({ $0 == 0 }) else { throw BenchError("a worker exited \(statuses); see \(dir)/\(job)-*.log") }
            return (seconds(since: start), children.reduce(0) { $0 + $1.cpuSeconds })
        }

        let one = try workers(1, job: "one")
        try postgres.resetStatements()
        let serverBefore = try postgres.cpuSeconds()
        let three = try workers(3, job: "three")
        let statements = try postgres.statements()
        let serverCPU = try postgres.cpuSeconds() - serverBefore
        let sqlite = try runSluice(dir, input: input, mock: mock, ["--concurrency", "192", "--no-adaptive"])

        let rateOne = Double(items) / one.wall
        let rateThree = Double(items) / three.wall
        let ratio = rateThree / (3 * rateOne)
        let perItem = { (seconds: Double) in format(seconds / Double(items) * 1e6, 1) }
        return [
            BenchRow(
                measurement: "3 workers vs 1 on one PostgreSQL job, C = 64 each, L = 500 ms (\(format(Double(items))) items)",
                figure: "\(format(ratio, 3)) of 3x (\(format(rateThree)) vs \(format(rateOne)) req/s)", target: "≥ 0.9", met: ratio >= 0.9),
            BenchRow(
                measurement: "PostgreSQL cost per item (3 workers; leases and outcomes in groups)",
                figure:
                    "\(format(Double(statements) / Double(items), 3)) statements; server CPU \(perItem(serverCPU)) µs; worker CPU \(perItem(three.cpu)) µs (SQLite, one worker at C = 192: \(perItem(sqlite.cpu)) µs)",
                target: "-", met: nil),
        ]
    }
}
