import Foundation
import Testing

/// The checkpoint's disk failing under a running job: the job stops with a clear
/// error, keeps what it had committed, and resumes once the disk is back.
@Suite(.serialized, .enabled(if: TmpfsMount.available, "needs root to mount a tmpfs"))
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
