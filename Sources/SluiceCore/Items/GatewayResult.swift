/// What came back for one attempt: an HTTP answer, or a transport failure.
package enum GatewayResult: Sendable {
    case response(GatewayResponse)
    case failure(GatewayFailure)
}
