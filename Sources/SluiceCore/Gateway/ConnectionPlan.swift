/// How the transport spreads the job's concurrency over async-http-client clients, so the gateway's
/// HTTP/2 stream limit never becomes the job's.
///
/// async-http-client keeps one HTTP/2 connection per client (per event loop at most) and queues whatever
/// that connection's `SETTINGS_MAX_CONCURRENT_STREAMS` does not admit: at `--concurrency 256` behind
/// nginx's 128 streams, half the requests waited. So each client is given no more requests than one
/// connection carries, and there are as many clients as the concurrency needs. Over HTTP/1.1 a client
/// keeps one connection per request in flight; clients are capped at 256 connections each, because a
/// pool's state machine copies its list of connections on many events (see `HTTPGatewayTransport`).
package struct ConnectionPlan: Equatable, Sendable {
    /// How many clients the requests are spread over (each request goes to the least busy).
    package var clients: Int
    /// The HTTP/1.1 connections a client may open: one per request it carries, or 1 once the gateway is
    /// known to speak HTTP/2 (the pool opens that many before it learns the protocol, then closes the rest).
    package var http1ConnectionsPerClient: Int
    /// Whether HTTP/2 is offered in the TLS handshake (ALPN).
    package var offersHTTP2: Bool
    /// The streams one HTTP/2 connection is counted on carrying; nil over HTTP/1.1.
    package var streamsPerConnection: Int?

    /// Requests one client carries at most, whatever the protocol.
    package static let requestsPerClient = 256
    /// Assumed when the limit is not known (the probe failed, or a proxy is in the way): Google's front ends
    /// announce 100, the lowest of the common ones.
    package static let assumedStreams = 100

    /// `https`: whether the gateway is reached over TLS, the only way sluice speaks HTTP/2.
    /// `server`: what `ServerProtocolProbe` found, nil when it did not ask or got no answer.
    package static func make(concurrency: Int, version: HTTPVersionSetting, https: Bool, server: ServerProtocol?) -> ConnectionPlan {
        let concurrency = max(concurrency, 1)
        func spread(over perClient: Int) -> Int { (concurrency + perClient - 1) / perClient }
        func http1(offeringHTTP2: Bool = false) -> ConnectionPlan {
            let clients = spread(over: requestsPerClient)
            return ConnectionPlan(
                clients: clients, http1ConnectionsPerClient: (concurrency + clients - 1) / clients, offersHTTP2: offeringHTTP2,
                streamsPerConnection: nil)
        }
        guard https, version.offersHTTP2 else { return http1() }
        switch server {
        case .http1:
            return http1()
        case .http2(let announced):
            let streams = min(max(announced ?? requestsPerClient, 1), requestsPerClient)
            return ConnectionPlan(clients: spread(over: streams), http1ConnectionsPerClient: 1, offersHTTP2: true, streamsPerConnection: streams)
        case nil:
            // Sized for HTTP/2 at the assumed limit; should the gateway choose HTTP/1.1, the clients still
            // open one connection per request in flight between them.
            let clients = max(spread(over: assumedStreams), http1().clients)
            return ConnectionPlan(
                clients: clients, http1ConnectionsPerClient: (concurrency + clients - 1) / clients, offersHTTP2: true,
                streamsPerConnection: assumedStreams)
        }
    }

    /// For the log: what the plan is and why.
    package var summary: String {
        guard offersHTTP2, let streams = streamsPerConnection else {
            return "HTTP/1.1 over \(clients) pool\(clients == 1 ? "" : "s") of up to \(http1ConnectionsPerClient) connections"
        }
        return "HTTP/2 where offered, \(clients) connection\(clients == 1 ? "" : "s") of up to \(streams) streams"
    }
}
