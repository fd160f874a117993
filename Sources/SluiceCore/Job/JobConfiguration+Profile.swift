/// The job's gateway profile: built from the settings, checked with them, so a
/// setting the gateway cannot honour stops the job before the first request.
extension JobConfiguration {
    /// The profile the job's requests are built and read with.
    package var gatewayProfile: any GatewayProfile { gateway.profile.profile(jobName: name) }

    /// Settings the profile will not send, one message each, for the log at start.
    package var gatewayProfileWarnings: [String] {
        var warnings = (try? gatewayProfile.check(gateway)) ?? []
        if gateway.promptID != nil, ![GatewayProfileName.floopy, .floopySDK].contains(gateway.profile) {
            warnings.append("prompt_id is Floopy's server-side prompt; the \(gateway.profile.rawValue) profile does not send it")
        }
        // Portkey's own key is a second credential beside the provider's: it comes from the environment too.
        if gateway.profile == .portkey, !headerEnv.keys.contains(where: { $0.lowercased() == "x-portkey-api-key" }) {
            warnings.append(
                "Portkey authenticates every request with x-portkey-api-key: give it with --header-env 'x-portkey-api-key=PORTKEY_API_KEY' "
                    + "(and a virtual key with --header-env 'x-portkey-virtual-key=ENV_NAME')")
        }
        return warnings
    }

    func checkGatewayProfile() throws {
        for tag in gateway.tags {
            // Tags travel comma-separated in a header on every gateway that has them.
            guard !tag.isEmpty, !tag.contains(","), !tag.utf8.contains(where: { $0 < 0x20 }) else {
                throw SluiceError(.configuration, "tag \"\(tag)\" cannot be sent: a tag is a non-empty string without commas or line breaks")
            }
        }
        do {
            _ = try gatewayProfile.check(gateway)
        } catch {
            throw SluiceError(.configuration, error.message)
        }
    }
}
