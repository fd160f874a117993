import Foundation

/// Finds the API key: from a key file when one is named, else from an
/// environment variable. There is deliberately no flag that takes the key
/// itself: argv is visible to every user of the machine (`ps`).
public enum APIKeySource {
    /// Floopy's `fp_`, OpenAI's `sk-`, Anthropic's `sk-ant-`: a command-line argument like this is a key typed where it must not be.
    public static func looksLikeAKey(_ text: String) -> Bool {
        (text.hasPrefix("fp_") || text.hasPrefix("sk-")) && text.count >= 12 && !text.contains("/") && !text.hasSuffix(".json")
    }

    /// Nil means "send no Authorization", allowed only for loopback gateways
    /// (a local vLLM or the mock often needs none).
    public static func resolve(
        environmentVariable: String, keyFile: String?, baseURL: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> String? {
        if let keyFile {
            guard let data = FileManager.default.contents(atPath: keyFile) else {
                throw SluiceError(.configuration, "\(keyFile): cannot read the API key file")
            }
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
}
