/// Sends one request to the gateway. The scheduler depends on this protocol
/// only, so tests can drive it with a scripted transport and other HTTP stacks
/// can be swapped in.
///
/// ```swift
/// let transport = try HTTPGatewayTransport(apiKey: key, concurrency: 16)
/// switch await transport.send(request, timeout: 60) {
/// case .response(let answer): print(answer.status)
/// case .failure(let failure): print(failure.kind)
/// }
/// ```
package protocol GatewayTransport: Sendable {
    func send(_ request: GatewayRequest, timeout: Double) async -> GatewayResult
    func shutdown() async
}
