import Foundation
import Logging
import NIOConcurrencyHelpers
import SluiceCore

extension Job {
    /// Runs the job (or resumes it) when iterated: progress events every `progressInterval` seconds, then the
    /// summary. Cancelling the iterating task, or leaving the loop early, stops the job as SIGINT does: nothing
    /// new is sent, requests in flight get `grace` seconds, and everything is checkpointed (a cancelled task's
    /// loop still receives the summary). A job that cannot run throws a ``JobError`` instead of a summary.
    ///
    /// Like `sluice run`, it raises the process's soft limit of open files to the hard limit (a concurrency in
    /// the thousands needs as many sockets), and leaves the process's signals alone.
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

    public func makeAsyncIterator() -> Iterator { Iterator(run: RunHandle(job: job, progressInterval: progressInterval, grace: grace)) }

    public struct Iterator: AsyncIteratorProtocol {
        let run: RunHandle

        public mutating func next() async throws -> JobEvent? {
            run.startOnce()
            // The run, not the iterating task, decides when the sequence ends: a cancelled task asks it to stop
            // and then still receives what it finished with.
            return try await withTaskCancellationHandler {
                try await run.buffer.next()
            } onCancel: { [run] in
                run.stop()
            }
        }
    }
}

/// One run, started by the first `next()` and stopped when its iterator goes away before the end (a `break`).
final class RunHandle: Sendable {
    let buffer = EventBuffer()
    private let control = RunControl()
    private let started = NIOLockedValueBox(false)
    private let job: Job
    private let progressInterval: Double
    private let grace: Double

    init(job: Job, progressInterval: Double, grace: Double) {
        self.job = job
        self.progressInterval = progressInterval
        self.grace = grace
    }

    deinit { control.stop(.signal(SIGINT)) }

    func stop() { control.stop(.signal(SIGINT)) }

    func startOnce() {
        guard
            started.withLockedValue({ started in
                defer { started = true }; return !started
            })
        else { return }
        var options = RunOptions()
        options.showProgress = false
        options.handlesSignals = false
        options.progressInterval = progressInterval
        options.graceSeconds = grace
        options.onProgress = { [buffer] moment in buffer.push(.progress(JobProgress(moment))) }
        let (configuration, logger, control, buffer) = (job.configuration, job.logger, control, buffer)
        // Detached: a host's service group (Vapor, Hummingbird) must not reach into the run's own group; the
        // run stops through its control, with its grace period, whoever asks.
        Task.detached {
            // As `sluice run` does: every secret of the run (the key, `header_env` values, the proxy's password) is
            // scrubbed from its log and from what the summary and errors quote of the gateway's words.
            var redactor = Redactor(secret: nil)
            do {
                try options.validate()
                FileDescriptorLimit.raiseToHardLimit()
                let apiKey = try APIKeySource.resolve(
                    environmentVariable: configuration.apiKeyEnv, keyFile: configuration.apiKeyFile, baseURL: configuration.baseURL)
                let proxy = try? ProxySetting.resolve(flag: nil, baseURL: configuration.baseURL, environment: ProcessInfo.processInfo.environment)
                redactor = try configuration.redactor(apiKey: apiKey, proxyPassword: proxy?.password)
                let report = try await JobRunner(
                    configuration: configuration, options: options, apiKey: apiKey, logger: logger.redacting(redactor), control: control
                ).run()
                buffer.push(.finished(JobSummary(report, redactor: redactor)))
                buffer.finish(throwing: nil)
            } catch let error as SluiceError {
                buffer.finish(throwing: JobError(SluiceError(error.code, redactor.scrub(error.message))))
            } catch {
                buffer.finish(throwing: JobError(code: "other", message: redactor.scrub("\(error)"), exitCode: 2))
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
            guard !state.ended else { return nil }
            state.ended = true
            // An error goes to whoever takes it first: a waiting `next()`, or the next one.
            state.error = state.waiter == nil ? error : nil
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
