import Foundation

/// The proxy between sluice and the gateway, chosen as curl chooses it:
/// `--proxy URL` if given, else `https_proxy`/`HTTPS_PROXY` for an https
/// gateway (`http_proxy`/`HTTP_PROXY` for http), lowercase first, unless the
/// gateway's host matches `no_proxy`/`NO_PROXY`.
///
/// Credentials come from the URL's userinfo (`http://user:pass@proxy:3128`).
/// They are kept out of `description`, so logging a proxy never shows them,
/// and the proxy is never stored in the checkpoint.
///
/// ```swift
/// let proxy = try ProxySetting.resolve(flag: nil, baseURL: "https://api.floopy.ai/v1",
///                                      environment: ["HTTPS_PROXY": "http://proxy.corp:3128"])
/// // proxy?.description == "http://proxy.corp:3128"
/// ```
package struct ProxySetting: Sendable, Equatable, CustomStringConvertible {
    package enum Kind: String, Sendable {
        case http
        case socks5
    }

    package var kind: Kind
    package var host: String
    package var port: Int
    package var username: String?
    package var password: String?

    package var description: String { "\(kind.rawValue)://\(host):\(port)\(username == nil ? "" : " (with credentials)")" }

    /// Parses `http://[user:pass@]host[:port]`, `socks5://host:port`, or a bare `host:port` (http, as curl).
    package static func parse(_ text: String) throws -> ProxySetting {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let withScheme = trimmed.contains("://") ? trimmed : "http://" + trimmed
        func refuse(_ why: String) -> SluiceError {
            // The text may hold a password: name only what is wrong.
            SluiceError(.configuration, "the proxy URL is not usable: \(why)")
        }
        guard let components = URLComponents(string: withScheme), let scheme = components.scheme?.lowercased(),
            let host = components.host, !host.isEmpty
        else {
            throw refuse("expected http://[user:password@]host:port")
        }
        let kind: Kind
        switch scheme {
        case "http": kind = .http
        case "socks5", "socks5h": kind = .socks5
        case "https": throw refuse("a proxy reached over TLS (https://) is not supported; use http://host:port (the tunnel to the gateway is still TLS)")
        default: throw refuse("unknown scheme \(scheme) (http or socks5)")
        }
        if kind == .socks5, components.user != nil { throw refuse("socks5 proxies with credentials are not supported") }
        return ProxySetting(
            kind: kind, host: host, port: components.port ?? 1080,  // curl's default proxy port
            username: components.percentEncodedUser.flatMap { $0.removingPercentEncoding },
            password: components.percentEncodedPassword.flatMap { $0.removingPercentEncoding })
    }

    /// `http://user:secret@host` → `http://user:[REDACTED]@host`; anything else unchanged.
    package static func redactingPassword(_ text: String) -> String {
        guard let scheme = text.range(of: "://"), let at = text[scheme.upperBound...].firstIndex(of: "@"),
            let colon = text[scheme.upperBound..<at].firstIndex(of: ":")
        else { return text }
        return String(text[..<text.index(after: colon)]) + Redactor.replacement + String(text[at...])
    }

    /// The proxy for requests to `baseURL`, or nil for a direct connection.
    package static func resolve(flag: String?, baseURL: String, environment: [String: String]) throws -> ProxySetting? {
        if let flag { return flag.isEmpty ? nil : try parse(flag) }
        guard let url = URL(string: baseURL), let host = url.host else { return nil }
        let scheme = url.scheme?.lowercased() == "https" ? "https" : "http"
        func variable(_ name: String) -> String? {
            (environment[name.lowercased()] ?? environment[name.uppercased()]).flatMap { $0.isEmpty ? nil : $0 }
        }
        guard let text = variable("\(scheme)_proxy") ?? variable("all_proxy") else { return nil }
        if let noProxy = variable("no_proxy"), bypasses(host: host, noProxy: noProxy) { return nil }
        return try parse(text)
    }

    /// curl's `NO_PROXY`: `*` for every host, else a comma-separated list of
    /// names (matching the host or any subdomain; a leading dot is ignored) and
    /// IP addresses (matching exactly).
    static func bypasses(host: String, noProxy: String) -> Bool {
        let host = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        for entry in noProxy.split(separator: ",") {
            var name = entry.trimmingCharacters(in: .whitespaces).lowercased()
            if name == "*" { return true }
            if let colon = name.lastIndex(of: ":"), !name.contains("["), name.filter({ $0 == ":" }).count == 1 {
                name = String(name[..<colon])  // host:port, the port is not compared
            }
            name = name.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            while name.hasPrefix(".") { name.removeFirst() }
            guard !name.isEmpty else { continue }
            if host == name || host.hasSuffix("." + name) { return true }
        }
        return false
    }
}
