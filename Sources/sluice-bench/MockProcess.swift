import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL

/// A `sluice-mock` process for one measurement.
final class MockProcess {
    let process: ChildProcess
    let port: Int
    /// Serving HTTPS (`--tls-cert`): its stats are read over TLS too, without checking the bench's own certificate.
    let tls: Bool
    var baseURL: String { "\(tls ? "https" : "http")://127.0.0.1:\(port)/v1" }

    /// `core`: the mock runs on that core only (`taskset`).
    init(binDirectory: String, workDirectory: String, _ arguments: [String], core: Int? = nil) async throws {
        tls = arguments.contains("--tls-cert")
        let portFile = workDirectory + "/mock.port"
        unlink(portFile)
        let command = [binDirectory + "/sluice-mock", "--port", "0", "--port-file", portFile] + arguments
        process = try ChildProcess(
            core == nil ? command[0] : Measurements.taskset, core.map { ["-c", String($0)] + command } ?? Array(command.dropFirst()),
            log: workDirectory + "/mock.log")
        var found: Int?
        for _ in 0..<400 where found == nil {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8), let value = Int(text) {
                found = value
            } else {
                try await Task.sleep(nanoseconds: 25_000_000)
            }
        }
        guard let found else { throw BenchError("sluice-mock did not start; see \(workDirectory)/mock.log") }
        port = found
    }

    func stats() async throws -> [String: Any] {
        let client = tls ? Self.insecureClient : HTTPClient.shared
        let response = try await client.execute(HTTPClientRequest(url: "\(tls ? "https" : "http")://127.0.0.1:\(port)/stats"), timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 256 << 20)
        return (try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]) ?? [:]
    }

    func totalRequests() async throws -> Int { try await stats()["total_requests"] as? Int ?? 0 }

    func status(_ code: Int) async throws -> Int {
        ((try await stats()["status"] as? [String: Int]) ?? [:])[String(code)] ?? 0
    }

    func stop() {
        process.signal(SIGTERM)
        process.wait()
    }

    deinit { process.signal(SIGKILL) }

    private static let insecureClient: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        configuration.tlsConfiguration = tls
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()
}
