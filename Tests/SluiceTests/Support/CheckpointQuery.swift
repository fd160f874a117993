import CSQLite
import Foundation

@testable import SluiceCore

/// Reads a checkpoint database the way an operator would, read-only, even
/// while a sluice process is writing it (WAL lets readers in).
func queryCheckpoint(_ path: String, _ sql: String) throws -> [[String?]] {
    var db: OpaquePointer?
    guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, nil) == SQLITE_OK else {
        sqlite3_close(db)
        throw TestFailure("cannot open \(path)")
    }
    defer { sqlite3_close(db) }
    sqlite3_busy_timeout(db, 5000)
    var statement: OpaquePointer?
    guard sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK else {
        throw TestFailure("bad query \(sql): \(String(cString: sqlite3_errmsg(db)))")
    }
    defer { sqlite3_finalize(statement) }
    var rows: [[String?]] = []
    while sqlite3_step(statement) == SQLITE_ROW {
        rows.append(
            (0..<sqlite3_column_count(statement)).map { column in
                sqlite3_column_text(statement, column).map { String(cString: $0) }
            })
    }
    return rows
}

/// How many items match; throws when the database cannot be read (a `== 0` check must not pass on a broken file).
func checkpointCount(_ path: String, _ whereClause: String) throws -> Int {
    let rows = try queryCheckpoint(path, "SELECT count(*) FROM items WHERE \(whereClause)")
    guard let text = rows.first?.first ?? nil, let count = Int(text) else { throw TestFailure("no count from \(path)") }
    return count
}

/// Like `checkpointCount`, but 0 while the database does not exist yet.
func checkpointCountIfPresent(_ path: String, _ whereClause: String) throws -> Int {
    FileManager.default.fileExists(atPath: path) ? try checkpointCount(path, whereClause) : 0
}

/// Runs SQL statements against a database file (created if missing), for tests that build one by hand.
func executeSQL(_ path: String, _ sql: String) throws {
    var db: OpaquePointer?
    guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nil) == SQLITE_OK else {
        sqlite3_close(db)
        throw TestFailure("cannot open \(path)")
    }
    defer { sqlite3_close(db) }
    var message: UnsafeMutablePointer<CChar>?
    guard sqlite3_exec(db, sql, nil, nil, &message) == SQLITE_OK else {
        let text = message.map { String(cString: $0) } ?? "unknown error"
        sqlite3_free(message)
        throw TestFailure("SQL failed: \(text)")
    }
}

/// The digest of each succeeded item's request body, as the mock puts it in the
/// answer's id (`chatcmpl-<digest>`), read through the store (answers are stored
/// compressed) as a reader would, also while a job runs.
func committedDigests(_ location: String) async throws -> [String] {
    try await CheckpointStores.withStore(location, role: .reader) { store in
        var digests: [String] = []
        var cursor = ResultCursor.start
        while true {
            let page = try await store.results(after: cursor, limit: 5000)
            guard let last = page.last else { break }
            cursor = last.position
            for row in page where row.state == .succeeded {
                let text = String(decoding: row.response ?? [], as: UTF8.self)
                if let range = text.range(of: "chatcmpl-") { digests.append(String(text[range.upperBound...].prefix(16))) }
            }
        }
        return digests
    }
}
