/// A succeeded answer another item (of this job, or of an earlier job's checkpoint) may take instead of
/// sending the same request again: see `CheckpointStore.answer(forRequest:endpoint:body:)`.
public struct SharedAnswer: Sendable {
    /// The item whose request was answered.
    public var customID: String
    public var response: [UInt8]
    public var httpStatus: Int?
    public var answeredModel: String?
    public var provider: String?
    public var requestID: String?
    public var promptTokens: Int?
    public var completionTokens: Int?
    public var totalTokens: Int?
    public var cachedTokens: Int?
    public var latencyMilliseconds: Double?

    public init(customID: String, response: [UInt8]) {
        self.customID = customID
        self.response = response
    }
}
