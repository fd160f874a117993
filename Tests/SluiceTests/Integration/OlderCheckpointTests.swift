import Foundation
import Testing

@testable import SluiceCore

/// A checkpoint an earlier sluice wrote (Fixtures/checkpoint-fa64e94, interrupted half-way) is read by
/// `status` and resumed by today's: the stored settings, schema and request digests must stay readable
/// whatever is refactored around them.
@Suite(.serialized)
struct OlderCheckpointTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/checkpoint-fa64e94").path

    @Test func aCheckpointWrittenByFa64e94ReportsAndResumesSendingOnlyWhatItLacks() async throws {
        let dir = TemporaryDirectory()
        let input = dir.file("in.jsonl")
        let db = dir.file("in.results.jsonl.sluice.db")
        try FileManager.default.copyItem(atPath: Self.fixture + "/in.jsonl", toPath: input)
        try FileManager.default.copyItem(atPath: Self.fixture + "/checkpoint.sqlite", toPath: db)
        chmod(db, 0o600)
        let done = try await committedDigests(db)
        #expect(done.count == 24)

        let status = try await runSluice(["status", db, "--json"])
        #expect(status.status == 0, "\(status.stderr)")
        let items = (try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])?["items"] as? [String: Any]
        #expect(items?["succeeded"] as? Int == 24 && items?["pending"] as? Int == 16, "\(status.stdout.prefix(400))")

        let mock = try await MockGatewayProcess()
        let resumed = try await runSluice(["run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--concurrency", "4", "--no-progress"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("24 skipped"), "\(resumed.stdout)")

        let results = try readJSONLines(dir.file("in.results.jsonl"))
        #expect(results.map { $0["custom_id"] as? String } == (0..<40).map { "c\($0)" })
        #expect(results.allSatisfy { (($0["response"] as? [String: Any])?["status_code"] as? Int) == 200 })
        // c24-c29 are new requests; c30-c39 ask what c0-c9 asked, answered by the old checkpoint's digests.
        let stats = try await mock.stats()
        #expect(stats.totalRequests == 6)
        #expect(Set(stats.bodies.keys).isDisjoint(with: done), "an answer the old build committed was asked for again")
        #expect(try queryCheckpoint(db, "SELECT count(*) FROM items WHERE answer_source LIKE 'dedup:c%'") == [["10"]])
        #expect(try queryCheckpoint(db, "PRAGMA integrity_check").first?.first == "ok")
    }
}
