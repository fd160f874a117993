/// One HTTP request to the gateway, ready to send.
public struct GatewayRequest: Sendable {
    public var url: String
    /// Headers without `Authorization`; the client adds that itself, so these
    /// can be recorded in the checkpoint as "the headers sent" without the key.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    public var model: String
    /// The body asks for Server-Sent Events (`--stream`): the transport reads and assembles them.
    public var stream = false
    /// `POST` for inference; the Files and Batches API also uses `GET` and `DELETE`.
    public var method = "POST"
    /// A larger answer than inference allows (a provider batch's output file).
    public var maxResponseBytes: Int? = nil
}
