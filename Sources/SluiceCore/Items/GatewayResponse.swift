/// An HTTP answer with the headers sluice acts on pulled out once.
package struct GatewayResponse: Sendable {
    package var status: Int
    package var headers: [(name: String, value: String)]
    package var body: [UInt8]
    package var latencySeconds: Double
    /// A streamed answer: from sending to the first event that carried content (nil unstreamed, or if none did).
    package var firstTokenSeconds: Double?

    package init(status: Int, headers: [(name: String, value: String)], body: [UInt8], latencySeconds: Double) {
        self.status = status
        self.headers = headers.map { (name: $0.name.lowercased(), value: $0.value) }
        self.body = body
        self.latencySeconds = latencySeconds
    }

    package func header(_ name: String) -> String? {
        headers.first { $0.name == name }?.value
    }

    package var requestID: String? { header("x-request-id") }
}
