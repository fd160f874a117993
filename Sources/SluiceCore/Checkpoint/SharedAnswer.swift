/// A succeeded answer another item (of this job, or of an earlier job's checkpoint) may take instead of
/// sending the same request again: see `CheckpointStore.answer(forRequest:endpoint:body:)`.
package struct SharedAnswer: Sendable {
    /// The item whose request was answered.
    package var customID: String
    package var response: [UInt8]
    package var httpStatus: Int?
    package var answeredModel: String?
    package var provider: String?
    package var requestID: String?
    package var promptTokens: Int?
    package var completionTokens: Int?
    package var totalTokens: Int?
    package var cachedTokens: Int?
    package var latencyMilliseconds: Double?

    package init(customID: String, response: [UInt8]) {
        self.customID = customID
        self.response = response
    }
}
