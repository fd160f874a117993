import Foundation

/// One item as `status`, `list` and the report read it: everything about it
/// but its bodies.
public struct ItemSummary: Sendable {
    public var id: Int64
    public var customID: String
    public var state: ItemState
    public var badLine: Bool
    public var requestedModel: String?
    public var answeredModel: String?
    public var httpStatus: Int?
    public var errorCode: String?
    public var errorMessage: String?
    public var promptTokens: Int
    public var completionTokens: Int
    public var cachedTokens: Int
    public var latencyMilliseconds: Double?
    public var attempts: Int
    public var retries: Int
    public var fallbacksUsed: Int
    public var cacheHit: Bool
    /// The line's own settings (its properties, merged over the job's).
    public var overrides: LineOverrides?
    /// Seconds since 1970 when the item finished.
    public var finishedAt: Double?
    /// A streamed answer's time to its first token (`--stream`).
    public var firstTokenMilliseconds: Double? = nil
    /// `dedup:<key>` or `reuse:<checkpoint>#<key>` for an answer taken from an identical request.
    public var answerSource: String? = nil

    public var errorClass: ErrorClass? {
        state == .failed ? ErrorClass.of(badLine: badLine, httpStatus: httpStatus, errorCode: errorCode) : nil
    }
}
