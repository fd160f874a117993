import Foundation

extension Measurements {
    /// `sluice validate` end to end (the binary, its start-up included) over a
    /// plain file: the issue asks for at least the planner's 280k lines/s.
    func validateThroughput(lines: Int) throws -> [BenchRow] {
        let dir = try folder("validate")
        let input = dir + "/prompts.jsonl"
        try Workloads.writePrompts(input, count: lines)
        let start = ContinuousClock.now
        let child = try ChildProcess(
            binDirectory + "/sluice", ["validate", "--input", input, "--model", "bench-model", "--price", "bench-model=0.15,0.60"],
            log: dir + "/validate.log")
        let status = child.wait()
        let elapsed = seconds(since: start)
        let log = (try? String(contentsOfFile: dir + "/validate.log", encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(atPath: dir)
        guard status == 0, log.contains("\(lines) requests") else { throw BenchError("sluice validate failed (\(status)): \(log.prefix(600))") }
        let rate = Double(lines) / elapsed
        return [
            BenchRow(
                measurement: "sluice validate (process start to exit), \(format(Double(lines))) lines, with a cost estimate",
                figure: "\(format(rate)) lines/s, \(format(child.peakRSSMegabytes, 1)) MB peak", target: "≥ 280,000 lines/s", met: rate >= 280_000)
        ]
    }
}
