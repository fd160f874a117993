import AsyncHTTPClient
import Foundation
import NIOCore

/// Answers written to a file as they arrive (a provider batch's output and error files), so memory stays
/// one network chunk whatever the file's size.
extension HTTPGatewayTransport {
    struct DownloadError: Error, CustomStringConvertible {
        var description: String
    }

    /// Writes the body to `path` (created 0600, whatever was at the name removed first). Over `maxBytes` it
    /// answers 413 with a message naming the cap, which the Files API client reports as a permanent error
    /// rather than downloading the file again; a connection lost midway is a failure, asked again from the start.
    static func download(
        _ response: HTTPClientResponse, to path: String, maxBytes: Int, latency: () -> Double
    ) async throws -> GatewayResult {
        let fd = PrivateFile.create(path)
        guard fd >= 0 else { throw DownloadError(description: "cannot create \(path) (\(String(cString: strerror(errno))))") }
        defer { close(fd) }
        var written = 0
        for try await buffer in response.body {
            written += buffer.readableBytes
            if written > maxBytes {
                let message = "the file is over \(maxBytes) bytes, the most sluice downloads"
                let body = Array(#"{"error":{"message":"\#(message)","code":"file_too_large"}}"#.utf8)
                return .response(GatewayResponse(status: 413, headers: [], body: body, latencySeconds: latency()))
            }
            try buffer.withUnsafeReadableBytes { try writeAll(fd, $0, path: path) }
        }
        let headers = response.headers.map { (name: $0.name, value: $0.value) }
        return .response(GatewayResponse(status: Int(response.status.code), headers: headers, body: [], latencySeconds: latency()))
    }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        var offset = 0
        while offset < bytes.count {
            let count = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw DownloadError(description: "writing \(path) failed (\(String(cString: strerror(errno))))") }
            offset += count
        }
    }
}
