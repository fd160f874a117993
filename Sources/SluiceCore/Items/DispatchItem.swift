/// An item as the scheduler sees it: what to send, loaded from the checkpoint.
public struct DispatchItem: Sendable {
    public var id: Int64
    public var customID: String
    public var endpoint: String
    public var model: String?
    public var body: [UInt8]
    public var overrides: LineOverrides?
    /// Attempts already made in earlier runs, kept so totals stay honest across resumes.
    public var previousAttempts: Int
    /// The items an `--embed-batch` request carries (this item stands for them all); nil for one item.
    public var members: [DispatchItem]? = nil

    public init(
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
