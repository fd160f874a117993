import Foundation

/// How a job's name (`?job=NAME`, whatever the user typed) becomes the PostgreSQL schema that holds it.
///
/// PostgreSQL identifiers are at most 63 bytes, and sluice writes the schema into SQL text unquoted, so a
/// schema name must be short and plain. Two kinds of name:
/// - ASCII letters, digits and `_`, at most 48 characters (the names sluice always accepted): the schema is
///   `sluice_` + the name in lowercase, as before, so existing jobs still open (`Nightly_2` → `sluice_nightly_2`).
/// - any other name (hyphens, dots, spaces, unicode, longer): `sluice_` + a readable part (lowercase ASCII
///   letters and digits, every other run of characters one `_`, at most 47) + `_` + 8 hex digits of a hash of
///   the whole name (`nightly-eval` → `sluice_nightly_eval_` + 8 hex digits), so `a-b`, `a.b` and `a_b` differ.
///
/// Names are compared without case (as unquoted PostgreSQL names are; `Nightly` and `nightly` are one job) and
/// in Unicode canonical form (an `é` typed either way is one name). The name itself is kept in the job's
/// `job` table under `job_name`: `sluice list` shows it, and a job whose schema holds another name (a hash
/// collision, or a name chosen to equal another's schema) is refused instead of shared.
package enum PostgresJobName {
    /// The longest name that keeps its plain schema name: 7 + 48 bytes, room to spare under 63.
    static let plainLimit = 48
    static let readableLimit = 47

    /// The form two names are compared in: canonical composition, lowercase.
    package static func canonical(_ name: String) -> String { name.precomposedStringWithCanonicalMapping.lowercased() }

    /// The schema a job named `name` lives in (see the type's comment).
    package static func schema(for name: String) -> String {
        if isPlain(name) { return "sluice_" + name.lowercased() }
        let key = canonical(name)
        var readable = ""
        for scalar in key.unicodeScalars {
            if ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) {
                readable.unicodeScalars.append(scalar)
            } else if !readable.isEmpty && !readable.hasSuffix("_") {
                readable.append("_")
            }
        }
        readable = String(readable.prefix(readableLimit))
        while readable.hasSuffix("_") { readable.removeLast() }
        let digest = Digest64.of(key.utf8)
        let hash = String(UInt32(truncatingIfNeeded: digest ^ (digest >> 32)), radix: 16)
        return "sluice_" + (readable.isEmpty ? "job" : readable) + "_" + String(repeating: "0", count: 8 - hash.count) + hash
    }

    /// A name sluice accepted before any name was allowed: its schema stays what it was.
    static func isPlain(_ name: String) -> Bool {
        !name.isEmpty && name.count <= plainLimit && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
    }

    /// Why a name cannot be used, or nil: only control characters (they would garble status lines and logs).
    static func problem(with name: String) -> String? {
        name.unicodeScalars.contains { $0.properties.generalCategory == .control }
            ? "the job name \(name.debugDescription) holds a control character (a tab, a line break, ...)" : nil
    }
}
