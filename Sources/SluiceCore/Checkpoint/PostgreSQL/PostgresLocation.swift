import Foundation

/// A PostgreSQL checkpoint location: `postgres://user@host:5432/db?job=nightly`.
///
/// The URL names the server and the job, never the password: a URL is typed
/// on command lines and saved in job files, so the password comes from
/// `PGPASSWORD` or a `~/.pgpass`-style file (`PGPASSFILE`), as libpq does.
/// Each job is a schema of its own (`sluice_<job>`), so one database holds
/// many jobs and `DROP SCHEMA` removes one.
///
/// Query parameters: `job` (required; letters, digits, `_`), `sslmode`
/// (`disable`, `prefer` (default), `require`, `verify-full`), `sslrootcert`
/// (a PEM file of trusted roots for `verify-full`), `lease` (seconds a lease
/// lasts without a heartbeat; default 30).
///
/// ```swift
/// let location = try PostgresLocation(parsing: "postgres://sluice@db:5432/batch?job=nightly")
/// location.schema      // "sluice_nightly"
/// location.display     // the URL as given, without a password
/// ```
public struct PostgresLocation: Sendable, Equatable {
    public enum TLSMode: String, Sendable {
        case disable, prefer, require
        case verifyFull = "verify-full"
    }

    public var host: String
    public var port: Int
    public var user: String
    public var database: String
    public var job: String
    public var tls: TLSMode
    public var rootCertificates: String?
    public var leaseSeconds: Double

    /// The schema the job's tables live in.
    public var schema: String { "sluice_" + job.lowercased() }
    /// The location as shown to users and stored in reports: no password ever.
    public var display: String { "postgres://\(user)@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(database)?job=\(job)" }

    public static func isPostgres(_ location: String) -> Bool {
        location.hasPrefix("postgres://") || location.hasPrefix("postgresql://")
    }

    /// `requireJob: false` for a URL that names only the database (`sluice list postgres://…`).
    public init(parsing text: String, requireJob: Bool = true) throws {
        func refuse(_ reason: String) -> SluiceError {
            SluiceError(.configuration, "--checkpoint \(Self.withoutPassword(text)): \(reason)")
        }
        guard Self.isPostgres(text), let url = URLComponents(string: text), let host = url.host, !host.isEmpty else {
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
        guard job.count <= 48, job.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            throw refuse("the job name \"\(job)\" may hold only letters, digits and _ (at most 48)")
        }
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

    /// The password: `PGPASSWORD`, else the first matching line of `PGPASSFILE` or `~/.pgpass`
    /// (`host:port:database:user:password`, `*` matches anything, `\:` and `\\` escape).
    public func password(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let password = environment["PGPASSWORD"], !password.isEmpty { return password }
        let file = environment["PGPASSFILE"] ?? (environment["HOME"].map { $0 + "/.pgpass" } ?? "")
        guard !file.isEmpty, let text = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            let fields = Self.fields(of: Substring(line))
            guard fields.count == 5 else { continue }
            let wanted = [host, String(port), database, user]
            if zip(fields.prefix(4), wanted).allSatisfy({ $0 == "*" || $0 == $1 }) { return fields[4] }
        }
        return nil
    }

    private static func fields(of line: Substring) -> [String] {
        var fields: [String] = []
        var current = ""
        var escaped = false
        for character in line {
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == ":" {
                fields.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        fields.append(current)
        return fields
    }

    /// For error messages about a URL that was refused: whatever sits between `:` and `@` goes.
    static func withoutPassword(_ text: String) -> String {
        // Textual, so a URL that does not even parse loses its password too.
        text.replacingOccurrences(of: #"^([a-z]+://[^:/@]*):[^@]*@"#, with: "$1@", options: .regularExpression)
    }
}
