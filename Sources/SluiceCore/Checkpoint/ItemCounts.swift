/// Totals over every item of the job.
package struct ItemCounts: Sendable, Equatable {
    package var total = 0
    package var pending = 0
    package var inFlight = 0
    package var succeeded = 0
    package var failed = 0
    package var invalidInput = 0
    package var attempts = 0
    /// Every attempt after an item's first, in whichever run: `retry-failed` sends again are retries too.
    package var retries = 0
    package var promptTokens = 0
    package var completionTokens = 0

    package var finished: Int { succeeded + failed }
}
