/// A bad input line as stored: where it is and why.
public struct InputProblemRecord: Sendable {
    public var file: String
    public var line: Int
    public var code: String
    public var message: String
}
