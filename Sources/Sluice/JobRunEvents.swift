import Foundation
import Logging
import NIOConcurrencyHelpers
import SluiceCore

extension Job {
    /// Runs the job (or resumes it) when iterated: progress events every `progressInterval` seconds, then the
    /// summary. Cancelling the iterating task stops the job as SIGINT does: nothing new is sent, requests in
    /// flight get `grace` seconds, everything is checkpointed, and the sequence still ends with the summary.
    public func run(progressInterval: Double = 1, grace: Double = 30) -> JobRunEvents {
        JobRunEvents(job: self, progressInterval: progressInterval, grace: grace)
    }
}

/// The events of one run of a job; iterate it once.
public struct JobRunEvents: AsyncSequence, Sendable {
    public typealias Element = JobEvent

    let job: Job
    let progressInterval: Double
    let grace: Double

    public func makeAsyncIterator() -> Iterator {
        let buffer = EventBuffer()
        let control = RunControl()
        var options = RunOptions()
        options.showProgress = false
        options.handlesSignals = false
        options.progressInterval = progressInterval
        options.graceSeconds = grace
        options.onProgress = { moment in buffer.push(.progress(JobProgress(moment))) }
        let configuration = job.configuration
        let logger = job.logger
        Task {
            do {
                let apiKey = try APIKeySource.resolve(
                    environmentVariable: configuration.apiKeyEnv, keyFile: configuration.apiKeyFile, baseURL: configuration.baseURL)
                let report = try await JobRunner(configuration: configuration, options: options, apiKey: apiKey, logger: logger, control: control).run()
                buffer.push(.finished(JobSummary(report)))
                buffer.finish(throwing: nil)
            } catch let error as SluiceError {
                buffer.finish(throwing: JobError(error))
            } catch {
                buffer.finish(throwing: error)
            }
        }
        return Iterator(buffer: buffer, control: control)
    }

    public struct Iterator: AsyncIteratorProtocol {
        let buffer: EventBuffer
        let control: RunControl

        public mutating func next() async throws -> JobEvent? {
            // The run, not the iterating task, decides when the sequence ends: a cancelled task asks it to stop
            // and then still receives what it finished with.
            try await withTaskCancellationHandler {
                try await buffer.next()
            } onCancel: { [control] in
                control.stop(.signal(SIGINT))
            }
        }
    }
}

/// Events from the run's task to the iterating one; unbounded, as progress events are few.
final class EventBuffer: Sendable {
    private struct State {
        var events: [JobEvent] = []
        var ended = false
        var error: (any Error)?
        var waiter: CheckedContinuation<JobEvent?, any Error>?
    }

    private let state = NIOLockedValueBox(State())

    func push(_ event: JobEvent) {
        let waiter = state.withLockedValue { state -> CheckedContinuation<JobEvent?, any Error>? in
            guard !state.ended else { return nil }
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.events.append(event)
            return nil
        }
        waiter?.resume(returning: event)
    }

    func finish(throwing error: (any Error)?) {
        let waiter = state.withLockedValue { state -> CheckedContinuation<JobEvent?, any Error>? in
            state.ended = true
            state.error = error
            defer { state.waiter = nil }
            return state.waiter
        }
        if let error { waiter?.resume(throwing: error) } else { waiter?.resume(returning: nil) }
    }

    func next() async throws -> JobEvent? {
        try await withCheckedThrowingContinuation { continuation in
            let result = state.withLockedValue { state -> Result<JobEvent?, any Error>? in
                if !state.events.isEmpty { return .success(state.events.removeFirst()) }
                if state.ended {
                    defer { state.error = nil }
                    return state.error.map { .failure($0) } ?? .success(nil)
                }
                state.waiter = continuation
                return nil
            }
            if let result { continuation.resume(with: result) }
        }
    }
}
