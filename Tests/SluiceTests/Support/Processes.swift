import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL
import Testing

/// Where `swift build` put the executables: beside the test bundle.
enum Binaries {
    static let directory: URL = {
        if let override = ProcessInfo.processInfo.environment["SLUICE_BIN_DIR"] { return URL(fileURLWithPath: override) }
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return executable.deletingLastPathComponent()
    }()
    static var sluice: String { directory.appendingPathComponent("sluice").path }
    static var mock: String { directory.appendingPathComponent("sluice-mock").path }
}

/// A scratch folder removed when the test ends.
final class TemporaryDirectory {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "sluice-test-" + UUID().uuidString.prefix(8)
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { path + "/" + name }

    /// Writes `count` prompt lines with ids `i0`... Another prefix gives other prompts too (`question number b3`),
    /// so files of different prefixes share no request (dedup would answer them from each other).
    @discardableResult
    func writePrompts(_ name: String, count: Int, prefix: String = "i") -> String {
        let label = prefix == "i" ? "" : prefix
        let text = (0..<count).map { #"{"id":"\#(prefix)\#($0)","prompt":"question number \#(label)\#($0)"}"# }.joined(separator: "\n") + "\n"
        writeFile(file(name), Data(text.utf8))
        return file(name)
    }
}

/// The result of running a command to completion.
struct Finished {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// A child process with captured output (to files, so a chatty child never blocks on a full pipe).
final class Child {
    let process = Process()
    private let outPath: String
    private let errPath: String

