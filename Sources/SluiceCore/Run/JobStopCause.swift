/// Why a single answer stops the whole job: every other item would get the
/// same answer, so sending them would only burn time (and, for quota, money).
/// The items are left pending; the job resumes once the cause is fixed.
package enum JobStopCause: String, Equatable, Sendable {
    /// 401/403: the key was refused.
    case keyRefused = "key_refused"
    /// A 429 that no wait cures: the account's quota or billing limit (`insufficient_quota`).
    case quotaExhausted = "quota_exhausted"
    /// The gateway's TLS certificate could not be verified.
    case untrustedCertificate = "untrusted_certificate"
    /// The proxy refused sluice's credentials.
    case proxyRefused = "proxy_refused"

    /// The error a person reads: what the gateway said and what fixes it.
    func error(result: GatewayResult, baseURL: String, redactor: Redactor) -> SluiceError {
        switch (self, result) {
        case (.untrustedCertificate, _):
            return SluiceError(
                .tls,
                "cannot verify the TLS certificate of \(baseURL) (\(redactor.scrub(result.failureMessage))). "
                    + "If the gateway uses a private CA or you are behind a TLS-inspecting proxy, pass --ca-file PATH with its root "
                    + "certificate (PEM), or set SSL_CERT_FILE. The job stopped with its items pending; run again to resume.")
        case (.proxyRefused, _):
            return SluiceError(
                .proxy,
                "the proxy refused to open a tunnel to \(baseURL) (\(result.failureMessage)). Check the user and password in "
                    + "--proxy or HTTPS_PROXY/HTTP_PROXY (http://user:password@host:port, percent-encoded), and that the proxy allows this "
                    + "host and port. The job stopped with its items pending; run again to resume.")
        case (_, .response(let response)):
            let code = ResponseSummary.errorCode(in: response.body).map { " \($0)" } ?? ""
            let detail = redactor.scrub(ResponseSummary.errorMessage(in: response.body) ?? "")
            let said = "HTTP \(response.status)\(code)\(detail.isEmpty ? "" : ": \(detail)")"
            if self == .quotaExhausted {
                return SluiceError(
                    .quota,
                    "the gateway says the account's quota is used up (\(said)). Waiting does not cure this, so the job "
                        + "stopped before sending more, with its items pending; add credit or raise the limit, then run again to resume.")
            }
            return SluiceError(
                .authentication,
                "the gateway refused the API key (\(said)). The job stopped before sending more; "
                    + "fix the key and run again to resume.")
        case (_, .failure(let failure)):
            return SluiceError(.authentication, "the gateway refused the request (\(redactor.scrub(failure.message)))")
        }
    }
}

extension GatewayResult {
    /// The transport failure's message, empty for an HTTP answer.
    var failureMessage: String {
        if case .failure(let failure) = self { return failure.message }
        return ""
    }
}
