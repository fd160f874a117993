import Foundation
import Testing

/// An HTTP/2 gateway carries at most its announced stream limit per connection (nginx 128, Google 100):
/// the real sluice against the real sluice-mock over TLS, with a limit of 16 streams.
@Suite(.serialized)
struct HTTP2IntegrationTests {
    private func http2Mock(_ tls: TLSFixture) async throws -> MockGatewayProcess {
        try await MockGatewayProcess([
            "--tls-cert", tls.serverCertificate, "--tls-key", tls.serverKey, "--http2", "--max-streams", "16", "--latency-ms", "200",
        ])
    }

    private func connections(_ mock: MockGatewayProcess) async throws -> [String: Int] {
        try await mock.stats().raw["connections"] as? [String: Int] ?? [:]
    }

    @Test func theConcurrencyAskedForReachesAnHTTP2GatewayWithAStreamLimit() async throws {
        let dir = TemporaryDirectory()
        let tls = try TLSFixture(in: dir)
        let mock = try await http2Mock(tls)
        let input = dir.writePrompts("in.jsonl", count: 640)
        let run = try await runSluice([
            "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--ca-file", tls.caCertificate,
            "--concurrency", "64", "--no-adaptive", "--output", dir.file("out.jsonl"),
        ])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try readJSONLines(dir.file("out.jsonl")).count == 640)
        let seen = try await connections(mock)
        #expect((seen["http2"] ?? 0) >= 1, "sluice spoke HTTP/2: \(seen)")
        #expect((seen["peak_streams"] ?? 0) >= 56, "64 in flight need 4 connections of 16 streams: \(seen)")
        #expect((seen["peak_streams_per_connection"] ?? 0) <= 16, "\(seen)")
    }

    @Test func httpVersion11SpeaksHTTP1ToTheSameGateway() async throws {
        let dir = TemporaryDirectory()
        let tls = try TLSFixture(in: dir)
        let mock = try await http2Mock(tls)
        let input = dir.writePrompts("in.jsonl", count: 128)
        let run = try await runSluice([
            "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--ca-file", tls.caCertificate,
            "--concurrency", "32", "--no-adaptive", "--http-version", "1.1", "--output", dir.file("out.jsonl"),
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let seen = try await connections(mock)
        // Only the test's own /stats request may have spoken HTTP/2.
        #expect((seen["http2"] ?? 0) <= 1 && (seen["peak"] ?? 0) >= 28, "one connection per request in flight: \(seen)")
    }
}
