import Foundation
import SluiceCore

/// `make bench`'s disk rows: the checkpoint's bytes per item beside the results
/// file's, and the CPU that compressing the stored answers costs.
extension Measurements {
    func checkpointSize(items: Int) async throws -> [BenchRow] {
        let dir = try folder("checkpoint-size")
        let input = dir + "/in.jsonl"
        try Workloads.writePrompts(input, count: items)
        let mock = try await MockProcess(binDirectory: binDirectory, workDirectory: dir, ["--no-body-counts", "--threads", "1"])
        defer { mock.stop() }
        _ = try runSluice(dir, input: input, mock: mock, ["--concurrency", "64"])
        func size(_ path: String) -> Int { ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0 }
        let checkpoint = ["", "-wal", "-shm"].reduce(0) { $0 + size(dir + "/out.results.jsonl.sluice.db" + $1) }
        let results = size(dir + "/out.results.jsonl")
        let perItem = Double(checkpoint) / Double(items)
        let resultsPerItem = Double(results) / Double(items)

        // The codec alone on the answers this run stored: train, then encode and decode each.
        let store = try await SQLiteCheckpointStore.open(path: dir + "/out.results.jsonl.sluice.db", role: .reader)
        var answers: [[UInt8]] = []
        var cursor = ResultCursor.start
        while answers.count < 20_000 {
            let page = try await store.results(after: cursor, limit: 5000)
            guard let last = page.last else { break }
            cursor = last.position
            answers += page.compactMap(\.response)
        }
        await store.close()
        let codec = BodyCodec(dictionary: nil)
        for answer in answers.prefix(BodyCodec.samplesWanted) { _ = codec.encode(answer) }
        // The store confirms a trained dictionary once it is saved; until then the codec stores bodies plainly.
        codec.confirmDictionary()
        var before = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &before)
        var stored = 0
        for answer in answers {
            let encoded = codec.encode(answer)
            stored += encoded.count
            _ = try codec.decode(encoded)
        }
        var after = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &after)
        func cpu(_ usage: rusage) -> Double {
            Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
        }
        let microseconds = (cpu(after) - cpu(before)) / Double(max(answers.count, 1)) * 1e6
        let plain = answers.reduce(0) { $0 + $1.count }
        return [
            BenchRow(
                measurement: "checkpoint on disk, \(format(Double(items))) items (zero latency, C = 64)",
                figure:
                    "\(format(perItem)) bytes per item, \(format(perItem / resultsPerItem, 2)) of the results file (\(format(resultsPerItem)) bytes per item)",
                target: "≤ 0.5 of the results", met: perItem <= resultsPerItem / 2),
            BenchRow(
                measurement: "stored answers, compressed against the job's trained dictionary (\(format(Double(answers.count))) answers)",
                figure:
                    "\(format(Double(stored) / Double(max(plain, 1)) * 100, 1)) % of their size, \(format(microseconds, 1)) µs CPU per answer (compress + decompress)",
                target: "-", met: nil),
        ]
    }
}
