import Foundation
import Testing

/// Real networks between sluice and the gateway: a private CA, a wrong host
/// name, and an HTTP proxy (tinyproxy) with and without credentials.
@Suite(.serialized)
struct NetworkIntegrationTests {
    private func httpsMock(_ tls: TLSFixture) async throws -> MockGatewayProcess {
        try await MockGatewayProcess(["--tls-cert", tls.serverCertificate, "--tls-key", tls.serverKey])
    }

    private func https(_ mock: MockGatewayProcess, host: String = "127.0.0.1") -> String { "https://\(host):\(mock.port)/v1" }

    @Test func anUntrustedCertificateStopsAtOnceWithTheOptionThatFixesIt() async throws {
        let dir = TemporaryDirectory()
        let tls = try TLSFixture(in: dir)
        let mock = try await httpsMock(tls)
        let input = dir.writePrompts("in.jsonl", count: 40)
        let db = dir.file("in.results.jsonl.sluice.db")
        let run = try await runSluice(["run", "--input", input, "--model", "m", "--base-url", https(mock), "--no-progress", "--concurrency", "4"])
        #expect(run.status == 2, "\(run.stderr)")
        #expect(run.stderr.contains("cannot verify the TLS certificate of \(https(mock))"), "\(run.stderr)")
        #expect(run.stderr.contains("--ca-file PATH"))
        #expect(try checkpointCount(db, "state = 0") == 40)
        // One attempt per item that was started, not five: the summary says so, and nothing got an answer.
        #expect(run.stdout.contains("sent (0 answered"), "\(run.stdout)")
        #expect(run.stdout.contains("· 0 retries"), "\(run.stdout)")
        #expect(try await mock.stats().totalRequests == 0)
    }

    @Test func caFileAndSSLCertFileMakeThePrivateCATrusted() async throws {
        let dir = TemporaryDirectory()
        let tls = try TLSFixture(in: dir)
        let mock = try await httpsMock(tls)
        let input = dir.writePrompts("in.jsonl", count: 30)
        let withFlag = try await runSluice([
            "run", "--input", input, "--model", "m", "--base-url", https(mock), "--no-progress",
            "--ca-file", tls.caCertificate, "--output", dir.file("flag.jsonl"),
        ])
        #expect(withFlag.status == 0, "\(withFlag.stderr)")
        #expect(try readJSONLines(dir.file("flag.jsonl")).count == 30)
        let withVariable = try await runSluice(
            [
                "run", "--input", input, "--model", "m", "--base-url", https(mock, host: "localhost"),
                "--no-progress", "--output", dir.file("env.jsonl"),
            ],
            environment: ["SSL_CERT_FILE": tls.caCertificate])
        #expect(withVariable.status == 0, "\(withVariable.stderr)")
        #expect(try await mock.stats().totalRequests == 60)
    }

    @Test func aCertificateForAnotherHostIsRefusedEvenFromATrustedCA() async throws {
        let dir = TemporaryDirectory()
        let tls = try TLSFixture(in: dir, names: "DNS:gateway.example")
        let mock = try await httpsMock(tls)
        let input = dir.writePrompts("in.jsonl", count: 5)
        let run = try await runSluice([
            "run", "--input", input, "--model", "m", "--base-url", https(mock, host: "localhost"), "--no-progress",
            "--ca-file", tls.caCertificate,
        ])
        #expect(run.status == 2, "\(run.stderr)")
        #expect(run.stderr.contains("cannot verify the TLS certificate"), "\(run.stderr)")
        #expect(try await mock.stats().totalRequests == 0)
    }

    @Test func theProxyFromTheEnvironmentCarriesPlainAndTLSTraffic() async throws {
        let dir = TemporaryDirectory()
        let proxy = try await ProxyProcess(in: dir)
        let plain = try await MockGatewayProcess()
        let input = dir.writePrompts("in.jsonl", count: 20)
        let viaHTTP = try await runSluice(
            [
                "run", "--input", input, "--model", "m", "--base-url", plain.baseURL, "--no-progress",
                "--output", dir.file("plain.jsonl"),
            ],
            environment: ["HTTP_PROXY": "http://127.0.0.1:\(proxy.port)"])
        #expect(viaHTTP.status == 0, "\(viaHTTP.stderr)")
        #expect(viaHTTP.stderr.contains("through the proxy http://127.0.0.1:\(proxy.port)"), "\(viaHTTP.stderr)")
        let tunnelsAfterPlain = proxy.tunnels
        #expect(tunnelsAfterPlain >= 1)

        let tls = try TLSFixture(in: dir)
        let secure = try await httpsMock(tls)
        let viaHTTPS = try await runSluice(
            [
                "run", "--input", input, "--model", "m", "--base-url", https(secure), "--no-progress",
                "--ca-file", tls.caCertificate, "--output", dir.file("tls.jsonl"),
            ],
            environment: ["https_proxy": "http://127.0.0.1:\(proxy.port)", "HTTP_PROXY": "http://127.0.0.1:1"])
        #expect(viaHTTPS.status == 0, "\(viaHTTPS.stderr)")
        #expect(proxy.tunnels > tunnelsAfterPlain)
        #expect(try await secure.stats().totalRequests == 20)

        // NO_PROXY: straight to the gateway, the proxy sees nothing more.
        let before = proxy.tunnels
        let direct = try await runSluice(
            [
                "run", "--input", input, "--model", "m", "--base-url", plain.baseURL, "--no-progress",
                "--output", dir.file("direct.jsonl"),
            ],
            environment: ["HTTP_PROXY": "http://127.0.0.1:\(proxy.port)", "NO_PROXY": "localhost,127.0.0.1"])
        #expect(direct.status == 0, "\(direct.stderr)")
        #expect(proxy.tunnels == before)
        #expect(try await plain.stats().totalRequests == 40)
    }

    @Test func proxyCredentialsWorkAndAreNeverShown() async throws {
        let dir = TemporaryDirectory()
        let proxy = try await ProxyProcess(in: dir, credentials: ("alice", "pr0xy-s3cret"))
        let mock = try await MockGatewayProcess()
        let input = dir.writePrompts("in.jsonl", count: 10)
        let good = try await runSluice([
            "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress", "--log-level", "trace",
            "--proxy", "http://alice:pr0xy-s3cret@127.0.0.1:\(proxy.port)",
        ])
        #expect(good.status == 0, "\(good.stderr)")
        #expect(proxy.tunnels >= 1)
        #expect(!(good.stdout + good.stderr).contains("pr0xy-s3cret"))
        let checkpoint = FileManager.default.contents(atPath: dir.file("in.results.jsonl.sluice.db")) ?? Data()
        #expect(checkpoint.range(of: Data("pr0xy-s3cret".utf8)) == nil)

        let bad = try await runSluice([
            "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--no-progress",
            "--proxy", "http://alice:wrong@127.0.0.1:\(proxy.port)", "--output", dir.file("bad.jsonl"),
        ])
        #expect(bad.status == 2, "\(bad.stderr)")
        #expect(bad.stderr.contains("the proxy refused to open a tunnel"), "\(bad.stderr)")
        #expect(!bad.stderr.contains("wrong"))
    }
}
