import Foundation

/// `make bench`'s HTTP/2 rows: a TLS gateway that offers HTTP/2 with nginx's default 128 streams per
/// connection, the same job over `--http-version 2` and `--http-version 1.1`, in the same run. Before
/// sluice sized its connections to the stream limit, HTTP/2 at C = 256 carried 128 at a time (0.58 of
/// HTTP/1.1 through nginx).
extension Measurements {
    func http2(scale: Double) async throws -> [BenchRow] {
        let certificates = try folder("http2-tls")
        try makeCertificates(in: certificates)
        var rows: [BenchRow] = []
        // Whole windows of C requests, as in the efficiency rows.
        for (concurrency, latency, windows) in [(256, 0.1, 40), (1024, 1.0, 12)] {
            let items = max(concurrency * Int((Double(windows) * scale).rounded()), concurrency * 2)
            let one = try await tlsRun("http2-c\(concurrency)-h1", certificates, concurrency: concurrency, latency: latency, items: items, version: "1.1")
            let two = try await tlsRun("http2-c\(concurrency)-h2", certificates, concurrency: concurrency, latency: latency, items: items, version: "2")
            let ratio = two.rate / one.rate
            rows.append(
                BenchRow(
                    measurement:
                        "HTTP/2 against HTTP/1.1, 128 streams per connection, C = \(concurrency), L = \(format(latency * 1000)) ms, \(format(Double(items))) items (ideal \(format(Double(concurrency) / latency)) items/s)",
                    figure:
                        "\(format(ratio, 3)) (\(format(two.rate)) items/s over HTTP/2 (\(two.http2Connections) connections opened), peak \(two.peakStreams) streams; \(format(one.rate)) over \(one.peakConnections) HTTP/1.1 connections)",
                    target: "≥ 0.9", met: ratio >= 0.9))
        }
        return rows
    }

    struct TLSRun {
        var rate: Double
        var http2Connections: Int
        var peakStreams: Int
        var peakConnections: Int
    }

    private func tlsRun(_ name: String, _ certificates: String, concurrency: Int, latency: Double, items: Int, version: String) async throws -> TLSRun {
        let dir = try folder(name)
        let input = dir + "/in.jsonl"
        try Workloads.writePrompts(input, count: items)
        let mock = try await MockProcess(
            binDirectory: binDirectory, workDirectory: dir,
            [
                "--tls-cert", certificates + "/server.pem", "--tls-key", certificates + "/server.key", "--http2", "--max-streams", "128",
                "--latency-ms", String(Int(latency * 1000)), "--no-body-counts", "--threads", "2",
            ])
        defer { mock.stop() }
        let run = try runSluice(
            dir, input: input, mock: mock,
            ["--concurrency", String(concurrency), "--no-adaptive", "--http-version", version, "--ca-file", certificates + "/ca.pem"])
        let connections = try await mock.stats()["connections"] as? [String: Int] ?? [:]
        return TLSRun(
            rate: Double(items) / run.wall, http2Connections: max((connections["http2"] ?? 0) - 1, 0), peakStreams: connections["peak_streams"] ?? 0,
            peakConnections: connections["peak"] ?? 0)
    }

    /// A private CA and a certificate for 127.0.0.1 signed by it, with the openssl command line.
    private func makeCertificates(in dir: String) throws {
        let script = """
            set -e
            cd '\(dir)'
            openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -subj '/CN=sluice-bench CA' -days 2
            openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj '/CN=sluice-bench'
            printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile san.ext
            """
        let child = try ChildProcess("/bin/sh", ["-c", script], log: dir + "/openssl.log")
        guard child.wait() == 0 else { throw BenchError("openssl could not make the bench's certificates; see \(dir)/openssl.log") }
    }
}
