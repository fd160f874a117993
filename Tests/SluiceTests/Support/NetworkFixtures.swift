import Foundation

/// A private certificate authority and server certificates signed by it, made
/// with the openssl command line for one test.
struct TLSFixture {
    let caCertificate: String
    let serverCertificate: String
    let serverKey: String

    /// `names`: the subjectAltName entries, e.g. `IP:127.0.0.1,DNS:localhost`.
    init(in dir: TemporaryDirectory, names: String = "IP:127.0.0.1,DNS:localhost") throws {
        caCertificate = dir.file("ca.pem")
        serverCertificate = dir.file("server.pem")
        serverKey = dir.file("server.key")
        try shell(
            """
            set -e
            cd '\(dir.path)'
            openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -subj '/CN=sluice test CA' -days 2
            openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj '/CN=sluice test server'
            printf 'subjectAltName=\(names)\\n' > san.ext
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile san.ext
            """)
    }
}

/// tinyproxy on a free loopback port, with its own configuration and log.
final class ProxyProcess {
    let port: Int
    let log: String
    private let child: Child

    init(in dir: TemporaryDirectory, credentials: (user: String, password: String)? = nil) async throws {
        guard let binary = ["/usr/bin/tinyproxy", "/usr/sbin/tinyproxy"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw TestFailure("tinyproxy is not installed: `make test` installs it (scripts/system-packages.txt), or apt-get install tinyproxy")
        }
        port = try freeLoopbackPort()
        log = dir.file("tinyproxy.log")
        var config = """
            Port \(port)
            Listen 127.0.0.1
            Timeout 60
            LogFile "\(log)"
            LogLevel Connect
            MaxClients 200
            Allow 127.0.0.1

            """
        if let credentials { config += "BasicAuth \(credentials.user) \(credentials.password)\n" }
        let configPath = dir.file("tinyproxy.conf")
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        child = try Child(binary, ["-d", "-c", configPath])
        for _ in 0..<200 {
            if canConnect(port: port) { return }
            try await Task.sleep(nanoseconds: 25_000_000)
        }
        throw TestFailure("tinyproxy did not start listening on \(port)")
    }

    deinit { child.signal(SIGKILL) }

    /// Tunnels the proxy opened (one per connection to the gateway).
    var tunnels: Int {
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").filter { $0.contains("Established connection to host") }.count
    }
}

/// Runs a shell script and returns what it printed on standard output.
func shellOutput(_ script: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", script]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: output, as: UTF8.self)
}

/// Runs a shell script; throws with its output if it fails.
func shell(_ script: String) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", script]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw TestFailure("shell script failed (\(process.terminationStatus)): \(String(decoding: output, as: UTF8.self))")
    }
}

/// A port nobody listens on right now (bound to 0, read, released).
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0 else { throw TestFailure("bind failed") }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
}

func canConnect(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    } == 0
}

/// One HTTP/1.1 POST over a plain socket, read until the server closes the
/// connection (or 5 s pass), so a test sees exactly the bytes that were sent.
/// `close`: ask the server to close after answering (a cut stream closes by itself).
func rawHTTPExchange(port: Int, path: String, body: String, close closeAfter: Bool = false) throws -> String {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw TestFailure("socket failed") }
    defer { close(fd) }
    var timeout = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw TestFailure("cannot connect to \(port)") }
    let request =
        "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n"
        + (closeAfter ? "Connection: close\r\n" : "") + "\r\n" + body
    _ = request.withCString { send(fd, $0, strlen($0), 0) }
    var received: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = recv(fd, &buffer, buffer.count, 0)
        if count <= 0 { break }
        received += buffer[0..<count]
    }
    return String(decoding: received, as: UTF8.self)
}
