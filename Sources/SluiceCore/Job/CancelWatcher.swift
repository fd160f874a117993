import Foundation
import ServiceLifecycle

/// Listens for `sluice cancel`: another process writes a note into the
/// checkpoint (there is no other channel to a process that may run on another
/// machine's shell, or under a supervisor that owns its signals), and the run
/// stops as it would on SIGINT: requests in flight get their grace period,
/// everything else stays pending. A later `run` refuses to continue a
/// cancelled job unless `--force`.
///
/// ```swift
/// try await CancelWatcher.request(in: store)   // sluice cancel, in another process
/// ```
package struct CancelWatcher: Service {
    static let key = "cancel_requested"

    let store: any CheckpointStore
    let control: RunControl
    let interval: Double

    init(store: any CheckpointStore, control: RunControl, interval: Double = 1) {
        self.store = store
        self.control = control
        self.interval = interval
    }

    /// `sluice cancel`: leaves the note a running job (or the next `run`) reads.
    package static func request(in store: any CheckpointStore) async throws {
        try await store.setValue(note(), forKey: key)
    }

    package func run() async {
        await ServiceRounds.repeat(every: interval) {
            // Once the run is stopping, whoever stopped it, there is nothing left to watch for.
            guard !control.isStopping else { return false }
            if let note = try? await store.value(forKey: Self.key), !note.isEmpty {
                control.stop(.error(Self.error(note: note)))
                return false
            }
            return true
        }
    }

    /// What `cancel` writes: when, and who asked.
    static func note(at date: Date = Date()) -> String {
        "\(ISO8601DateFormatter().string(from: date)) by \(ProcessInfo.processInfo.userName) (pid \(getpid()))"
    }

    static func error(note: String) -> SluiceError {
        SluiceError(
            .cancelled,
            "the job was cancelled (sluice cancel, \(note)). It stopped with its unfinished items pending; "
                + "run it again with --force to continue it.")
    }
}
