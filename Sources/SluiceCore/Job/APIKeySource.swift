import Foundation

/// Finds the API key: from a key file when one is named, else from an
/// environment variable. There is deliberately no flag that takes the key
/// itself: argv is visible to every user of the machine (`ps`).
package enum APIKeySource {
    /// Floopy's `fp_`, OpenAI's `sk-`, Anthropic's `sk-ant-`: a command-line argument like this is a key typed where it must not be.
    package static func looksLikeAKey(_ text: String) -> Bool {
        (text.hasPrefix("fp_") || text.hasPrefix("sk-")) && text.count >= 12 && !text.contains("/") && !text.hasSuffix(".json")
    }

    /// Nil means "send no Authorization", allowed only for loopback gateways
    /// (a local vLLM or the mock often needs none).
    package static func resolve(
        environmentVariable: String, keyFile: String?, baseURL: String,
        environment: [String: String] = ProcessInfo.processInfo.environment, warn: (String) -> Void = APIKeySource.warnOnStandardError
    ) throws -> String? {
        if let keyFile {
            guard let data = FileManager.default.contents(atPath: keyFile) else {
                throw SluiceError(.configuration, "\(keyFile): cannot read the API key file")
            }
            if let warning = permissionWarning(keyFile) { warn(warning) }
            let key = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !key.isEmpty else { throw SluiceError(.configuration, "\(keyFile): the API key file is empty") }
            guard !key.contains("\n") else { throw SluiceError(.configuration, "\(keyFile): the API key file must hold the key alone, on one line") }
            return key
        }
        if let key = environment[environmentVariable]?.trimmingCharacters(in: .whitespacesAndNewlines), !key.isEmpty {
            return key
        }
        if let host = URL(string: baseURL)?.host, JobConfiguration.isLoopback(host) { return nil }
        throw SluiceError(
            .configuration,
            "no API key: set the environment variable \(environmentVariable) (or name another with --api-key-env NAME, or a file with --api-key-file PATH)")
    }

    /// A key file other users may read is worth a warning, as ssh and libpq give: the key still works, so the
    /// run goes on, but the fix is one command.
    static func permissionWarning(_ keyFile: String) -> String? {
        // stat, not lstat: the key file may be a symlink (to a secrets mount), and what matters is who can read the key.
        var status = stat()
        guard stat(keyFile, &status) == 0 else { return nil }
        let mode = Int(status.st_mode & 0o777)
        guard mode & 0o077 != 0 else { return nil }
        return "\(keyFile) (the API key file) is open to group or others (mode \(String(mode & 0o777, radix: 8))); "
            + "make it private with: chmod 600 \(keyFile)"
    }

    package static let warnOnStandardError: @Sendable (String) -> Void = { message in
        FileHandle.standardError.write(Data("sluice: warning: \(message)\n".utf8))
    }
}
