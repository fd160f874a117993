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
}
