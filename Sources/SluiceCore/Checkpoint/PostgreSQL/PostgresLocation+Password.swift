import Foundation

extension PostgresLocation {
    /// The password: `PGPASSWORD`, else the first matching line of `PGPASSFILE` or `~/.pgpass`
    /// (`host:port:database:user:password`, `*` matches anything, `\:` and `\\` escape).
    ///
    /// A password file that is not a plain file, or that its group or others may read or write, is
    /// ignored with a warning, as libpq ignores it: the same file then works (or not) for sluice and for
    /// psql alike, and a password others can read is refused rather than used, so the leak gets fixed.
    /// The warning says why, since a refused login is what the user sees next.
    package func password(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        warn: (String) -> Void = { FileHandle.standardError.write(Data("sluice: warning: \($0)\n".utf8)) }
    ) -> String? {
        if let password = environment["PGPASSWORD"], !password.isEmpty { return password }
        let file = environment["PGPASSFILE"] ?? (environment["HOME"].map { $0 + "/.pgpass" } ?? "")
        var status = stat()
        guard !file.isEmpty, stat(file, &status) == 0 else { return nil }
        guard status.st_mode & S_IFMT == S_IFREG else {
            warn("password file \"\(file)\" is not a plain file; it is ignored")
            return nil
        }
        guard status.st_mode & (S_IRWXG | S_IRWXO) == 0 else {
            warn("password file \"\(file)\" has group or world access; permissions should be u=rw (0600) or less; it is ignored (chmod 600 it)")
            return nil
        }
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
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
}
