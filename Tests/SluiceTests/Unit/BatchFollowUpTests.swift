import Foundation
import Testing

@testable import SluiceCore

/// Where a batch's answer that is not the JSON asked for goes (`BatchCollection`), without I/O: a follow-up
/// batch with the reason, live once `auto` is past its deadline, or `invalid_output` once the re-asks are used up.
@Suite
struct BatchFollowUpTests {
    static let body = Array(#"{"messages":[{"role":"user","content":"Is it?"}]}"#.utf8)
    static let item = DispatchItem(id: 7, customID: "q0", endpoint: "/v1/chat/completions", model: "m", body: body, overrides: nil, previousAttempts: 0)
    static let output = Array(
        (#"{"id":"r1","custom_id":"q0","response":{"status_code":200,"body":{"choices":[{"index":0,"message":{"role":"assistant","#
            + #""content":"Sure! yes"},"finish_reason":"stop"}]}},"error":null}"# + "\n").utf8)

    func collect(
        auto: Bool = false, allowed: Bool = true, previous: BatchCollection.FollowUp? = nil, reask: ReaskMode = .reason
    ) -> (
        CheckpointEvent?, BatchCollection
    ) {
        let checker = AnswerChecker(expectJSON: true, schema: nil, outputRetries: 2, reask: Reask(mode: reask))
        var collection = BatchCollection(batchID: "b1", items: [Self.item], auto: auto, maxAttempts: 5, answers: checker)
        collection.followUpAllowed = allowed
        collection.followUps = previous.map { [Self.item.id: $0] } ?? [:]
        collection.read([Self.output])
        return (collection.events(batchStatus: "completed").first, collection)
    }

    @Test func anInvalidAnswerGoesToAFollowUpBatchWithTheReason() throws {
        let (event, collection) = collect()
        guard case .released(7, attempts: 1) = event else { Issue.record("\(String(describing: event))"); return }
        let followUp = try #require(collection.followUps[7])
        #expect(followUp.reasks == 1 && collection.reasked == 1)
        let text = String(decoding: followUp.body, as: UTF8.self)
        #expect(text.contains(#"{"role":"assistant","content":"Sure! yes"},{"role":"user","content":"Your answer is not JSON ("#), "\(text)")

        // The next one builds on it, and in `auto` before the deadline it stays on the batch route.
        let (again, next) = collect(auto: true, previous: followUp)
        guard case .released(7, attempts: 1) = again else { Issue.record("\(String(describing: again))"); return }
        #expect(next.followUps[7]?.reasks == 2 && next.followUps[7].map { $0.body.count > followUp.body.count } == true)
    }

    @Test func pastTheDeadlineOrWithSameItGoesWhereFailedLinesGo() {
        let (live, _) = collect(auto: true, allowed: false)
        guard case .rerouted(7, attempts: 1) = live else { Issue.record("\(String(describing: live))"); return }
        let (same, collection) = collect(reask: .same)
        guard case .released(7, attempts: 1) = same else { Issue.record("\(String(describing: same))"); return }
        #expect(collection.followUps.isEmpty && collection.reasked == 0)
    }

    @Test func afterTheLastReaskItFailsAsInvalidOutput() {
        let (event, collection) = collect(previous: BatchCollection.FollowUp(body: Self.body, reasks: 2))
        guard case .finished(let outcome) = event else { Issue.record("\(String(describing: event))"); return }
        #expect(outcome.errorCode == "invalid_output" && outcome.errorMessage?.hasPrefix("the answer is not JSON") == true)
        #expect(collection.followUps.isEmpty && collection.failed == 1)
    }
}
