import Foundation
import Logging
import ServiceLifecycle

/// Planning a shared job once: the worker that takes the planning turn plans
/// from where the stored planning position says (the start, or where a worker
/// that died stopped); the others check back every third of a lease and take
/// over if the planner stops beating. Lines another planner already stored are
/// left alone, so an overlap costs time, never duplicates.
///
/// ```swift
/// let planning = SharedPlanning(store: shared, makePlanner: { inputs in try preparation.planner(for: job, inputs: inputs) }, ...)
/// try await planning.run()   // in the run's ServiceGroup, instead of the planner
/// ```
struct SharedPlanning: Service {
    let store: any SharedCheckpointStore
    let makePlanner: @Sendable ([InputRecord]) throws -> Planner
    /// Told when this worker has planned what was left.
    let onEnd: @Sendable (Planner.Report) async -> Void
    let control: RunControl
    let logger: Logger

    func run() async {
        let interval = max(store.leaseSeconds / 3, 0.5)
        await ServiceRounds.repeat(every: interval) {
            guard !control.isStopping else { return false }
            do {
                let inputs = try await store.inputs()
                if inputs.allSatisfy(\.planningComplete) { return false }
                if try await store.takePlanning() {
                    // Read again now that the turn is ours: where the last planner stopped is where this one starts.
                    let inputs = try await store.inputs()
                    let left = inputs.filter { !$0.planningComplete }.count
                    logger.info("this worker plans the job (\(left) input\(left == 1 ? "" : "s") to read)")
                    let report = try await makePlanner(inputs).plan()
                    try await store.finishPlanning()
                    await onEnd(report)
                    return true
                }
            } catch {
                control.stop(.error(SluiceError.wrapping(error, as: .input)))
                return false
            }
            return true
        }
    }
}
