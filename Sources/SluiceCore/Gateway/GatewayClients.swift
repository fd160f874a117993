import AsyncHTTPClient
import Synchronization

/// The async-http-client clients a `ConnectionPlan` asks for, and how many requests each carries now:
/// each request goes to the least busy, so none carries more than its share of the concurrency (over
/// HTTP/2, no more than its one connection's stream limit).
final class GatewayClients: Sendable {
    let plan: ConnectionPlan
    private let clients: [HTTPClient]
    private let inFlight: Mutex<[Int]>

    /// `configuration`: TLS, proxy and timeouts; the protocol and pool size come from the plan.
    init(plan: ConnectionPlan, configuration: HTTPClient.Configuration) {
        var configuration = configuration
        configuration.httpVersion = plan.offersHTTP2 ? .automatic : .http1Only
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: plan.http1ConnectionsPerClient)
        self.plan = plan
        clients = (0..<plan.clients).map { _ in HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration) }
        inFlight = Mutex(Array(repeating: 0, count: plan.clients))
    }

    /// The least busy client, counted busy until `release(_:)`.
    func acquire() -> (index: Int, client: HTTPClient) {
        let index = inFlight.withLock { counts in
            let least = counts.indices.min { counts[$0] < counts[$1] } ?? 0
            counts[least] += 1
            return least
        }
        return (index, clients[index])
    }

    func release(_ index: Int) {
        inFlight.withLock { $0[index] -= 1 }
    }

    func shutdown() async {
        for client in clients { try? await client.shutdown() }
    }
}
