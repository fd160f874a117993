import Foundation
import Testing

/// The disk under the checkpoint, the results or the errors failing under a running job: the job stops
/// with a clear error, keeps what it had committed, and resumes once the disk is back.
@Suite(.serialized)
struct EnvironmentFaultTests {
    @Test func fullDiskStopsTheJobResumably() async throws {
        let mock = try await MockGatewayProcess()
        let dir = TemporaryDirectory()
        let disk = try TmpfsMount(at: dir.file("disk"), kilobytes: 400)
        let count = 3000
        let input = dir.writePrompts("in.jsonl", count: count)
        let db = disk.path + "/job.db"
        let arguments = [
            "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--checkpoint", db,
            "--concurrency", "8", "--no-progress", "--grace", "5",
        ]
        let full = try await runSluice(arguments)
        #expect(full.status == 1, "\(full.stderr)")
        #expect(full.stderr.contains("database or disk is full"), "\(full.stderr)")
        #expect(full.stderr.contains("resume with:"))
        #expect(!FileManager.default.fileExists(atPath: dir.file("in.results.jsonl")))
        #expect(try queryCheckpoint(db, "PRAGMA integrity_check").first?.first == "ok")
        let committed = try checkpointCount(db, "state = 2")

        try disk.remount(kilobytes: 64 << 10, readOnly: false)
        let resumed = try await runSluice(arguments)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let results = try readJSONLines(dir.file("in.results.jsonl"))
        #expect(results.map { $0["custom_id"] as? String } == (0..<count).map { "i\($0)" })
        #expect(resumed.stdout.contains("\(committed) skipped"))
    }

    /// The results (or the errors) on the full disk, the checkpoint elsewhere: the job stops naming the
    /// file, nothing committed is lost, and the same command finishes once there is space.
    @Test(arguments: ["results", "errors"])
    func fullDiskUnderTheOutputStopsTheJobResumably(_ onDisk: String) async throws {
        // Half the items fail (400), so the errors file holds as much as the results file.
        let mock = try await MockGatewayProcess(["--p400", "0.5", "--latency-ms", "2", "--seed", "7"])
        let dir = TemporaryDirectory()
        let disk = try TmpfsMount(at: dir.file("disk"), kilobytes: 200)
        let count = 3000
        let input = dir.writePrompts("in.jsonl", count: count)
        let db = dir.file("job.db")
        let results = onDisk == "results" ? disk.path + "/out.jsonl" : dir.file("out.jsonl")
        let errors = onDisk == "errors" ? disk.path + "/out.errors.jsonl" : dir.file("out.errors.jsonl")
        let arguments = [
            "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--checkpoint", db, "--output", results, "--errors", errors,
            "--concurrency", "8", "--no-progress", "--grace", "5",
        ]
        let full = try await runSluice(arguments)
        #expect(full.status == 1, "\(full.stderr)")
        let named = onDisk == "results" ? "\(results): cannot write the results file" : "\(errors): cannot write the errors file"
        #expect(full.stderr.contains(named), "\(full.stderr)")
        #expect(full.stderr.contains("No space left on device"), "\(full.stderr)")
        #expect(!FileManager.default.fileExists(atPath: results))
        #expect(try queryCheckpoint(db, "PRAGMA integrity_check").first?.first == "ok")
        let committed = try checkpointCount(db, "state IN (2, 3)")

        try disk.remount(kilobytes: 64 << 10, readOnly: false)
        let resumed = try await runSluice(arguments)
        #expect(resumed.status == 1, "some items failed with 400: \(resumed.stderr)")
        #expect(resumed.stdout.contains("\(committed) skipped"), "\(resumed.stdout)")
        let lines = try readJSONLines(results)
        #expect(lines.map { $0["custom_id"] as? String } == (0..<count).map { "i\($0)" })
        #expect(try readJSONLines(errors).count == checkpointCount(db, "state = 3"))
        #expect(try checkpointCount(db, "state = 3") > 0)
    }

    @Test func readOnlyDiskIsAClearErrorAndLosesNothing() async throws {
        let mock = try await MockGatewayProcess(["--p400", "0.3"])
        let dir = TemporaryDirectory()
        let disk = try TmpfsMount(at: dir.file("disk"), kilobytes: 8 << 10)
        let input = dir.writePrompts("in.jsonl", count: 30)
        let db = disk.path + "/job.db"
        let arguments = ["run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--checkpoint", db, "--no-progress"]
        #expect(try await runSluice(arguments).status == 1)
        let succeeded = try checkpointCount(db, "state = 2")

        try disk.remount(readOnly: true)
        // Refused before anything is sent: the checkpoint's writability is checked first.
        let refused = try await runSluice(arguments + ["--retry-failed"])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("Read-only file system") || refused.stderr.contains("readonly database"), "\(refused.stderr)")

        try disk.remount(readOnly: false)
        #expect(try checkpointCount(db, "state = 2") == succeeded)
        #expect(try queryCheckpoint(db, "PRAGMA integrity_check").first?.first == "ok")
    }
}
