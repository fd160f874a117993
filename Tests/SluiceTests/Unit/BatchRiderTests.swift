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
    func collect(_ output: [String], auto: Bool = false, batchFailure: String? = nil) -> [Int64: CheckpointEvent] {
        let items = [Self.item(1, "a"), Self.item(3, "b"), Self.item(2, "a", attempts: 1)]
        var collection = BatchCollection(batchID: "b1", items: items, auto: auto, maxAttempts: 5, batchFailure: batchFailure)
        collection.defaultModel = "m"
        let groups = BatchSharing.groups(items) { AnswerSharing.digest(endpoint: $0.endpoint, model: "m", body: $0.body) }
        collection.ride(groups.map(\.items).filter { $0.count > 1 })
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
        let groups = BatchSharing.groups(items) { _ in 42 }
        #expect(groups.map { $0.items.map(\.id) } == [[1, 3], [2], [4]])
        // No digest (a re-ask): never grouped.
        #expect(BatchSharing.groups(items) { _ in nil }.count == 4)
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
}
