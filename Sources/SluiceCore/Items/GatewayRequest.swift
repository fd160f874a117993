/// One HTTP request to the gateway, ready to send.
package struct GatewayRequest: Sendable {
    package var url: String
    /// Headers without `Authorization`; the client adds that itself, so these
    /// can be recorded in the checkpoint as "the headers sent" without the key.
    package var headers: [(name: String, value: String)]
    package var body: [UInt8]
    package var model: String
    /// The body asks for Server-Sent Events (`--stream`): the transport reads and assembles them.
    package var stream = false
    /// `POST` for inference; the Files and Batches API also uses `GET` and `DELETE`.
    package var method = "POST"
    /// A larger answer than inference allows (a provider batch's output file).
    package var maxResponseBytes: Int? = nil
}
