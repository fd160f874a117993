/// One row of the results file, read back from the checkpoint in input order.
public struct ResultRow: Sendable {
    public var id: Int64
    public var customID: String
    public var state: ItemState
    public var httpStatus: Int?
    public var requestID: String?
    public var errorCode: String?
    public var errorMessage: String?
    public var response: [UInt8]?
    public var metadata: [UInt8]?
    public var position: ResultCursor
    /// For exports: who answered, what it used, how long it took, the line's own settings.
    public var answeredModel: String? = nil
    public var promptTokens: Int? = nil
    public var completionTokens: Int? = nil
    public var totalTokens: Int? = nil
    public var latencyMilliseconds: Double? = nil
    public var overrides: LineOverrides? = nil
    /// A bad input line (it never became a request).
    public var badLine = false
}
