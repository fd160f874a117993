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
    /// Write a 2xx answer's body to this path (created owner-only) as it arrives instead of holding it in
    /// memory: a batch output file can be gigabytes. The answer then has an empty body; a transport that does
    /// not stream returns the body as usual and `BatchAPIClient` writes it.
    package var downloadPath: String? = nil
}
