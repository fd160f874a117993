/// One row of the results file, read back from the checkpoint in input order.
package struct ResultRow: Sendable {
    package var id: Int64
    package var customID: String
    package var state: ItemState
    package var httpStatus: Int?
    package var requestID: String?
    package var errorCode: String?
    package var errorMessage: String?
    package var response: [UInt8]?
    package var metadata: [UInt8]?
    package var position: ResultCursor
    /// For exports: who answered, what it used, how long it took, the line's own settings.
    package var answeredModel: String? = nil
    package var promptTokens: Int? = nil
    package var completionTokens: Int? = nil
    package var totalTokens: Int? = nil
    package var latencyMilliseconds: Double? = nil
    package var overrides: LineOverrides? = nil
    /// A bad input line (it never became a request).
    package var badLine = false
}
