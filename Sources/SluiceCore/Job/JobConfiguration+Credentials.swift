import Foundation

/// Headers and credentials: what the job may send, where each credential comes from, and the one
/// redactor that knows them all. A credential header (`HeaderValidation.isCredential`) is never taken as
/// a value: `--header-env NAME=ENV` names the environment variable, the checkpoint keeps that name, and
/// the value is read at start and handed to the transport, as the API key is.
extension JobConfiguration {
    func checkHeaders() throws {
        do {
            for (name, value) in gateway.properties {
                try HeaderValidation.checkPropertyName(name)
                try HeaderValidation.checkValue(value, for: "property \(name)")
            }
            for (name, value) in gateway.extraHeaders {
                try HeaderValidation.checkHeaderName(name)
                // Checked before the value: a refused value is never quoted back.
                if HeaderValidation.isCredential(name) { throw InputProblem(code: .invalidField, message: Self.credentialRefusal(name)) }
                try HeaderValidation.checkValue(value, for: "header \(name)")
            }
            for (name, variable) in headerEnv {
                try checkHeaderEnv(name: name, variable: variable)
            }
            for (field, value) in [
                ("session id", gateway.sessionID), ("user id", gateway.userID), ("prompt id", gateway.promptID), ("prompt version", gateway.promptVersion),
            ] {
                if let value { try HeaderValidation.checkValue(value, for: field) }
            }
        } catch let problem as InputProblem {
            throw SluiceError(.configuration, problem.message)
        }
    }

    private func checkHeaderEnv(name: String, variable: String) throws {
        try HeaderValidation.checkHeaderName(name)
        if ["authorization", "proxy-authorization"].contains(name.lowercased()) {
            throw InputProblem(code: .invalidField, message: Self.credentialRefusal(name))
        }
        if gateway.extraHeaders.keys.contains(where: { $0.caseInsensitiveCompare(name) == .orderedSame }) {
            throw InputProblem(
                code: .invalidField, message: "header \(name) is given both as a value (--header) and from the environment (--header-env): keep one")
        }
        // A secret typed where its variable's name belongs must not be repeated into a terminal or CI log.
        let isName =
            variable.first.map { $0 == "_" || ($0.isASCII && $0.isLetter) } == true
            && variable.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
        guard isName, !APIKeySource.looksLikeAKey(variable) else {
            throw InputProblem(
                code: .invalidField,
                message: "--header-env \(name)=...: after = comes the NAME of an environment variable (letters, digits and _), not the value itself")
        }
    }

    /// Why a credential header given as a value is refused, and what to do instead.
    static func credentialRefusal(_ name: String) -> String {
        let lower = name.lowercased()
        if lower == "authorization" || lower == "proxy-authorization" {
            return "the \(name) header comes from the API key (--api-key-env NAME or --api-key-file PATH) or the proxy setting, never from a header value; "
                + "other credential headers are read from the environment with --header-env 'NAME=ENV_NAME'"
        }
        return "header \(name) carries a credential, which sluice never takes as a value (other users see argv with ps; job files get shared): "
            + "put it in an environment variable and give --header-env '\(name)=ENV_NAME' (in a job file: \"header_env\": {\"\(name)\": \"ENV_NAME\"})"
    }

    /// The `--header-env` headers with their values, read from the environment; a variable that is not set
    /// stops the job before anything is sent, naming it.
    package func credentialHeaders(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> [(name: String, value: String)] {
        try headerEnv.keys.sorted().map { name in
            let variable = headerEnv[name]!
            guard let value = environment[variable]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else {
                throw SluiceError(
                    .configuration,
                    "--header-env \(name)=\(Self.shown(variable)): \(Self.shown(variable, else: "that environment variable")) is not set (or is empty); set it to the \(name) value"
                )
            }
            guard !value.utf8.contains(where: { $0 == 0x0A || $0 == 0x0D || $0 == 0 }) else {
                throw SluiceError(
                    .configuration,
                    "--header-env \(name)=\(Self.shown(variable)): the value of \(Self.shown(variable, else: "that variable")) contains a line break, which cannot be sent"
                )
            }
            return (name, value)
        }
    }

    /// An environment variable's name as messages show it: a conventional name (`PORTKEY_VIRTUAL_KEY`) as it is,
    /// anything else (which may be the secret itself, typed where its name belongs) not at all.
    static func shown(_ variable: String, else replacement: String = "...") -> String {
        let conventional =
            variable.count <= 64 && variable.first.map { $0 == "_" || ("A"..."Z").contains($0) } == true
            && variable.allSatisfy { $0 == "_" || ("A"..."Z").contains($0) || ("0"..."9").contains($0) }
        return conventional ? (replacement == "..." ? variable : "the environment variable \(variable)") : replacement
    }

    /// The one redactor of a run: the API key, every `--header-env` value and the proxy password, scrubbed
    /// from all gateway text sluice prints, logs or stores.
    package func redactor(
        apiKey: String?, proxyPassword: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws
        -> Redactor
    {
        Redactor(secrets: [apiKey, proxyPassword] + (try credentialHeaders(environment: environment)).map(\.value))
    }

    /// Loopback by address (any of 127.0.0.0/8, `::1`, an IPv4-mapped 127.x) or the name `localhost`;
    /// `127.example.com` is a name anyone can register, not a loopback address.
    package static func isLoopback(_ host: String) -> Bool {
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        if bare == "localhost" { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, bare, &v4) == 1 { return UInt32(bigEndian: v4.s_addr) >> 24 == 127 }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, bare, &v6) == 1 else { return false }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        if bytes == Array(repeating: 0, count: 15) + [1] { return true }
        return bytes.prefix(12) == ArraySlice(Array(repeating: 0, count: 10) + [0xFF, 0xFF]) && bytes[12] == 127
    }
}
