/// What one attempt's result means for the item.
package enum AttemptVerdict: Equatable, Sendable {
    case success
    /// Worth another try; `after` is the gateway's requested wait, if it gave one.
    case retry(after: Double?, rateLimited: Bool)
    /// The model or its provider failed: try the next model of the fallback chain.
    /// `permanent`: the model itself is wrong (`model_not_found`), so without a
    /// next model the item fails at once instead of asking the same model again.
    case tryNextModel(after: Double?, permanent: Bool = false)
    /// Sending the same request again cannot help (a 400, say).
    case fail
    /// Nothing else can succeed either: the job stops, items left pending.
    case stopJob(JobStopCause)
}
