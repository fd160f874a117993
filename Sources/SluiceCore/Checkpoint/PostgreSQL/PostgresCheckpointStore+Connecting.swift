import Foundation
import Logging
import NIOSSL
import PostgresNIO

extension PostgresCheckpointStore {
    /// The TLS a location asks for, as libpq's `sslmode` means it: `prefer` and `require` encrypt without
    /// checking who answers; `verify-full` checks the certificate chain (against `sslrootcert`, else the
    /// system's roots) and that the certificate names the host (a DNS name, or the IP address connected to).
    static func tlsConfiguration(_ settings: PostgresLocation) throws -> TLSConfiguration? {
        switch settings.tls {
        case .disable:
            return nil
        case .prefer, .require:
            var unverified = TLSConfiguration.makeClientConfiguration()
            unverified.certificateVerification = .none
            return unverified
        case .verifyFull:
            var verified = TLSConfiguration.makeClientConfiguration()
            verified.certificateVerification = .fullVerification
            if let roots = settings.rootCertificates {
                guard FileManager.default.isReadableFile(atPath: roots) else {
                    throw SluiceError(.configuration, "\(settings.display): sslrootcert \(roots): no such readable file")
                }
                verified.trustRoots = .file(roots)
            }
            return verified
        }
    }

    static func clientTLS(_ settings: PostgresLocation) throws -> PostgresClient.Configuration.TLS {
        guard let configuration = try tlsConfiguration(settings) else { return .disable }
        return settings.tls == .prefer ? .prefer(configuration) : .require(configuration)
    }

    /// Logs in once, outside the pool, before the pool is used: the pool retries a connection that fails for
    /// any reason (a wrong password, a refused certificate) for a minute and then reports only that it gave
    /// up, so those are found here and reported at once, with the server's or TLS's own reason. A server that
    /// is not up yet is waited for as any outage is.
    static func checkLogin(_ settings: PostgresLocation, password: String?, outage: PostgresOutage, logger: Logger) async throws {
        let tls: PostgresConnection.Configuration.TLS
        do {
            switch (settings.tls, try tlsConfiguration(settings)) {
            case (.prefer, let configuration?): tls = .prefer(try NIOSSLContext(configuration: configuration))
            case (_, let configuration?): tls = .require(try NIOSSLContext(configuration: configuration))
            case (_, nil): tls = .disable
            }
        } catch let error as SluiceError {
            throw error
        } catch {
            throw SluiceError(.configuration, "\(settings.display): TLS settings (sslrootcert \(settings.rootCertificates ?? "none")): \(error)")
        }
        var configuration = PostgresConnection.Configuration(
            host: settings.host, port: settings.port, username: settings.user, password: password, database: settings.database, tls: tls)
        configuration.options.connectTimeout = .seconds(5)
        var quiet = logger
        quiet.logLevel = .critical
        try await outage.retrying(settings.display, logger: logger) { [configuration, quiet] in
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: quiet)
            try? await connection.close()
        }
    }
}
