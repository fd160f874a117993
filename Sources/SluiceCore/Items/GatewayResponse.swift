/// An HTTP answer with the headers sluice acts on pulled out once.
public struct GatewayResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    public var latencySeconds: Double
    /// A streamed answer: from sending to the first event that carried content (nil unstreamed, or if none did).
    public var firstTokenSeconds: Double?

    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8], latencySeconds: Double) {
        self.status = status
        self.headers = headers.map { (name: $0.name.lowercased(), value: $0.value) }
        self.body = body
        self.latencySeconds = latencySeconds
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name == name }?.value
    }

    public var requestID: String? { header("x-request-id") }
}
