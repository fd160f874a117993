import CSQLite
import Foundation

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
        rows.append((0..<sqlite3_column_count(statement)).map { column in
            sqlite3_column_text(statement, column).map { String(cString: $0) }
        })
    }
    return rows
}

func checkpointCount(_ path: String, _ whereClause: String) -> Int {
    guard let rows = try? queryCheckpoint(path, "SELECT count(*) FROM items WHERE \(whereClause)"),
          let text = rows.first?.first ?? nil else { return 0 }
    return Int(text) ?? 0
}
