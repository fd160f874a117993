/// One line of an input file, without its line terminator.
public struct InputLine: Sendable {
    /// 1-based, counting every line including blank ones, as an editor shows it.
    public var number: Int
    public var bytes: [UInt8]
    /// Set when the line was longer than the reader's limit; `bytes` is then empty
    /// and `length` says how long the line really was.
    public var oversized: Bool
    public var length: Int
}
