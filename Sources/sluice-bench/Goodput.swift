import Foundation

/// `make bench`'s goodput table: how much of sluice's own fault-free rate
/// survives the faults real gateways produce. Every row runs in the same
/// `make bench` as the fault-free row it is compared with: C = 32, latency
/// 20-60 ms, the release binaries.
extension Measurements {
    func goodput(items: Int) async throws -> [BenchRow] {
        let latency = ["--latency-ms", "20-60"]
        let base = try await gatewayRun("goodput-clean", items: items, mock: latency, sluice: ["--concurrency", "32"])
        var rows = [
            BenchRow(
                measurement: "goodput, fault-free gateway, C = 32, L = 20-60 ms, \(format(Double(items))) items (reference)",
                figure: "\(format(base.rate)) items/s (\(format(base.wall, 1)) s)", target: "-", met: nil)
        ]

        let sporadic = try await gatewayRun(
            "goodput-429", items: items, mock: latency + ["--p429", "0.03", "--retry-after", "1"],
            sluice: ["--concurrency", "32", "--max-attempts", "20"])
        rows.append(ratioRow("3 % sporadic 429 with Retry-After 1 s", sporadic, base, target: 0.85))

        let faults = try await gatewayRun(
            "goodput-5xx", items: items, mock: latency + ["--p503", "0.03", "--pdrop", "0.01"],
            sluice: ["--concurrency", "32", "--max-attempts", "20"])
        rows.append(ratioRow("3 % 503 + 1 % dropped connections", faults, base, target: 0.85))

        // A binding window: 1,200 per minute, the first 1,200 pass at once, the other 800 once it slides.
        let windowItems = 2000
        let window = try await gatewayRun(
            "goodput-rpm", items: windowItems, mock: latency + ["--rpm", "1200"],
            sluice: ["--concurrency", "32", "--max-attempts", "50"])
        let ideal = 60 + Double(windowItems - 1200) / base.rate
        let refusedShare = Double(window.refused) / Double(max(window.requests, 1))
        rows.append(
            BenchRow(
                measurement: "`--rpm 1200` sliding window, \(format(Double(windowItems))) items: time against the ideal (\(format(ideal, 1)) s)",
                figure: "\(format(window.wall / ideal, 3))x (\(format(window.wall, 1)) s), \(format(refusedShare * 100, 1)) % refused (\(window.refused))",
                target: "≤ 1.1x, ≤ 5 % refused", met: window.wall <= ideal * 1.1 && refusedShare <= 0.05))

        // A capacity limit: 429 without Retry-After above 8 in flight, against exactly 8 on an unlimited gateway.
        let capacityItems = max(items / 4, 1000)
        let eight = try await gatewayRun("goodput-c8", items: capacityItems, mock: latency, sluice: ["--concurrency", "8", "--no-adaptive"])
        let limited = try await gatewayRun(
            "goodput-inflight", items: capacityItems, mock: latency + ["--max-inflight", "8"],
            sluice: ["--concurrency", "32", "--max-attempts", "50"])
        let capacityShare = Double(limited.refused) / Double(max(limited.requests, 1))
        rows.append(
            BenchRow(
                measurement:
                    "`--max-inflight 8`, `--concurrency 32`, \(format(Double(capacityItems))) items, against `--concurrency 8 --no-adaptive` unlimited (\(format(eight.rate)) items/s)",
                figure: "\(format(limited.rate / eight.rate, 3)) (\(format(limited.rate)) items/s), \(format(capacityShare * 100, 1)) % refused",
                target: "≥ 0.8, ≤ 5 % refused", met: limited.rate / eight.rate >= 0.8 && capacityShare <= 0.05))
        return rows
    }

    private func ratioRow(_ what: String, _ run: GatewayRun, _ base: GatewayRun, target: Double) -> BenchRow {
        let ratio = run.rate / base.rate
        return BenchRow(
            measurement: "goodput, \(what)", figure: "\(format(ratio, 3)) of fault-free (\(format(run.rate)) items/s, \(format(run.wall, 1)) s)",
            target: "≥ \(format(target, 2))", met: ratio >= target)
    }

    struct GatewayRun {
        var wall: Double
        var rate: Double
        var requests: Int
        var refused: Int
    }

    /// One sluice run against a fresh mock; the rate counts items, retries not included.
    func gatewayRun(_ name: String, items: Int, mock arguments: [String], sluice extra: [String]) async throws -> GatewayRun {
        let dir = try folder(name)
        let input = dir + "/in.jsonl"
        try Workloads.writePrompts(input, count: items)
        let mock = try await MockProcess(binDirectory: binDirectory, workDirectory: dir, arguments + ["--no-body-counts", "--threads", "1"])
        defer { mock.stop() }
        let run = try runSluice(dir, input: input, mock: mock, extra)
        return GatewayRun(
            wall: run.wall, rate: Double(items) / run.wall, requests: try await mock.totalRequests(),
            refused: try await mock.status(429))
    }
}
