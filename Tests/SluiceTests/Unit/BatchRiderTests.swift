import Foundation
import Testing

@testable import SluiceCore

/// Riders (`BatchSharing`, `BatchCollection+Riders`) without I/O: how identical items are grouped, and what
/// each rider takes from what its group's line came to.
@Suite
struct BatchRiderTests {
    static func item(_ id: Int64, _ prompt: String, attempts: Int = 0) -> DispatchItem {
        let body = Array(#"{"messages":[{"role":"user","content":"\#(prompt)"}]}"#.utf8)
        return DispatchItem(id: id, customID: "k\(id)", endpoint: "/v1/chat/completions", model: "m", body: body, overrides: nil, previousAttempts: attempts)
    }

    static func line(_ customID: String, status: Int, body: String) -> String {
        #"{"id":"r","custom_id":"\#(customID)","response":{"status_code":\#(status),"request_id":"req-\#(customID)","body":\#(body)},"error":null}"#
    }

    static let answer =
        #"{"choices":[{"index":0,"message":{"role":"assistant","content":"yes"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}"#

    /// Items 1 and 2 ask the same; 3 asks something else; the file held lines for 1 and 3 only.
    func collect(_ output: [String], auto: Bool = false, batchFailure: String? = nil, maxAttempts: Int = 5) -> [Int64: CheckpointEvent] {
        let items = [Self.item(1, "a"), Self.item(3, "b"), Self.item(2, "a", attempts: 1)]
        var collection = BatchCollection(batchID: "b1", items: items, auto: auto, maxAttempts: maxAttempts, batchFailure: batchFailure)
        collection.defaultModel = "m"
        collection.ride(BatchSharing.repeatedGroups(items) { AnswerSharing.digest(endpoint: $0.endpoint, model: "m", body: $0.body) })
        collection.read([Array(output.map { $0 + "\n" }.joined().utf8)])
        var events: [Int64: CheckpointEvent] = [:]
        for event in collection.events(batchStatus: "completed") {
            switch event {
            case .finished(let outcome): events[outcome.id] = event
            case .released(let id, _), .rerouted(let id, _): events[id] = event
            default: break
            }
        }
        return events
    }

    @Test func identicalItemsAreGroupedInInputOrderAndACollisionIsNoMatch() {
        let items = [Self.item(1, "a"), Self.item(2, "b"), Self.item(3, "a"), Self.item(4, "c")]
        // Every item given the same digest: only equal bodies group.
        #expect(BatchSharing.repeatedGroups(items) { _ in 42 }.map { $0.map(\.id) } == [[1, 3]])
        // No digest (a re-ask): never grouped.
        #expect(BatchSharing.repeatedGroups(items) { _ in nil }.isEmpty)
        let byText = BatchSharing.repeatedGroups(items + [Self.item(5, "c"), Self.item(6, "a")]) {
            AnswerSharing.digest(endpoint: $0.endpoint, model: "m", body: $0.body)
        }
        #expect(Set(byText.map { $0.map(\.id) }) == [[1, 3, 6], [4, 5]])
    }

    @Test func aRiderTakesItsLinesAnswerUnbilled() throws {
        let events = collect([Self.line("k1", status: 200, body: Self.answer), Self.line("k3", status: 200, body: Self.answer)])
        guard case .finished(let rider)? = events[2] else { Issue.record("\(String(describing: events[2]))"); return }
        #expect(rider.succeeded && rider.answerSource == "dedup:k1" && rider.requestID == "req-k1")
        #expect(rider.attempts == 1 && rider.promptTokens == nil, "no attempt charged, no tokens billed again")
        #expect(rider.response.map { String(decoding: $0, as: UTF8.self) }?.contains("yes") == true)
        guard case .finished(let line)? = events[1] else { Issue.record("\(String(describing: events[1]))"); return }
        #expect(line.succeeded && line.answerSource == "batch:b1" && line.promptTokens == 5)
    }

    @Test func aRiderTakesItsLinesPermanentFailure() {
        let error = #"{"error":{"message":"bad request","type":"invalid_request_error","code":"invalid_value"}}"#
        let events = collect([Self.line("k1", status: 400, body: error), Self.line("k3", status: 200, body: Self.answer)])
        guard case .finished(let rider)? = events[2] else { Issue.record("\(String(describing: events[2]))"); return }
        #expect(!rider.succeeded && rider.errorCode == "invalid_value" && rider.answerSource == "dedup:k1", "\(rider)")
    }

    @Test func aRiderGoesWhereItsLineGoesUncharged() {
        let overloaded = #"{"error":{"message":"overloaded","type":"server_error"}}"#
        let later = collect([Self.line("k1", status: 503, body: overloaded)])
        guard case .released(2, attempts: 1)? = later[2], case .released(1, attempts: 1)? = later[1] else {
            Issue.record("\(later)")
            return
        }
        let live = collect([Self.line("k1", status: 503, body: overloaded)], auto: true)
        guard case .rerouted(2, attempts: 1)? = live[2], case .rerouted(1, attempts: 1)? = live[1] else {
            Issue.record("\(live)")
            return
        }
    }

    @Test func whenNoLineCameBackOnlyTheGroupsFirstItemIsCharged() {
        let events = collect([], batchFailure: "expired")
        guard case .released(1, attempts: 1)? = events[1], case .released(3, attempts: 1)? = events[3], case .released(2, attempts: 1)? = events[2]
        else {
            Issue.record("\(events)")
            return
        }
    }

    /// A line that failed for want of attempts (not a 400) does not fail its riders: they go again, uncharged.
    @Test func aLineOutOfAttemptsSendsItsRidersOnAgain() {
        let overloaded = #"{"error":{"message":"overloaded","type":"server_error"}}"#
        let events = collect([Self.line("k1", status: 503, body: overloaded)], maxAttempts: 1)
        guard case .finished(let line)? = events[1], case .released(2, attempts: 1)? = events[2] else {
            Issue.record("\(events)")
            return
        }
        #expect(!line.succeeded && line.errorMessage?.hasPrefix("no answer after 1 batches") == true)
    }

    static func embedding(_ id: Int64, _ text: String) -> DispatchItem {
        DispatchItem(
            id: id, customID: "e\(id)", endpoint: "/v1/embeddings", model: "emb", body: Array(#"{"input":"\#(text)"}"#.utf8), overrides: nil,
            previousAttempts: 0)
    }

    /// A packed embeddings line: each item its own vector and a digest of its own request (dedup finds it); a pack
    /// some of whose items left the batch is not split, and what is left of it goes again.
    @Test func aPackedLineAnswersEachItemAndABrokenPackIsNotSplit() {
        let members = [Self.embedding(1, "one"), Self.embedding(2, "two")]
        let vectors =
            #"{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1]},{"object":"embedding","index":1,"embedding":[0.2]}],"#
            + #""model":"emb","usage":{"prompt_tokens":4,"total_tokens":4}}"#
        var collection = BatchCollection(batchID: "b1", items: members, auto: false, maxAttempts: 5)
        collection.packs = [1: members]
        collection.read([Array((Self.line("e1", status: 200, body: vectors) + "\n").utf8)])
        let events = collection.events(batchStatus: "completed")
        #expect(events.count == 2)
        for (event, member) in zip(events, members) {
            guard case .finished(let outcome) = event else {
                Issue.record("\(event)")
                continue
            }
            let text = outcome.response.map { String(decoding: $0, as: UTF8.self) } ?? ""
            #expect(outcome.id == member.id && outcome.succeeded && text.contains(member.id == 1 ? "0.1" : "0.2"), "\(text)")
            #expect(outcome.requestDigest == AnswerSharing.digest(endpoint: member.endpoint, model: "emb", body: member.body))
        }

        var broken = BatchCollection(batchID: "b1", items: [members[0]], auto: false, maxAttempts: 5)
        broken.brokenPacks = [1]
        broken.read([Array((Self.line("e1", status: 200, body: vectors) + "\n").utf8)])
        let again = broken.events(batchStatus: "completed")
        guard again.count == 1, case .released(1, attempts: 1) = again[0] else {
            Issue.record("\(again)")
            return
        }
    }

    /// When no line came back, the group's line is its re-asked item (its follow-up was the line), wherever it stands
    /// in input order: that one is charged, the item riding with it is not.
    @Test func whenNoLineCameBackAReaskedItemIsItsGroupsLine() {
        let items = [Self.item(1, "a"), Self.item(5, "a")]
        var collection = BatchCollection(batchID: "b1", items: items, auto: false, maxAttempts: 5, batchFailure: "expired")
        collection.defaultModel = "m"
        collection.followUps = [5: BatchCollection.FollowUp(body: Array("{}".utf8), reasks: 1)]
        collection.ride([items])
        collection.read([])
        let events = collection.events(batchStatus: "failed")
        guard events.count == 2, case .released(1, attempts: 0) = events[0], case .released(5, attempts: 1) = events[1] else {
            Issue.record("\(events)")
            return
        }
    }
}
