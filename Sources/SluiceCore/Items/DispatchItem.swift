/// An item as the scheduler sees it: what to send, loaded from the checkpoint.
package struct DispatchItem: Sendable {
    package var id: Int64
    package var customID: String
    package var endpoint: String
    package var model: String?
    package var body: [UInt8]
    package var overrides: LineOverrides?
    /// Attempts already made in earlier runs, kept so totals stay honest across resumes.
    package var previousAttempts: Int
    /// The items an `--embed-batch` request carries (this item stands for them all); nil for one item.
    package var members: [DispatchItem]? = nil

    package init(
        id: Int64, customID: String, endpoint: String, model: String?, body: [UInt8],
        overrides: LineOverrides?, previousAttempts: Int
    ) {
        self.id = id
        self.customID = customID
        self.endpoint = endpoint
        self.model = model
        self.body = body
        self.overrides = overrides
        self.previousAttempts = previousAttempts
    }
}
