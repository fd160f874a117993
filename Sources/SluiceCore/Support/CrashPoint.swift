import Foundation

/// Named moments where the crash tests kill sluice with SIGKILL, to prove that a crash *there* loses and
/// duplicates nothing (the torture test kills at random moments; these are the few that matter most for
/// provider batches). Inert unless `SLUICE_CRASH_AT` names the point, which only tests set.
///
/// ```swift
/// CrashPoint.reach("batch-uploaded")   // SIGKILLs the process if SLUICE_CRASH_AT=batch-uploaded
/// ```
package enum CrashPoint {
    static let armed = ProcessInfo.processInfo.environment["SLUICE_CRASH_AT"]

    package static func reach(_ name: String) {
        guard let armed, armed == name else { return }
        kill(getpid(), SIGKILL)
    }
}
