import ArgumentParser
import Foundation

/// `--metrics HOST:PORT` (or just `PORT`, on loopback): where the Prometheus endpoint listens.
struct ListenAddress: ExpressibleByArgument, Sendable {
    let host: String
    let port: Int

    init?(argument: String) {
        var host = "127.0.0.1"
        var portText = Substring(argument)
        if let colon = argument.lastIndex(of: ":") {
            host = String(argument[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            portText = argument[argument.index(after: colon)...]
        }
        guard !host.isEmpty, let port = Int(portText), (0...65535).contains(port) else { return nil }
        self.host = host
        self.port = port
    }

    static var defaultValueDescription: String { "HOST:PORT" }
}
