import CSQLite
import Foundation

/// A thin wrapper over one SQLite connection: prepared statements, typed
/// binding and errors that say which database failed and why.
final class SQLiteDatabase {
    let path: String
    private(set) var handle: OpaquePointer?

    /// Creates the file with mode 0600 first: SQLite gives its -wal and -shm
    /// files the database file's permissions, so none of them is world-readable.
    /// `readOnly` opens an existing database for reading only (while another
    /// process may be writing it: WAL lets readers in).
    init(path: String, readOnly: Bool = false) throws {
        self.path = path
        if readOnly {
            guard access(path, R_OK) == 0 else {
                throw SluiceError(.checkpoint, "\(path): cannot read the checkpoint (\(String(cString: strerror(errno))))")
            }
        } else {
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard fd >= 0 else {
                throw SluiceError(.checkpoint, "\(path): cannot create the checkpoint database (\(String(cString: strerror(errno))))")
            }
            Glibc.close(fd)
        }
        var db: OpaquePointer?
        let flags = readOnly ? SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX
        let status = sqlite3_open_v2(path, &db, flags, nil)
        handle = db
        guard status == SQLITE_OK else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "error \(status)"
            sqlite3_close(db)
            throw SluiceError(.checkpoint, "\(path): cannot open the checkpoint database (\(message))")
        }
        sqlite3_busy_timeout(db, 5000)
    }

    deinit { close() }

    func close() {
        if let handle { sqlite3_close_v2(handle) }
        handle = nil
    }

    func error(_ what: String) -> SluiceError {
        SluiceError(.checkpoint, "\(path): \(what) failed (\(String(cString: sqlite3_errmsg(handle))))")
    }

    func execute(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        if sqlite3_exec(handle, sql, nil, nil, &message) != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? "unknown error"
            sqlite3_free(message)
            throw SluiceError(.checkpoint, "\(path): \(text)")
        }
    }

    func prepare(_ sql: String) throws -> SQLiteStatement {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK, let statement else {
            throw error("preparing \(sql.prefix(40))")
        }
        return SQLiteStatement(statement: statement, database: self)
    }

    /// Runs `body` in one transaction, rolling back if it throws.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    var changes: Int { Int(sqlite3_changes(handle)) }

    /// Whether the database has a table or index of that name.
    func has(_ name: String) throws -> Bool {
        try prepare("SELECT count(*) FROM sqlite_master WHERE name = ?").bind(.text(name)).firstRow { $0.int(0) } == 1
    }
    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
}
