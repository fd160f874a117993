/// One input file of a job as the checkpoint remembers it.
public struct InputRecord: Sendable, Equatable {
    public var fileIndex: Int
    public var path: String
    public var fingerprint: InputFingerprint
    /// Lines read and stored so far; planning resumes after this line.
    public var plannedLines: Int
    public var planningComplete: Bool
    /// A read error that ended planning of this file early (a truncated gzip stream).
    public var planningError: String?

    public init(fileIndex: Int, path: String, fingerprint: InputFingerprint, plannedLines: Int, planningComplete: Bool, planningError: String?) {
        self.fileIndex = fileIndex
        self.path = path
        self.fingerprint = fingerprint
        self.plannedLines = plannedLines
        self.planningComplete = planningComplete
        self.planningError = planningError
    }
}
