/// `--echo-credentials`: a careless gateway's habit of quoting back the credentials it was sent, in error
/// bodies, batch error files and even batch output lines, so tests can prove sluice never keeps them.
///
/// Which headers count as credentials mirrors sluice's rule (the mock does not link sluice's code):
/// `authorization`, `proxy-authorization`, `cookie`, any `api-key`, `*-token`, `*-auth`, anything naming a
/// secret, and Portkey's virtual key.
struct CredentialEcho {
    /// `authorization: Bearer k; x-api-key: s`, in arrival order.
    let text: String
    /// The lowercased names echoed, for `/stats` (`echoed`).
    let names: [String]

    /// Nil when the request carried no credential header.
    init?(_ headers: [(name: String, value: String)]) {
        let presented = headers.filter { Self.looksLikeCredential($0.name) }
        guard !presented.isEmpty else { return nil }
        text = presented.map { "\($0.name): \($0.value)" }.joined(separator: "; ")
        names = presented.map { $0.name.lowercased() }
    }

    static func looksLikeCredential(_ name: String) -> Bool {
        let name = name.lowercased().replacingOccurrences(of: "_", with: "-")
        if ["authorization", "proxy-authorization", "cookie", "api-key", "x-portkey-virtual-key"].contains(name) { return true }
        return name.contains("secret") || ["-api-key", "-token", "-auth"].contains { name.hasSuffix($0) }
    }

    /// Counts, under `echoed` in `/stats`, each header sent back at `place` (`live_error`, `batch_error_line`...).
    func record(at place: String, in stats: inout MockStats) {
        for name in names { stats.echoed["\(place) \(name)", default: 0] += 1 }
    }
}
