import AsyncHTTPClient
import NIOCore
import NIOSSL
import SluiceMockServer
import Testing

@testable import SluiceCore

/// The question sluice asks an https gateway before the job: HTTP/2, and how many streams per connection.
struct ServerProtocolProbeTests {
    private func probe(http2: Bool, trusting ca: String?, _ fixture: TLSFixture) async throws -> ServerProtocol? {
        var config = MockConfiguration()
        config.tlsCertificate = fixture.serverCertificate
        config.tlsKey = fixture.serverKey
        config.http2 = http2
        config.maxStreams = 16
        let server = try await MockServer.start(config)
        var tls = TLSConfiguration.makeClientConfiguration()
        if let ca { tls.additionalTrustRoots = [.file(ca)] }
        let found = await ServerProtocolProbe.probe(
            host: "127.0.0.1", port: server.port, tls: tls, timeout: .seconds(10), group: HTTPClient.defaultEventLoopGroup)
        try await server.shutdown()
        return found
    }

    @Test func theProbeReadsTheProtocolAndTheStreamLimitTheGatewayAnnounces() async throws {
        let dir = TemporaryDirectory()
        let fixture = try TLSFixture(in: dir)
        #expect(try await probe(http2: true, trusting: fixture.caCertificate, fixture) == .http2(maxConcurrentStreams: 16))
        #expect(try await probe(http2: false, trusting: fixture.caCertificate, fixture) == .http1)
        // A certificate the job does not trust: no answer (the job's own requests report it).
        #expect(try await probe(http2: true, trusting: nil, fixture) == nil)
    }

    @Test func aClosedPortGivesNoAnswer() async throws {
        let port = try freeLoopbackPort()
        let found = await ServerProtocolProbe.probe(
            host: "127.0.0.1", port: port, tls: .makeClientConfiguration(), timeout: .seconds(5), group: HTTPClient.defaultEventLoopGroup)
        #expect(found == nil)
    }
}
