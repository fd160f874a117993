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
        try await PostgresCheckpointStore.withStore(location, role: .runner, environment: environment) { _ in }
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
        // No sslmode: `prefer` finds TLS (the role could not log in without it).
        try await login(try location(server, query: ""), ["PGPASSFILE": file])
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

/// The real `sluice` against the secured server and the real `sluice-mock`: a job named `nightly-eval` over
/// verified TLS, its password from a file or the environment, and that password nowhere else.
@Suite(.serialized) struct SecuredSharedJobTests {
    private func passwordFile(_ dir: TemporaryDirectory, _ server: PostgresTestServer, mode: mode_t) throws -> String {
        let security = try #require(server.security)
        let file = dir.file("pgpass-\(String(mode, radix: 8))")
        try "localhost:\(server.port):sluice:\(security.role):\(security.password)\n".write(toFile: file, atomically: false, encoding: .utf8)
        chmod(file, mode)
        return file
    }

    /// Every row of every table of the job's schema, as text (bytea columns come out as hex).
    private func rows(_ server: PostgresTestServer, schema: String) throws -> String {
        let tables = try server.query("SELECT table_name FROM information_schema.tables WHERE table_schema = '\(schema)'").map { $0[0] }
        #expect(tables.contains("items") && tables.contains("job"), "\(tables)")
        return try tables.map { try server.query("SELECT t::text FROM \(schema).\($0) t").map { $0.joined(separator: "|") }.joined(separator: "\n") }
            .joined(separator: "\n")
    }

    @Test func aJobNamedNightlyEvalRunsOverVerifiedTLSAndItsPasswordShowsNowhere() async throws {
        let server = try await PostgresTestServer.secured()
        let security = try #require(server.security)
        let mock = try await MockGatewayProcess(["--latency-ms", "20"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 60)
        let tls = "sslmode=verify-full&sslrootcert=\(security.caCertificate)"
        let url = server.url(job: "nightly-eval", host: "localhost", query: tls)
        let fromFile = ["PGPASSFILE": try passwordFile(dir, server, mode: 0o600), "PGPASSWORD": ""]
        let arguments = [
            "run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--checkpoint", url, "--output", dir.file("out.jsonl"),
            "--no-progress", "--log-level", "debug", "--concurrency", "4",
        ]
        let worker = try Child(Binaries.sluice, arguments, environment: fromFile)
        var argv: [String] = []
        while worker.process.isRunning, argv.count < 10, let bytes = FileManager.default.contents(atPath: "/proc/\(worker.pid)/cmdline") {
            argv.append(String(decoding: bytes.map { $0 == 0 ? 32 : $0 }, as: UTF8.self))
            try await Task.sleep(for: .milliseconds(30))
        }
        let run = await worker.wait()
        #expect(run.status == 0, "\(run.stderr.suffix(2000))")
        #expect(argv.contains { $0.contains("job=nightly-eval") }, "the worker's argv was read while it ran: \(argv)")

        let status = try await runSluice(["status", url], environment: ["PGPASSWORD": security.password, "PGPASSFILE": "/nonexistent"])
        #expect(status.status == 0 && status.stdout.contains("60"), "\(status.stdout)\(status.stderr)")
        let list = try await runSluice(["list", "postgres://\(security.role)@localhost:\(server.port)/sluice?\(tls)"], environment: fromFile)
        #expect(list.status == 0 && list.stdout.contains("?job=nightly-eval"), "\(list.stdout)\(list.stderr)")

        let schema = PostgresJobName.schema(for: "nightly-eval")
        #expect(try server.query("SELECT value FROM \(schema).job WHERE key = 'job_name'") == [["nightly-eval"]])
        #expect(try server.query("SELECT count(*) FROM \(schema).items WHERE state = 2") == [["60"]])
        let stored = try rows(server, schema: schema)
        let results = try String(contentsOfFile: dir.file("out.jsonl"), encoding: .utf8)
        let hex = security.password.utf8.map { String(format: "%02x", $0) }.joined()
        let places = [
            "argv": argv.joined(separator: "\n"), "run output": run.stdout + run.stderr, "status": status.stdout + status.stderr,
            "list": list.stdout + list.stderr, "checkpoint rows": stored, "results": results,
        ]
        for (place, text) in places {
            #expect(!text.contains(security.password) && !text.contains(hex), "the password shows in the \(place)")
        }
    }

    @Test func aWrongPasswordAnOpenPasswordFileOrAnUntrustedServerStopSluiceAtOnceWithAClearMessage() async throws {
        let server = try await PostgresTestServer.secured()
        let security = try #require(server.security)
        let dir = TemporaryDirectory()
        let verified = "sslmode=verify-full&sslrootcert=\(security.caCertificate)"
        let url = server.url(job: "nightly-eval", host: "localhost", query: verified)
        let wrong = "wrong-" + security.password
        let start = ContinuousClock.now
        let refused = try await runSluice(["status", url], environment: ["PGPASSWORD": wrong])
        #expect(ContinuousClock.now - start < .seconds(15), "refused at once, not retried as an outage")
        #expect(refused.status != 0 && refused.stderr.contains("password authentication failed"), "\(refused.stderr)")
        #expect(!refused.stderr.contains(wrong) && !refused.stderr.contains(security.password), "\(refused.stderr)")

        let open = ["PGPASSFILE": try passwordFile(dir, server, mode: 0o644), "PGPASSWORD": ""]
        let ignored = try await runSluice(["status", url], environment: open)
        #expect(ignored.status != 0, "\(ignored.stdout)")
        #expect(ignored.stderr.contains("has group or world access; permissions should be u=rw (0600) or less"), "\(ignored.stderr)")
        #expect(ignored.stderr.contains("asks for a password") && !ignored.stderr.contains(security.password), "\(ignored.stderr)")

        let untrusted = server.url(job: "nightly-eval", host: "localhost", query: "sslmode=verify-full&sslrootcert=\(security.otherCACertificate)")
        let distrusted = try await runSluice(["status", untrusted], environment: ["PGPASSWORD": security.password])
        #expect(distrusted.status != 0 && distrusted.stderr.contains("certificate is not trusted"), "\(distrusted.stderr)")
    }
}
