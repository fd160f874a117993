import Foundation
import Logging
import Synchronization
import Testing

@testable import SluiceCore

/// The scheduler against a transport that counts the requests it holds at once. Each request slot goes back
/// exactly once, by the recorder after the commit: twice would let more requests out than the concurrency
/// (which a real gateway's connection pool would hide), never would stall the run.
struct SchedulerSlotTests {
    final class CountingTransport: GatewayTransport {
        let state = Mutex((now: 0, peak: 0, sent: 0))

        func send(_ request: GatewayRequest, timeout: Double) async -> GatewayResult {
            state.withLock {
                $0.now += 1
                $0.peak = max($0.peak, $0.now)
                $0.sent += 1
            }
            try? await Task.sleep(for: .milliseconds(1))
            state.withLock { $0.now -= 1 }
            return .okCompletion(latencySeconds: 0.001)
        }

        func shutdown() async {}
    }

    /// The real scheduler, recorder and SQLite checkpoint, `count` items, `slots` requests at once (the ceiling, with
    /// `adaptive`), against `transport`.
    static func run(
        _ transport: some GatewayTransport, count: Int, slots: Int, adaptive: Bool = false
    ) async throws -> (store: SQLiteCheckpointStore, limiter: ConcurrencyLimiter) {
        let dir = TemporaryDirectory()
        let store = try await plannedStore(dir, count: count)
        let control = RunControl()
        let run = RunContext(control: control, counters: RunCounters(), logger: Logger(label: "test"))
        let limiter = ConcurrencyLimiter(limit: slots)
        let pacing = Pacing(
            limiter: limiter, adaptive: adaptive ? AdaptiveConcurrency(limiter: limiter, ceiling: slots, start: slots) : nil, gate: RateGate(control: control),
            budget: RateBudget(requestsPerMinute: nil, tokensPerMinute: nil, control: control))
        let recorder = CheckpointRecorder(store: store, counters: run.counters, control: control)
        let scheduler = Scheduler(
            settings: .init(maxAttemptsPerModel: 3, timeoutSeconds: 10, maxItemsHeld: Scheduler.Settings.itemsHeld(concurrency: slots)),
            parts: .init(
                transport: transport, builder: RequestBuilder(baseURL: "http://127.0.0.1:1/v1", defaultModel: "m", settings: GatewaySettings()),
                recorder: recorder, pacing: pacing, breaker: nil, run: run))
        let loop = Task { await recorder.run() }
        try await scheduler.run(feed: ItemFeed(store: store, planningDone: true))
        // The last slots go back with the last commit, the loop's own as it ends.
        loop.cancel()
        await loop.value
        return (store, limiter)
    }

    @Test(.timeLimit(.minutes(1))) func eachSlotGoesBackOnceAndTheConcurrencyHolds() async throws {
        let transport = CountingTransport()
        let (store, limiter) = try await Self.run(transport, count: 300, slots: 4)
        let seen = transport.state.withLock { $0 }
        #expect(seen.sent == 300)
        #expect(seen.peak == 4, "\(seen.peak) requests at once with 4 slots")
        #expect(limiter.inUse == 0, "\(limiter.inUse) slots still taken after the run")
        #expect(try await store.counts().succeeded == 300)
        await store.close()
    }

    /// A proxy with a concurrency cap of `capacity` that answers what exceeds it with 429 and LiteLLM's "seconds to
    /// the next minute" (here 30 s), at once; accepted requests take 2 ms.
    final class CappedTransport: GatewayTransport {
        let capacity: Int
        let counts = Mutex((sent: 0, inFlight: 0, refused: 0))
        init(capacity: Int) { self.capacity = capacity }

        func send(_ request: GatewayRequest, timeout: Double) async -> GatewayResult {
            let accepted = counts.withLock {
                $0.sent += 1
                guard $0.inFlight < capacity else {
                    $0.refused += 1
                    return false
                }
                $0.inFlight += 1
                return true
            }
            guard accepted else {
                return .response(GatewayResponse(status: 429, headers: [("retry-after", "30")], body: Array(#"{"error":{}}"#.utf8), latencySeconds: 0.0005))
            }
            try? await Task.sleep(for: .milliseconds(2))
            counts.withLock { $0.inFlight -= 1 }
            return .okCompletion(latencySeconds: 0.002)
        }

        func shutdown() async {}
    }

    /// The first requests meet the cap and are refused with a Retry-After of 30 s: capacity refusals (the limit
    /// comes down to the cap; no job-wide pause), so once the rest of the job is done and the gateway idle, they go
    /// at once instead of waiting out 30 s.
    @Test(.timeLimit(.minutes(2))) func capacityRefusalsDoNotWaitOutTheirRetryAfterOnAnIdleGateway() async throws {
        let transport = CappedTransport(capacity: 4)
        let started = ContinuousClock.now
        let (store, limiter) = try await Self.run(transport, count: 200, slots: 16, adaptive: true)
        let took = ContinuousClock.now - started
        let counts = transport.counts.withLock { $0 }
        #expect(counts.refused > 0)
        #expect(counts.sent == 200 + counts.refused)
        #expect(try await store.counts().succeeded == 200)
        #expect(limiter.inUse == 0)
        #expect(took < .seconds(15), "the job waited \(took) for its refused items")
        await store.close()
    }
}
