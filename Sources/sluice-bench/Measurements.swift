import AsyncHTTPClient
import Foundation
import NIOCore
import SluiceCore
import Synchronization

/// The measurements of `make bench`. Each starts its own sluice-mock and runs the
/// real release `sluice` binary as a child process (except where the figure is
/// about a library stage alone: input reading and validation).
struct Measurements {
    let binDirectory: String
    let workDirectory: String
    let scale: Double

    func scaled(_ count: Int) -> Int { max(1000, Int(Double(count) * scale)) }

    func folder(_ name: String) throws -> String {
        let path = workDirectory + "/" + name
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    struct SluiceRun {
        var status: Int32
        var wall: Double
        var cpu: Double
        var peakRSS: Double
    }

    /// `sluice`: another binary than this build's (the baseline's) when given. `core`: run it on that core only
    /// (`taskset`, which execs it, so the rusage is still sluice's).
    func runSluice(_ dir: String, input: String, mock: MockProcess, _ extra: [String], sluice: String? = nil, core: Int? = nil) throws -> SluiceRun {
        let start = ContinuousClock.now
        let binary = sluice ?? binDirectory + "/sluice"
        let arguments =
            [
                "run", "--input", input, "--model", "bench-model", "--base-url", mock.baseURL,
                "--output", dir + "/out.results.jsonl", "--no-progress", "--timeout", "120",
            ] + extra
        let child =
            try core.map { try ChildProcess(Self.taskset, ["-c", String($0), binary] + arguments, log: dir + "/sluice.log") }
            ?? ChildProcess(binary, arguments, log: dir + "/sluice.log")
        let status = child.wait()
        let run = SluiceRun(status: status, wall: seconds(since: start), cpu: child.cpuSeconds, peakRSS: child.peakRSSMegabytes)
        guard status == 0 else { throw BenchError("sluice exited \(status); see \(dir)/sluice.log") }
        return run
    }

    // 1. Pipeline efficiency at LLM latencies.
    func efficiency(concurrency: Int, latency: Double, items: Int) async throws -> (BenchRow, SluiceRun) {
        let dir = try folder("efficiency-\(concurrency)")
        let input = dir + "/in.jsonl"
        try Workloads.writePrompts(input, count: items)
        let mock = try await MockProcess(
            binDirectory: binDirectory, workDirectory: dir,
            ["--latency-ms", String(Int(latency * 1000)), "--no-body-counts", "--threads", "2"])
        defer { mock.stop() }
        let run = try runSluice(dir, input: input, mock: mock, ["--concurrency", String(concurrency)])
        let bound = Double(concurrency) / latency
        let rate = Double(items) / run.wall
        let efficiency = rate / bound
        return (
            BenchRow(
                measurement: "efficiency, C = \(concurrency), L = \(format(latency * 1000)) ms (\(format(Double(items))) items, \(format(run.wall, 1)) s)",
                figure: "\(format(efficiency, 3)) (\(format(rate)) of \(format(bound)) req/s)", target: "≥ 0.95", met: efficiency >= 0.95), run
        )
    }

    // 2. CPU per item at zero latency, against a bare async-http-client loop.
    func cpuCost(items: Int) async throws -> [BenchRow] {
        let dir = try folder("cpu")
        let input = dir + "/in.jsonl"
        try Workloads.writePrompts(input, count: items)
        let mock = try await MockProcess(binDirectory: binDirectory, workDirectory: dir, ["--no-body-counts", "--threads", "1"])
        defer { mock.stop() }
        let run = try runSluice(dir, input: input, mock: mock, ["--concurrency", "64"])
        let perItem = run.cpu / Double(items) * 1e6
        let rate = Double(items) / run.wall
        let bare = try await bareClientLoop(mock: mock, items: items, concurrency: 64)
        return [
            BenchRow(
                measurement: "sluice CPU per item, zero latency, C = 64, checkpointing on (\(format(Double(items))) items)",
                figure: "\(format(perItem)) µs (user+sys \(format(run.cpu, 1)) s)", target: "≤ 150 µs", met: perItem <= 150),
            BenchRow(
                measurement: "sluice requests per second, same run", figure: "\(format(rate)) req/s",
                target: "≥ 5,200 (10x the Python runner's ~520)", met: rate >= 5200),
            BenchRow(
                measurement: "bare async-http-client loop, same requests, C = 64 (reference)",
                figure: "\(format(bare.perItem)) µs per request, \(format(bare.rate)) req/s", target: "-", met: nil),
        ]
    }

    /// The same requests through AsyncHTTPClient alone, measured in this process.
    private func bareClientLoop(mock: MockProcess, items: Int, concurrency: Int) async throws -> (perItem: Double, rate: Double) {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: concurrency)
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        let url = mock.baseURL + "/chat/completions"
        let next = Counter()
        var before = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &before)
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    while let index = next.take(below: items) {
                        var request = HTTPClientRequest(url: url)
                        request.method = .POST
                        request.headers.add(name: "Content-Type", value: "application/json")
                        let prompt = Workloads.promptLine(index)
                        request.body = .bytes(
                            ByteBuffer(string: #"{"model":"bench-model","messages":[{"role":"user","content":\#(JSONText.quoted(prompt))}]}"#))
                        let response = try await client.execute(request, timeout: .seconds(60))
                        _ = try await response.body.collect(upTo: 1 << 20)
                    }
                }
            }
            try await group.waitForAll()
        }
        let wall = seconds(since: start)
        var after = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &after)
        try await client.shutdown()
        func cpu(_ usage: rusage) -> Double {
            Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        }
        return ((cpu(after) - cpu(before)) / Double(items) * 1e6, Double(items) / wall)
    }

    // 3. Peak memory for a small and a large gzip input at C = 256.
    func memory(smallItems: Int, largeItems: Int) async throws -> [BenchRow] {
        var peaks: [Double] = []
        for items in [smallItems, largeItems] {
            let dir = try folder("memory-\(items)")
            let input = dir + "/in.jsonl.gz"
            try Workloads.writePrompts(input, count: items)
            let mock = try await MockProcess(binDirectory: binDirectory, workDirectory: dir, ["--no-body-counts"])
            let run = try runSluice(dir, input: input, mock: mock, ["--concurrency", "256"])
            mock.stop()
            peaks.append(run.peakRSS)
            try? FileManager.default.removeItem(atPath: dir)
        }
        let growth = (peaks[1] - peaks[0]) / peaks[0]
        return [
            BenchRow(
                measurement: "peak RSS, \(format(Double(smallItems))) items (gzip), C = 256", figure: "\(format(peaks[0], 1)) MB",
                target: "≤ 64 MB", met: peaks[0] <= 64),
            BenchRow(
                measurement: "peak RSS, \(format(Double(largeItems))) items (gzip), C = 256",
                figure: "\(format(peaks[1], 1)) MB (\(growth >= 0 ? "+" : "")\(format(growth * 100, 1)) %)",
                target: "≤ 64 MB and within 10 % of the small run", met: peaks[1] <= 64 && growth <= 0.10),
        ]
    }

    // 4. Input stages alone: gzip decompress-and-split, and full validation.
    func inputThroughput(uncompressedBytes: Int, validationLines: Int) throws -> [BenchRow] {
        let dir = try folder("input")
        let path = dir + "/big.jsonl.gz"
        let lineCount = uncompressedBytes / (Workloads.promptLine(1_000_000).utf8.count + 1) + 1
        let written = try Workloads.writePrompts(path, count: lineCount)
        var start = ContinuousClock.now
        let reader = LineReader(source: try openInput(path: path), maxLineBytes: 8 << 20)
        var bytes = 0
        var lines = 0
        while let line = try reader.next() { bytes += line.bytes.count + 1; lines += 1 }
        let splitRate = Double(bytes) / 1e6 / seconds(since: start)

        let parser = ItemParser(endpoint: "/v1/chat/completions", maxLineBytes: 8 << 20, bodyDefaults: [:], jobHasModel: true)
        let validating = LineReader(source: try openInput(path: path), maxLineBytes: 8 << 20)
        start = ContinuousClock.now
        var parsed = 0
        var problems = 0
        while parsed < validationLines, let line = try validating.next() {
            if parser.parse(line, fileIndex: 0, fileLabel: "big.jsonl.gz")?.problem != nil { problems += 1 }
            parsed += 1
        }
        let validationRate = Double(parsed) / seconds(since: start)
        try? FileManager.default.removeItem(atPath: dir)
        guard problems == 0, bytes == written else { throw BenchError("input benchmark read \(bytes) of \(written) bytes, \(problems) problems") }
        return [
            BenchRow(
                measurement: "gzip decompress and split, \(format(Double(written) / 1e9, 2)) GB uncompressed, \(format(Double(lines))) lines",
                figure: "\(format(splitRate)) MB/s", target: "≥ 150 MB/s", met: splitRate >= 150),
            BenchRow(
                measurement: "full validation (parse and plan every line), \(format(Double(parsed))) lines",
                figure: "\(format(validationRate)) lines/s", target: "≥ 80,000 lines/s", met: validationRate >= 80_000),
        ]
    }

    // 5. Resume of a large job that is almost done.
    func resume(items: Int, remaining: Int) async throws -> [BenchRow] {
        let dir = try folder("resume")
        let input = dir + "/in.jsonl"
        try Workloads.writePrompts(input, count: items)
        let checkpoint = dir + "/out.results.jsonl.sluice.db"
        let store = try await SQLiteCheckpointStore.open(path: checkpoint, role: .runner)
        let record = InputRecord(
            fileIndex: 0, path: input, fingerprint: try InputFingerprint.of(path: input),
            plannedLines: 0, planningComplete: false, planningError: nil)
        try await store.saveJobSettings("{}")
        try await store.saveInputs([record])
        let planner = Planner(
            parser: ItemParser(endpoint: "/v1/chat/completions", maxLineBytes: 8 << 20, bodyDefaults: [:], jobHasModel: true),
            inputs: [record], replanning: [], store: store, control: RunControl())
        _ = try await planner.plan()
        let answer = Array(
            #"{"id":"chatcmpl-done","object":"chat.completion","model":"bench-model","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}"#
                .utf8)
        var marked = 0
        while marked < items - remaining {
            let page = try await store.lease(limit: min(10_000, items - remaining - marked))
            guard !page.isEmpty else { break }
            try await store.record(
                page.map { item in
                    var outcome = ItemOutcome(id: item.id, succeeded: true, attempts: 1, headersSent: Array("{}".utf8), fallbacksUsed: 0, retries: 0)
                    outcome.httpStatus = 200
                    outcome.response = answer
                    return CheckpointEvent.finished(outcome)
                })
            marked += page.count
        }
        await store.close()

        let mock = try await MockProcess(binDirectory: binDirectory, workDirectory: dir, [])
        defer { mock.stop() }
        let start = ContinuousClock.now
        let child = try ChildProcess(
            binDirectory + "/sluice",
            [
                "run", "--input", input, "--model", "bench-model", "--base-url", mock.baseURL,
                "--output", dir + "/out.results.jsonl", "--no-progress", "--concurrency", "64",
            ],
            log: dir + "/sluice.log")
        var firstRequest: Double?
        while firstRequest == nil, seconds(since: start) < 120 {
            if try await mock.totalRequests() > 0 { firstRequest = seconds(since: start) } else { try await Task.sleep(nanoseconds: 5_000_000) }
        }
        let status = child.wait()
        let total = seconds(since: start)
        guard status == 0 else { throw BenchError("resumed sluice exited \(status); see \(dir)/sluice.log") }
        let sent = try await mock.totalRequests()
        let first = firstRequest ?? total
        return [
            BenchRow(
                measurement: "resume a \(format(Double(items))) item job with \(format(Double(marked))) done: first request",
                figure: "\(format(first, 2)) s", target: "≤ 2 s", met: first <= 2),
            BenchRow(
                measurement: "same resume: completion (\(format(Double(sent))) requests sent, \(format(Double(items))) results written)",
                figure: "\(format(total, 2)) s", target: "-", met: nil),
        ]
    }

    // 6. A rate-limited gateway: --rpm 6000 on the mock, answered with 429 beyond it.
    func rateLimited(duration: Double) async throws -> [BenchRow] {
        let dir = try folder("rate")
        let rpm = 6000.0
        let items = Int(rpm / 60 * duration)
        let input = dir + "/in.jsonl"
        try Workloads.writePrompts(input, count: items)
        let mock = try await MockProcess(binDirectory: binDirectory, workDirectory: dir, ["--rpm", "6000", "--latency-ms", "50", "--no-body-counts"])
        defer { mock.stop() }
        let start = ContinuousClock.now
        let child = try ChildProcess(
            binDirectory + "/sluice",
            [
                "run", "--input", input, "--model", "bench-model", "--base-url", mock.baseURL, "--rpm", "6000",
                "--output", dir + "/out.results.jsonl", "--no-progress", "--concurrency", "64", "--max-attempts", "20",
            ],
            log: dir + "/sluice.log")
        try await Task.sleep(nanoseconds: 30_000_000_000)
        let at30 = (ok: try await mock.status(200), limited: try await mock.status(429))
        let status = child.wait()
        let wall = seconds(since: start)
        guard status == 0 else { throw BenchError("sluice exited \(status); see \(dir)/sluice.log") }
        let ok = try await mock.status(200)
        let limited = try await mock.status(429)
        let achieved = Double(ok) / wall * 60 / rpm
        let laterRequests = (ok + limited) - (at30.ok + at30.limited)
        let laterPerThousand = laterRequests > 0 ? Double(limited - at30.limited) * 1000 / Double(laterRequests) : 0
        return [
            BenchRow(
                measurement: "rate-limited gateway (--rpm 6000, 50 ms), \(format(Double(items))) items: achieved rate",
                figure: "\(format(achieved, 3)) of 6,000/min (\(format(Double(ok) / wall * 60)) /min over \(format(wall, 1)) s)",
                target: "≥ 0.9", met: achieved >= 0.9),
            BenchRow(
                measurement: "same run: 429s per 1,000 requests after the first 30 s (in all: \(limited))",
                figure: format(laterPerThousand, 1), target: "≤ 10", met: laterPerThousand <= 10),
        ]
    }

    // 7. The mock alone, to show it is not the bottleneck.
    func mockAlone() async throws -> [BenchRow] {
        guard let wrk = ["/usr/bin/wrk", "/usr/local/bin/wrk"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            return [
                BenchRow(
                    measurement: "sluice-mock alone", figure: "not measured: wrk is not installed (apt-get install wrk)", target: "≥ 20,000 req/s", met: nil)
            ]
        }
        let dir = try folder("mock")
        let script = dir + "/post.lua"
        try
            #"wrk.method = "POST"; wrk.headers["Content-Type"] = "application/json"; wrk.body = '{"model":"bench-model","messages":[{"role":"user","content":"Classify this ticket: the export button crashes."}],"max_tokens":16}'"#
            .write(toFile: script, atomically: true, encoding: .utf8)
        let mock = try await MockProcess(binDirectory: binDirectory, workDirectory: dir, ["--no-body-counts", "--threads", "1"])
        defer { mock.stop() }
        let child = try ChildProcess(wrk, ["-t1", "-c64", "-d8s", "-s", script, mock.baseURL + "/chat/completions"], log: dir + "/wrk.log")
        child.wait()
        let output = (try? String(contentsOfFile: dir + "/wrk.log", encoding: .utf8)) ?? ""
        let rate =
            output.split(separator: "\n").first { $0.hasPrefix("Requests/sec:") }
            .flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
        return [
            BenchRow(
                measurement: "sluice-mock alone, one event-loop thread, wrk -t1 -c64 keep-alive",
                figure: "\(format(rate)) req/s", target: "≥ 20,000 req/s", met: rate >= 20_000)
        ]
    }
}

/// Hands out indexes 0..<n to concurrent workers.
final class Counter: Sendable {
    private let value = Mutex(0)
    func take(below limit: Int) -> Int? {
        value.withLock { value in
            guard value < limit else { return nil }
            defer { value += 1 }
            return value
        }
    }
}
