import Logging
import PostgresNIO

/// Every query of the store reads its rows whole, through postgres-nio's collecting (`EventLoopFuture`)
/// interface rather than its back-pressured row sequence: a server that closes a connection while a
/// back-pressured result is paused makes postgres-nio 1.33 stop the process ("How can we receive a body
/// part, after a channelReadComplete…", seen when the server restarted under a 2,000-row results page).
/// Pages are bounded by the callers, so holding one whole costs nothing the sequence would have saved.
extension PostgresConnection {
    @discardableResult
    func rows(_ query: PostgresQuery, logger: Logger = PostgresRowsLogger.quiet) async throws -> [PostgresRow] {
        try await self.query(query, logger: logger).get().rows
    }
}

extension PostgresClient {
    @discardableResult
    func rows(_ query: PostgresQuery, logger: Logger = PostgresRowsLogger.quiet) async throws -> [PostgresRow] {
        try await withConnection { connection in try await connection.rows(query, logger: logger) }
    }
}

enum PostgresRowsLogger {
    static let quiet = Logger(label: "sluice.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
}
