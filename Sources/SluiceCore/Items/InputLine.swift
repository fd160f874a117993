/// One line of an input file, without its line terminator.
package struct InputLine: Sendable {
    /// 1-based, counting every line including blank ones, as an editor shows it.
    package var number: Int
    package var bytes: [UInt8]
    /// Set when the line was longer than the reader's limit; `bytes` is then empty
    /// and `length` says how long the line really was.
    package var oversized: Bool
    package var length: Int
}
