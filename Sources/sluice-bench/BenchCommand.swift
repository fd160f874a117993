import ArgumentParser
import Foundation
import SluiceCore

/// `sluice-bench`: what `make bench` runs. Starts sluice-mock, runs the release
/// sluice against it, and prints one table of measured figures.
@main
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluice-bench",
        abstract: "Measure sluice's throughput, CPU, memory, input speed, resume time and rate-limit behaviour.",
        discussion: "Example: .build/release/sluice-bench --quick    (smaller inputs, a smoke run of every measurement)"
    )

    @Option(help: "Folder with the sluice and sluice-mock binaries (default: beside this one).")
    var binDirectory: String?

    @Option(help: "Scratch folder for inputs, checkpoints and logs.")
    var workDirectory = NSTemporaryDirectory() + "sluice-bench"

    @Option(
        help: "Folder with a baseline build's sluice (make bench-baseline: .build-baseline/release), to hold CPU per item and peak RSS to."
    )
    var baselineBin: String?

    @Flag(help: "Scale every workload down (about 10x): a quick check that the benchmarks run, not figures to quote.")
    var quick = false

    @Option(
        help:
            "Run only these measurements (efficiency, cpu, baseline, disk, memory, input, validate, resume, rate, goodput, capacity, http2, mock, shared, batch-collect, batch-submit)."
    )
    var only: [String] = []

    func run() async throws {
        FileDescriptorLimit.raiseToHardLimit()
        let bin = binDirectory ?? URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: true)
        let bench = Measurements(binDirectory: bin, workDirectory: workDirectory, scale: quick ? 0.1 : 1)
        func wanted(_ name: String) -> Bool { only.isEmpty || only.contains(name) }
        var rows: [BenchRow] = []
        func note(_ text: String) { FileHandle.standardError.write(Data("sluice-bench: \(text)\n".utf8)) }

        if wanted("efficiency") {
            var c4096: Measurements.SluiceRun?
            // Whole windows of C requests, so no run ends with a part-empty window of latency.
            for (concurrency, latency, items) in [(256, 0.1, 20_480), (1024, 1.0, 24_576), (4096, 2.0, 49_152)] {
                note("efficiency C=\(concurrency) L=\(latency)s")
                let (row, run) = try await bench.efficiency(concurrency: concurrency, latency: latency, items: bench.scaled(items))
                rows.append(row)
                if concurrency == 4096 { c4096 = run }
            }
            if let c4096 {
                rows.append(
                    BenchRow(
                        measurement: "peak RSS at C = 4096 (the run above)", figure: "\(format(c4096.peakRSS, 1)) MB",
                        target: "≤ 256 MB", met: c4096.peakRSS <= 256))
            }
        }
        if wanted("cpu") { note("CPU per item"); rows += try await bench.cpuCost(items: bench.scaled(200_000)) }
        if wanted("baseline") {
            note("CPU and memory against the baseline build")
            rows += try await bench.baselineComparison(baselineBin: baselineBin, items: bench.scaled(100_000), rounds: quick ? 1 : 5)
        }
        if wanted("disk") {
            note("checkpoint size")
            rows += try await bench.checkpointSize(items: bench.scaled(100_000))
        }
        if wanted("memory") { note("memory"); rows += try await bench.memory(smallItems: 10_000, largeItems: bench.scaled(2_000_000)) }
        if wanted("input") {
            note("input"); rows += try bench.inputThroughput(uncompressedBytes: bench.scaled(1_100_000_000), validationLines: bench.scaled(1_000_000))
        }
        if wanted("validate") { note("validate"); rows += try bench.validateThroughput(lines: bench.scaled(1_000_000)) }
        if wanted("resume") { note("resume"); rows += try await bench.resume(items: bench.scaled(1_000_000), remaining: 1000) }
        if wanted("rate") { note("rate limits"); rows += try await bench.rateLimited(duration: quick ? 40 : 75) }
        if wanted("goodput") { note("goodput under faults"); rows += try await bench.goodput(items: bench.scaled(15_000)) }
        if wanted("capacity") { note("capacity caps"); rows += try await bench.capacity(items: bench.scaled(4_000)) }
        if wanted("http2") { note("HTTP/2 against HTTP/1.1"); rows += try await bench.http2(scale: quick ? 0.25 : 1) }
        if wanted("mock") { note("mock alone"); rows += try await bench.mockAlone() }
        if wanted("batch-collect") {
            note("batch output collection")
            rows += try await bench.batchCollect(lines: bench.scaled(50_000), answerBytes: 4_000)
        }
        if wanted("batch-submit") { note("batch submission"); rows += try await bench.batchSubmit(items: bench.scaled(1_000_000)) }
        if wanted("shared") { note("shared PostgreSQL job"); rows += try await bench.sharedWorkers(items: quick ? 1920 : 7680) }

        print(BenchTable.render(rows, header: "sluice-bench on \(BenchTable.machine())\(quick ? " (--quick: scaled-down workloads)" : "")"))
    }
}