    /// `standardInput`: a file whose content the child reads on its standard input (else /dev/null).
    init(
        _ executable: String, _ arguments: [String], environment: [String: String] = [:], directory: String? = nil,
        standardInput: String? = nil
    ) throws {
        let scratch = NSTemporaryDirectory() + "sluice-child-" + UUID().uuidString.prefix(8)
        outPath = scratch + ".out"
        errPath = scratch + ".err"
        writeFile(outPath, nil)
        writeFile(errPath, nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        // Tests talk to loopback only: nothing from the machine's environment may reroute or re-trust them.
        for name in [
            "FLOOPY_API_KEY", "SSL_CERT_FILE", "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY",
        ] {
            env.removeValue(forKey: name)
        }
        env.merge(environment) { _, new in new }
        process.environment = env
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        process.standardOutput = FileHandle(forWritingAtPath: outPath)
        process.standardError = FileHandle(forWritingAtPath: errPath)
        process.standardInput = standardInput.flatMap { FileHandle(forReadingAtPath: $0) } ?? FileHandle.nullDevice
        try process.run()
    }

    deinit {
        if process.isRunning { process.terminate() }
        unlink(outPath)
        unlink(errPath)
    }

    var pid: Int32 { process.processIdentifier }
    /// What the child has written to stderr so far (it is still running).
    var stderrSoFar: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }
    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// Waits up to `timeout` seconds; kills the child if it takes longer.
    func wait(timeout: Double = 120) async -> Finished {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { try? await Task.sleep(nanoseconds: 20_000_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        process.waitUntilExit()
        return Finished(
            status: process.terminationStatus,
            stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
    }
}

/// Runs `sluice` to completion.
func runSluice(
    _ arguments: [String], environment: [String: String] = [:], standardInput: String? = nil, timeout: Double = 120
) async throws -> Finished {
    try await Child(Binaries.sluice, arguments, environment: environment, standardInput: standardInput).wait(timeout: timeout)
}

/// A real `sluice-mock` process on an ephemeral loopback port.
final class MockGatewayProcess {
    let child: Child
    let port: Int
    /// Serving HTTPS (`--tls-cert`): its stats are read over TLS too.
    let tls: Bool
    var baseURL: String { "\(tls ? "https" : "http")://127.0.0.1:\(port)/v1" }

    init(_ arguments: [String] = []) async throws {
        let portFile = NSTemporaryDirectory() + "sluice-mock-port-" + UUID().uuidString.prefix(8)
        tls = arguments.contains("--tls-cert")
        child = try Child(Binaries.mock, ["--port", "0", "--port-file", portFile] + arguments)
        var port: Int?
        for _ in 0..<400 where port == nil {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8), let value = Int(text) {
                port = value
            } else {
                try await Task.sleep(nanoseconds: 25_000_000)
            }
        }
        unlink(portFile)
        guard let port else {
            let finished = await child.wait(timeout: 1)
            throw TestFailure("sluice-mock did not start: \(finished.stderr)")
        }
        self.port = port
    }

    deinit { child.signal(SIGKILL) }

    private var root: String { "\(tls ? "https" : "http")://127.0.0.1:\(port)" }

    func stats() async throws -> MockStatsView {
        let data = try await httpGet(root + "/stats", insecure: tls)
        return try MockStatsView(data)
    }

    func stop() async {
        child.signal(SIGTERM)
        _ = await child.wait(timeout: 10)
    }

    /// Every inference request in arrival order (`/stats/timeline`).
    func timeline() async throws -> [MockArrival] {
        let data = try await httpGet(root + "/stats/timeline", insecure: tls)
        guard let rows = try JSONSerialization.jsonObject(with: data) as? [[Any]] else { throw TestFailure("timeline is not a list") }
        return rows.map { row in
            MockArrival(time: row[0] as? Double ?? 0, status: row[1] as? Int ?? 0, retryAfter: row[2] as? Double, body: row[3] as? String ?? "")
        }
    }
}

/// One request as the mock saw it arrive.
struct MockArrival {
    var time: Double
    var status: Int
    var retryAfter: Double?
    var body: String
}

/// `/stats` decoded loosely, for assertions.
struct MockStatsView {
    let raw: [String: Any]
    init(_ data: Data) throws {
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { throw TestFailure("stats is not an object") }
        raw = object
    }
    var totalRequests: Int { raw["total_requests"] as? Int ?? -1 }
    /// Converted from the parsed JSON on each access: read it once into a local.
    var bodies: [String: Int] { raw["bodies"] as? [String: Int] ?? [:] }
    func count(_ section: String, _ key: String) -> Int { (raw[section] as? [String: Int])?[key] ?? 0 }
    func nested(_ section: String, _ name: String, _ value: String) -> Int {
        ((raw[section] as? [String: [String: Int]])?[name])?[value] ?? 0
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// GET over loopback. `insecure` skips certificate checks: only for the test's own TLS mock.
func httpGet(_ url: String, insecure: Bool = false) async throws -> Data {
    let client = insecure ? insecureClient : HTTPClient.shared
    let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
    let body = try await response.body.collect(upTo: 64 << 20)
    return Data(body.readableBytesView)
}

private let insecureClient: HTTPClient = {
    var configuration = HTTPClient.Configuration()
    var tls = TLSConfiguration.makeClientConfiguration()
    tls.certificateVerification = .none
    configuration.tlsConfiguration = tls
    return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
}()

/// Parses a JSONL file (plain or gzip via the library's reader) into objects.
func readJSONLines(_ path: String) throws -> [[String: Any]] {
    guard let data = FileManager.default.contents(atPath: path) else { throw TestFailure("cannot read \(path)") }
    return try String(decoding: data, as: UTF8.self).split(separator: "\n").map {
        guard let object = try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] else { throw TestFailure("not an object: \($0)") }
        return object
    }
}

/// Polls `condition` every 20 ms; throws if it is not met within `timeout` seconds.
func waitFor(_ condition: () async -> Bool, timeout: Double = 60) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while !(await condition()) {
        guard Date() < deadline else { throw TestFailure("condition not met within \(timeout) s") }
        try await Task.sleep(nanoseconds: 20_000_000)
    }
}

/// Creates (or replaces) a file; a failure is recorded as a test issue rather than ignored.
func writeFile(_ path: String, _ contents: Data?, permissions: Int? = nil) {
    let attributes = permissions.map { [FileAttributeKey.posixPermissions: $0] }
    if !FileManager.default.createFile(atPath: path, contents: contents, attributes: attributes) {
        Issue.record("could not write \(path)")
    }
}
