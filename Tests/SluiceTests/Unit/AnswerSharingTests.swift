import Foundation
import Testing

@testable import SluiceCore

/// Dedup's memory: answers are held only until the checkpoint commits them, and the filter of answered
/// requests grows with the job instead of taking megabytes up front; neither may lose an answer.
struct AnswerSharingTests {
    @Test func theFilterNeverForgetsADigestAcrossItsLayersAndStartsSmall() {
        var filter = DigestFilter()
        #expect(filter.byteCount == 64 << 10, "a fresh filter holds \(filter.byteCount) bytes")
        var generator = SystemRandomNumberGenerator()
        let inserted = (0..<300_000).map { _ in generator.next() as UInt64 }
        for (index, digest) in inserted.enumerated() {
            filter.insert(digest)
            if index == 999 { #expect(filter.byteCount == 64 << 10 && filter.layerCount == 1) }
        }
        #expect(filter.layerCount >= 3, "300,000 digests fill several layers (\(filter.layerCount))")
        #expect(filter.byteCount < 1 << 20, "300,000 digests take \(filter.byteCount) bytes")
        // "No" must be certain: a digest once inserted is a "maybe" forever.
        #expect(inserted.allSatisfy { filter.mayContain($0) })
        // And "maybe" stays rare for the others (each costs a checkpoint query, never a wrong answer).
        let others = (0..<100_000).map { _ in generator.next() as UInt64 }
        let falseMaybes = others.filter { filter.mayContain($0) }.count
        #expect(falseMaybes < 3_000, "\(falseMaybes) of 100,000 unknown digests were maybes")
    }

    /// make bench's memory row compares 10,000 items with 2,000,000: the filter is the one structure that grows
    /// with the job, so it grows by half a layer at a time (doubling took 4 MiB at 2,000,000).
    @Test func twoMillionDigestsTakeAboutThreeMegabytesAndStayRarelyMaybe() {
        var filter = DigestFilter()
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000_000 { filter.insert(generator.next()) }
        #expect(filter.byteCount < 3_400_000, "2,000,000 digests take \(filter.byteCount) bytes in \(filter.layerCount) layers")
        let falseMaybes = (0..<100_000).filter { _ in filter.mayContain(generator.next()) }.count
        #expect(falseMaybes < 5_000, "\(falseMaybes) of 100,000 unknown digests were maybes")
    }

    @Test func aCommittedAnswerLeavesMemoryAndIsStillSharedFromTheCheckpoint() async throws {
        let dir = TemporaryDirectory()
        let store = try await plannedStore(dir, count: 1, keys: ["a"])
        let leader = try #require(try await store.lease(limit: 1).first)
        let sharing = AnswerSharing(deduplicate: true, store: store, checkpointHadAnswers: false, reuse: [])
        let digest = AnswerSharing.digest(endpoint: leader.endpoint, model: "m", body: leader.body)
        guard case .lead = sharing.quickResolve(digest: digest, endpoint: leader.endpoint, body: leader.body) else {
            Issue.record("a request nothing matches must lead")
            return
        }
        let answer = SharedAnswer(customID: "a", response: Array(#"{"ok":true}"#.utf8))
        sharing.finish(digest: digest, endpoint: leader.endpoint, body: leader.body, answer: answer)
        // Before the commit the answer comes from memory.
        guard case .answer(_, let early) = sharing.quickResolve(digest: digest, endpoint: leader.endpoint, body: leader.body) else {
            Issue.record("an answered, uncommitted request must be shared from memory")
            return
        }
        #expect(early == "dedup:a" && sharing.uncommittedCount == 1)

        var outcome = ItemOutcome(id: leader.id, succeeded: true, attempts: 1, headersSent: Array("{}".utf8), fallbacksUsed: 0, retries: 0)
        outcome.httpStatus = 200
        outcome.response = answer.response
        outcome.requestDigest = digest
        try await store.record([.finished(outcome)])
        sharing.committed(digest: digest)
        #expect(sharing.uncommittedCount == 0, "a committed answer is let go")
        // After it, the filter says "maybe" and the checkpoint answers.
        #expect(sharing.quickResolve(digest: digest, endpoint: leader.endpoint, body: leader.body) == nil)
        guard case .answer(let shared, let late) = await sharing.resolve(digest: digest, endpoint: leader.endpoint, body: leader.body) else {
            Issue.record("a committed answer must be shared from the checkpoint")
            return
        }
        #expect(late == "dedup:a" && shared.response == answer.response)
        #expect(sharing.uncommittedCount == 0, "an answer read from the checkpoint is not held again")
        await store.close()
    }
}
