import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Testing

@testable import SluiceCore

/// A run stops one way (see `JobRun`): it is asked through its `RunControl`, whoever asks; the dispatcher drains;
/// the group then winds the other services down, the periodic ones ending their rounds (`ServiceRounds`).
@Suite(.serialized)
struct RunStopTests {
    /// A service made of a closure.
    struct Body: Service {
        let body: @Sendable () async throws -> Void
        func run() async throws { try await body() }
    }

    struct Broken: Error, CustomStringConvertible {
        var description: String { "the disk is full" }
    }

    @Test(.timeLimit(.minutes(1))) func theRoundsOfAPeriodicServiceEndWhenTheGroupStopsIt() async throws {
        let rounds = Mutex((work: 0, pausedFirst: 0, early: 0))
        let control = RunControl()
        let services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .run(
                Body {
                    // 5 minutes between rounds: only the group's shutdown ends this within the time limit.
                    await ServiceRounds.repeat(every: 300) {
                        rounds.withLock { $0.work += 1 }
                        return true
                    }
                }, "every 5 minutes", .reporting),
            .run(
                Body {
                    await ServiceRounds.repeat(every: 300, startingWith: .pause) {
                        rounds.withLock { $0.pausedFirst += 1 }
                        return true
                    }
                }, "pausing first", .reporting),
            .run(
                Body {
                    await ServiceRounds.repeat(every: 0.01) {
                        rounds.withLock { $0.early += 1 }
                        return rounds.withLock { $0.early } < 3
                    }
                }, "three rounds", .reporting),
            // The run's end: once the others have had their rounds, it ends and the group shuts down.
            .run(
                Body {
                    while rounds.withLock({ $0.work < 1 || $0.early < 3 }) { try await Task.sleep(for: .milliseconds(5)) }
                    try await Task.sleep(for: .milliseconds(50))
                }, "dispatcher", .ending),
        ]
        let started = ContinuousClock.now
        try await ServiceGroup(configuration: ServiceGroupConfiguration(services: services, logger: Logger(label: "test"))).run()
        let seen = rounds.withLock { $0 }
        #expect(seen.work == 1, "a round at once, then a pause the shutdown cut short")
        #expect(seen.pausedFirst == 0, "the shutdown came during the first pause")
        #expect(seen.early == 3, "a round that returns false ends the rounds")
        #expect(ContinuousClock.now - started < .seconds(30))
        #expect(control.stopReason == nil, "the group's end of a finished run is no stop")
    }

    /// An essential service that fails asks the run to stop through its control, and the group's shutdown still
    /// begins with the dispatcher's end: the progress line, started after the dispatcher, is stopped after it.
    /// Before, the failure shut the group down at once: the dispatcher stopped without hearing why (the control
    /// learned of the error only after the group had ended), and the services after it were stopped first.
    @Test(.timeLimit(.minutes(1))) func anEssentialServiceThatFailsStopsTheRunThroughItsControl() async throws {
        let control = RunControl()
        let seen = Mutex((heard: RunControl.StopReason?.none, dispatcherEnded: false, progressStoppedFirst: false))
        let services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .run(
                Body {
                    try await Task.sleep(for: .milliseconds(50))
                    throw Broken()
                }, "checkpoint", .essential(control)),
            // The dispatcher hears a stop only through the control (it ignores the group's shutdown); the group's
            // bound cancels it otherwise, and it hears nothing. It drains for a moment after hearing.
            .run(
                Body {
                    await control.waitForStop()
                    seen.withLock { $0.heard = control.stopReason }
                    try? await Task.sleep(for: .milliseconds(300))
                    seen.withLock { $0.dispatcherEnded = true }
                }, "dispatcher", .ending),
            .run(
                Body {
                    await ServiceRounds.repeat(every: 300) { true }
                    seen.withLock { $0.progressStoppedFirst = !$0.dispatcherEnded }
                }, "progress", .reporting),
        ]
        var configuration = ServiceGroupConfiguration(services: services, logger: Logger(label: "test"))
        configuration.maximumGracefulShutdownDuration = .seconds(5)
        await #expect(throws: Broken.self) { try await ServiceGroup(configuration: configuration).run() }
        let end = seen.withLock { $0 }
        #expect(!end.progressStoppedFirst, "the group's shutdown began before the dispatcher had drained")
        guard case .error(let error) = end.heard else {
            Issue.record("the dispatcher was not told through the control: \(String(describing: end.heard))")
            return
        }
        #expect(error.message.contains("the disk is full"), "\(error.message)")
    }

    /// A transport whose answers take `latency`; it counts what it was sent and what it answered.
    final class SlowTransport: GatewayTransport {
        let latency: Duration
        let seen = Mutex((sent: 0, answered: 0))
        init(latency: Duration) { self.latency = latency }

        func send(_ request: GatewayRequest, timeout: Double) async -> GatewayResult {
            seen.withLock { $0.sent += 1 }
            do {
                try await Task.sleep(for: latency)
            } catch {
                return .failure(GatewayFailure(kind: .cancelled, message: "request cancelled", latencySeconds: 0))
            }
            seen.withLock { $0.answered += 1 }
            return .okCompletion(latencySeconds: 0.1)
        }

        func shutdown() async {}
    }

    /// A run inside a service group of its own caller (none does today: the Sluice library detaches its run),
    /// told to shut down gracefully: the run stops as on SIGTERM, giving the requests in flight their grace
    /// period, and every answer received is in the checkpoint. Before, that shutdown stopped the dispatcher
    /// directly and the run reported no stop; without asking the control, the group would wind the recorder
    /// down while the dispatcher went on.
    @Test(.timeLimit(.minutes(1))) func theHostsGracefulShutdownStopsTheRunAsSIGTERMDoes() async throws {
        let dir = TemporaryDirectory()
        let count = 200
        try (0..<count).map { #"{"id": "p\#($0)", "prompt": "say \#($0)"}"# }.joined(separator: "\n").appending("\n")
            .write(toFile: dir.path + "/in.jsonl", atomically: true, encoding: .utf8)
        var flags = JobFile()
        flags.inputs = [dir.path + "/in.jsonl"]
        flags.model = "m"
        flags.baseURL = "http://127.0.0.1:9/v1"
        flags.concurrency = 4
        let configuration = try JobConfiguration.resolve(file: nil, fileDirectory: nil, flags: flags)
        var options = RunOptions()
        options.showProgress = false
        options.handlesSignals = false
        options.graceSeconds = 10
        let transport = SlowTransport(latency: .milliseconds(100))
        let runner = JobRunner(configuration: configuration, options: options, apiKey: nil, logger: Logger(label: "test"), transport: transport)
        let report = Mutex<RunReport?>(nil)
        let finished = Mutex(false)
        let host = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [
                    .init(
                        service: Body {
                            defer { finished.withLock { $0 = true } }
                            let ended = try await runner.run()
                            report.withLock { $0 = ended }
                        })
                ],
                logger: Logger(label: "host")))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await host.run() }
            // A run that ends (or fails) before 12 requests shows what it did below instead of waiting out the limit.
            while transport.seen.withLock({ $0.sent }) < 12, !finished.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
            await host.triggerGracefulShutdown()
            try await group.waitForAll()
        }
        let ended = try #require(report.withLock { $0 })
        let seen = transport.seen.withLock { $0 }
        #expect(ended.stopReason == .signal(SIGTERM), "\(String(describing: ended.stopReason))")
        #expect(seen.answered == seen.sent, "the requests in flight had their grace period: \(seen)")
        #expect(ended.counts.succeeded == seen.answered, "every answer received is checkpointed: \(ended.counts) \(seen)")
        #expect(ended.counts.pending == count - seen.answered && seen.answered < count / 2, "the rest is left for the next run: \(ended.counts)")
    }
}
