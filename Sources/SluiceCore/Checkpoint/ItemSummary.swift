import Foundation

/// One item as `status`, `list` and the report read it: everything about it
/// but its bodies.
package struct ItemSummary: Sendable {
    package var id: Int64
    package var customID: String
    package var state: ItemState
    package var badLine: Bool
    package var requestedModel: String?
    package var answeredModel: String?
    package var httpStatus: Int?
    package var errorCode: String?
    package var errorMessage: String?
    package var promptTokens: Int
    package var completionTokens: Int
    package var cachedTokens: Int
    package var latencyMilliseconds: Double?
    package var attempts: Int
    package var retries: Int
    package var fallbacksUsed: Int
    package var cacheHit: Bool
    /// The line's own settings (its properties, merged over the job's).
    package var overrides: LineOverrides?
    /// Seconds since 1970 when the item finished.
    package var finishedAt: Double?
    /// A streamed answer's time to its first token (`--stream`).
    package var firstTokenMilliseconds: Double? = nil
    /// `dedup:<key>` or `reuse:<checkpoint>#<key>` for an answer taken from an identical request.
    package var answerSource: String? = nil

    package var errorClass: ErrorClass? {
        state == .failed ? ErrorClass.of(badLine: badLine, httpStatus: httpStatus, errorCode: errorCode) : nil
    }
}
