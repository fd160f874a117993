import Foundation

/// A PostgreSQL checkpoint location: `postgres://user@host:5432/db?job=nightly`.
///
/// The URL names the server and the job, never the password: a URL is typed
/// on command lines and saved in job files, so the password comes from
/// `PGPASSWORD` or a `~/.pgpass`-style file (`PGPASSFILE`), as libpq does.
/// Each job is a schema of its own (`sluice_<job>`, see `PostgresJobName` for
/// names that are not plain), so one database holds many jobs and
/// `DROP SCHEMA` removes one.
///
/// Query parameters: `job` (required; any name without control characters:
/// `nightly-eval`, `Évaluation 2`, ...; write `%26` for `&`), `sslmode`
/// (`disable`, `prefer` (default), `require`, `verify-full`), `sslrootcert`
/// (a PEM file of trusted roots for `verify-full`), `lease` (seconds a lease
/// lasts without a heartbeat; default 30).
///
/// ```swift
/// let location = try PostgresLocation(parsing: "postgres://sluice@db:5432/batch?job=nightly")
/// location.schema      // "sluice_nightly"
/// location.display     // the URL as given, without a password
/// ```
package struct PostgresLocation: Sendable, Equatable {
    package enum TLSMode: String, Sendable {
        case disable, prefer, require
        case verifyFull = "verify-full"
    }

    package var host: String
    package var port: Int
    package var user: String
    package var database: String
    package var job: String
    package var tls: TLSMode
    package var rootCertificates: String?
    package var leaseSeconds: Double

    /// The schema the job's tables live in.
    package var schema: String { PostgresJobName.schema(for: job) }
    /// The location as shown to users and stored in reports: no password ever. The job's name is
    /// percent-encoded where a URL needs it, so the text parses back to the same job.
    package var display: String {
        let name = job.addingPercentEncoding(withAllowedCharacters: Self.plainInURL) ?? job
        return "postgres://\(user)@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)?job=\(name)"
    }

    private static let plainInURL = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")
    /// What a typed URL may hold without escaping; anything else (a space, an `é`) is escaped before parsing,
    /// and escapes already written (`%20`) stay as they are.
    private static let typable = CharacterSet(charactersIn: Unicode.Scalar(0x21)...Unicode.Scalar(0x7e)).subtracting(CharacterSet(charactersIn: "\"<>\\^`{|}"))

    package static func isPostgres(_ location: String) -> Bool {
        location.hasPrefix("postgres://") || location.hasPrefix("postgresql://")
    }

    /// `requireJob: false` for a URL that names only the database (`sluice list postgres://…`).
    package init(parsing text: String, requireJob: Bool = true) throws {
        func refuse(_ reason: String) -> SluiceError {
            SluiceError(.configuration, "--checkpoint \(Self.withoutPassword(text)): \(reason)")
        }
        // A `%` that starts no escape (`100%`) stands for itself.
        let escaped =
            text.replacingOccurrences(of: "%(?![0-9A-Fa-f]{2})", with: "%25", options: .regularExpression)
            .addingPercentEncoding(withAllowedCharacters: Self.typable) ?? text
        guard Self.isPostgres(text), let url = URLComponents(string: escaped), let host = url.host, !host.isEmpty else {
            throw refuse("not a PostgreSQL URL (postgres://user@host:5432/database?job=name)")
        }
        if url.password != nil {
            throw refuse("the URL must not carry the password (it would show in argv and logs); set PGPASSWORD or use ~/.pgpass")
        }
        let items = url.queryItems ?? []
        func parameter(_ name: String) -> String? { items.last { $0.name == name }?.value }
        let known: Set<String> = ["job", "sslmode", "sslrootcert", "lease"]
        if let unknown = items.first(where: { !known.contains($0.name) }) {
            throw refuse("unknown parameter \"\(unknown.name)\" (known: job, sslmode, sslrootcert, lease)")
        }
        let job = parameter("job") ?? ""
        if job.isEmpty && requireJob { throw refuse("name the job: add ?job=NAME") }
        if let problem = PostgresJobName.problem(with: job) { throw refuse(problem) }
        let database = String(url.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else { throw refuse("name the database: postgres://user@host:5432/DATABASE?job=NAME") }
        self.host = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
        self.port = url.port ?? 5432
        self.user = url.user ?? ProcessInfo.processInfo.environment["PGUSER"] ?? ProcessInfo.processInfo.environment["USER"] ?? "postgres"
        self.database = database
        self.job = job
        guard let tls = TLSMode(rawValue: parameter("sslmode") ?? "prefer") else {
            throw refuse("sslmode must be disable, prefer, require or verify-full")
        }
        self.tls = tls
        rootCertificates = parameter("sslrootcert")
        if let lease = parameter("lease") {
            guard let seconds = Double(lease), seconds >= 2, seconds <= 3600 else { throw refuse("lease must be 2 to 3600 seconds") }
            leaseSeconds = seconds
        } else {
            leaseSeconds = 30
        }
    }

    /// For error messages about a URL that was refused: whatever sits between `:` and `@` goes.
    static func withoutPassword(_ text: String) -> String {
        // Textual, so a URL that does not even parse loses its password too.
        text.replacingOccurrences(of: #"^([a-z]+://[^:/@]*):[^@]*@"#, with: "$1@", options: .regularExpression)
    }
}
