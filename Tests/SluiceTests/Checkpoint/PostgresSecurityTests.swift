import Foundation
import Testing

@testable import SluiceCore

/// Logging in to a server set up as production servers are (`PostgresTestServer.secured()`): TLS with a
/// certificate from a private CA, a SCRAM-SHA-256 password, and no login for the role without TLS.
@Suite struct PostgresSecurityTests {
    private func location(_ server: PostgresTestServer, host: String = "127.0.0.1", query: String) throws -> PostgresLocation {
        try PostgresLocation(parsing: server.url(job: PostgresTestServer.uniqueJobName(), host: host, query: query))
    }

    /// Opens a job and closes it again: nothing is left running whatever the test expects.
    private func login(_ location: PostgresLocation, _ environment: [String: String]) async throws {
        let store = try await PostgresCheckpointStore.open(location, role: .runner, environment: environment)
        await store.close()
    }

    /// The error a login that must fail gives, and that it came without the minute of retrying an outage gets.
    private func refusal(_ location: PostgresLocation, _ environment: [String: String]) async throws -> String {
        let start = ContinuousClock.now
        let error = try await #require(throws: SluiceError.self) { try await login(location, environment) }
        #expect(ContinuousClock.now - start < .seconds(15), "refused at once, not retried as an outage: \(error.message)")
        return error.message
    }

    private func secured() async throws -> (PostgresTestServer, PostgresTestServer.Security) {
        let server = try await PostgresTestServer.secured()
        return (server, try #require(server.security))
    }

    @Test func thePasswordFromPGPASSWORDOrFromAPasswordFileLogsInWithSCRAM() async throws {
        let (server, security) = try await secured()
        let stored = try server.query("SELECT left(rolpassword, 14) FROM pg_authid WHERE rolname = '\(security.role)'")
        #expect(stored == [["SCRAM-SHA-256$"]], "the server keeps a SCRAM verifier, so the login is SCRAM")
        try await login(try location(server, query: "sslmode=require"), ["PGPASSWORD": security.password])
        let dir = TemporaryDirectory()
        let file = dir.file("pgpass")
        try "127.0.0.1:\(server.port):sluice:\(security.role):\(security.password)\n".write(toFile: file, atomically: false, encoding: .utf8)
        chmod(file, 0o600)
        try await login(try location(server, query: "sslmode=require"), ["PGPASSFILE": file])
    }

    @Test func aWrongOrMissingPasswordIsRefusedAtOnceWithoutShowingIt() async throws {
        let (server, security) = try await secured()
        let wrong = "wrong-" + security.password
        let message = try await refusal(try location(server, query: "sslmode=require"), ["PGPASSWORD": wrong])
        #expect(message.contains("password authentication failed for user \"\(security.role)\""), "\(message)")
        #expect(!message.contains(wrong) && !message.contains(security.password), "\(message)")
        let missing = try await refusal(try location(server, query: "sslmode=require"), ["PGPASSFILE": "/nonexistent/pgpass"])
        #expect(missing.contains("asks for a password") && missing.contains("PGPASSWORD"), "\(missing)")
    }

    /// The server lets the role in only over TLS, so a login with `require` proves the connection was encrypted.
    @Test func requireEncryptsWithoutVerifyingAndTheServerRefusesPlainConnections() async throws {
        let (server, security) = try await secured()
        let plain = try await refusal(try location(server, query: "sslmode=disable"), ["PGPASSWORD": security.password])
        #expect(plain.contains("no pg_hba.conf entry") && plain.contains("no encryption"), "\(plain)")
        // Another CA signed nothing of the server's: `require` does not look.
        let query = "sslmode=require&sslrootcert=\(security.otherCACertificate)"
        try await login(try location(server, query: query), ["PGPASSWORD": security.password])
    }

    @Test func verifyFullAcceptsTheServersCAByAddressAndByName() async throws {
        let (server, security) = try await secured()
        let query = "sslmode=verify-full&sslrootcert=\(security.caCertificate)"
        try await login(try location(server, host: "127.0.0.1", query: query), ["PGPASSWORD": security.password])
        try await login(try location(server, host: "localhost", query: query), ["PGPASSWORD": security.password])
    }

    @Test func verifyFullRefusesACertificateFromAnotherCA() async throws {
        let (server, security) = try await secured()
        let query = "sslmode=verify-full&sslrootcert=\(security.otherCACertificate)"
        let message = try await refusal(try location(server, host: "localhost", query: query), ["PGPASSWORD": security.password])
        #expect(message.contains("certificate") && message.contains("not trusted"), "\(message)")
        #expect(!message.contains(security.password))
    }

    @Test func verifyFullRefusesAHostTheCertificateDoesNotName() async throws {
        let (server, security) = try await secured()
        // Reachable, and the right CA: only the name is wrong (the certificate names 127.0.0.1 and localhost).
        try await login(try location(server, host: "[::1]", query: "sslmode=require"), ["PGPASSWORD": security.password])
        let query = "sslmode=verify-full&sslrootcert=\(security.caCertificate)"
        let message = try await refusal(try location(server, host: "[::1]", query: query), ["PGPASSWORD": security.password])
        #expect(message.contains("certificate does not name"), "\(message)")
    }

    @Test func aMissingRootCertificateFileIsNamed() async throws {
        let (server, security) = try await secured()
        let query = "sslmode=verify-full&sslrootcert=/nonexistent/ca.pem"
        let message = try await refusal(try location(server, query: query), ["PGPASSWORD": security.password])
        #expect(message.contains("sslrootcert /nonexistent/ca.pem"), "\(message)")
    }

    /// libpq ignores such a file with a warning; so does sluice (see `PostgresLocation.password`).
    @Test func aPasswordFileOthersMayReadIsIgnoredWithAWarning() throws {
        let dir = TemporaryDirectory()
        let file = dir.file("pgpass")
        try "*:*:*:*:secret\n".write(toFile: file, atomically: false, encoding: .utf8)
        let location = try PostgresLocation(parsing: "postgres://app@db/batch?job=x")
        var warnings: [String] = []
        for mode: mode_t in [0o644, 0o640, 0o604, 0o620] {
            chmod(file, mode)
            #expect(location.password(environment: ["PGPASSFILE": file], warn: { warnings.append($0) }) == nil, "mode \(String(mode, radix: 8))")
        }
        #expect(warnings.count == 4)
        #expect(warnings.allSatisfy { $0.contains("has group or world access; permissions should be u=rw (0600) or less") }, "\(warnings)")
        #expect(!warnings.joined().contains("secret"))
        chmod(file, 0o600)
        #expect(location.password(environment: ["PGPASSFILE": file], warn: { warnings.append($0) }) == "secret")
        #expect(location.password(environment: ["PGPASSFILE": dir.path], warn: { warnings.append($0) }) == nil)
        #expect(warnings.count == 5 && warnings.last?.contains("is not a plain file") == true, "\(warnings)")
    }
}
