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

    @Test(.timeLimit(.minutes(1))) func eachSlotGoesBackOnceAndTheConcurrencyHolds() async throws {
        let dir = TemporaryDirectory()
        let store = try await plannedStore(dir, count: 300)
        let control = RunControl()
        let run = RunContext(control: control, counters: RunCounters(), logger: Logger(label: "test"))
        let limiter = ConcurrencyLimiter(limit: 4)
        let pacing = Pacing(
            limiter: limiter, adaptive: nil, gate: RateGate(control: control),
            budget: RateBudget(requestsPerMinute: nil, tokensPerMinute: nil, control: control))
        let recorder = CheckpointRecorder(store: store, counters: run.counters, control: control)
        let transport = CountingTransport()
        let scheduler = Scheduler(
            settings: .init(maxAttemptsPerModel: 3, timeoutSeconds: 10, maxItemsHeld: Scheduler.Settings.itemsHeld(concurrency: 4)),
            parts: .init(
                transport: transport, builder: RequestBuilder(baseURL: "http://127.0.0.1:1/v1", defaultModel: "m", settings: GatewaySettings()),
                recorder: recorder, pacing: pacing, breaker: nil, run: run))
        let loop = Task { await recorder.run() }
        try await scheduler.run(feed: ItemFeed(store: store, planningDone: true))
        // The last slots go back with the last commit, the loop's own as it ends.
        loop.cancel()
        await loop.value
        let seen = transport.state.withLock { $0 }
        #expect(seen.sent == 300)
        #expect(seen.peak == 4, "\(seen.peak) requests at once with 4 slots")
        #expect(limiter.inUse == 0, "\(limiter.inUse) slots still taken after the run")
        #expect(try await store.counts().succeeded == 300)
        await store.close()
    }
}
