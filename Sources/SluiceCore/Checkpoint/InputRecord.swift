/// One input file of a job as the checkpoint remembers it.
package struct InputRecord: Sendable, Equatable {
    package var fileIndex: Int
    package var path: String
    package var fingerprint: InputFingerprint
    /// Lines read and stored so far; planning resumes after this line.
    package var plannedLines: Int
    package var planningComplete: Bool
    /// A read error that ended planning of this file early (a truncated gzip stream).
    package var planningError: String?

    package init(fileIndex: Int, path: String, fingerprint: InputFingerprint, plannedLines: Int, planningComplete: Bool, planningError: String?) {
        self.fileIndex = fileIndex
        self.path = path
        self.fingerprint = fingerprint
        self.plannedLines = plannedLines
        self.planningComplete = planningComplete
        self.planningError = planningError
    }
}
