import Foundation
import NIOCore
import NIOSSL
import PostgresNIO
import Synchronization

/// What a PostgreSQL store does when the server goes away: a call that fails
/// for a reason a reconnect can cure (the server restarting, a dropped
/// connection, a failover) is tried again, with backoff, for up to
/// `patienceSeconds`; anything else fails at once. While a call waits, the
/// worker's dispatch waits with it (the feed cannot lease, the recorder keeps
/// its answers in memory), so a short outage costs time, never results.
///
/// Each attempt is bounded too: the connection pool waits for a connection as
/// long as it takes, which would hide an outage for ever.
struct PostgresOutage: Sendable {
    struct Timeout: Error {}

    var patienceSeconds: Double = 60
    var attemptSeconds: Double = 20

    func retrying<T: Sendable>(
        _ location: String, logger: Logger, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let start = ContinuousClock.now
        var delay = 0.1
        var warned = false
        while true {
            do {
                let result = try await bounded(body)
                if warned { logger.notice("PostgreSQL is back (\(location)); carrying on") }
                return result
            } catch {
                let waited = (ContinuousClock.now - start).inSeconds
                guard Self.isTransient(error), waited < patienceSeconds, !Task.isCancelled else {
                    throw Self.describe(error, location: location, waited: Self.isTransient(error) ? waited : 0)
                }
                if !warned {
                    logger.warning(
                        "lost PostgreSQL (\(location)): \(Self.describe(error, location: location, waited: 0).message); dispatch waits while it reconnects (up to \(Int(patienceSeconds)) s)"
                    )
                    warned = true
                }
                try await Task.sleep(for: .seconds(delay))
                delay = min(delay * 2, 2)
            }
        }
    }

    /// The first of the call's end and the timer wins. A task group would not do: it waits for every child,
    /// and a call on a connection that died mid-transaction was seen never to end, cancelled or not. The
    /// abandoned call is left to end (or not) on its own.
    private func bounded<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let seconds = attemptSeconds
        return try await withCheckedThrowingContinuation { continuation in
            let waiting = FirstAnswer(continuation)
            let timer = Task {
                try await Task.sleep(for: .seconds(seconds))
                waiting.resume(with: .failure(Timeout()))
            }
            Task {
                do { waiting.resume(with: .success(try await body())) } catch { waiting.resume(with: .failure(error)) }
                timer.cancel()
            }
        }
    }

    /// A continuation resumed by whichever answer comes first; later ones are dropped.
    private final class FirstAnswer<T: Sendable>: Sendable {
        private let continuation: Mutex<CheckedContinuation<T, any Error>?>
        init(_ continuation: CheckedContinuation<T, any Error>) { self.continuation = Mutex(continuation) }
        func resume(with result: Result<T, any Error>) {
            continuation.withLock { pending in
                pending?.resume(with: result)
                pending = nil
            }
        }
    }

    /// Connection trouble and the server's "shutting down / starting up / retry this" answers.
    static func isTransient(_ error: any Error) -> Bool {
        if error is Timeout || error is IOError || error is ChannelError { return true }
        // A transaction's error carries the one that broke it: at BEGIN, inside, or at COMMIT.
        if let error = error as? PostgresTransactionError {
            return [error.beginError, error.closureError, error.commitError].compactMap { $0 }.contains(where: isTransient)
        }
        guard let error = error as? PSQLError else { return false }
        switch error.code {
        case .connectionError:
            return tlsRefusal(error.underlying) == nil  // a refused certificate stays refused
        case .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .queryCancelled:
            return true
        case .server:
            let state = error.serverInfo?[.sqlState] ?? ""
            // 57P0x: admin shutdown, crash shutdown, cannot connect now; 08: connection exceptions;
            // 40001/40P01: serialization failure, deadlock; 53300: too many connections.
            return state.hasPrefix("57P") || state.hasPrefix("08") || ["40001", "40P01", "53300"].contains(state)
        default:
            return false
        }
    }

    /// PSQLError's description hides everything on purpose; the server's message and code are what a user needs.
    static func describe(_ error: any Error, location: String, waited: Double) -> SluiceError {
        if let error = error as? SluiceError { return error }
        if let error = error as? PostgresTransactionError, let inner = error.closureError ?? error.beginError ?? error.commitError {
            return describe(inner, location: location, waited: waited)
        }
        var text: String
        if let error = error as? PSQLError {
            if let message = error.serverInfo?[.message] {
                text = "\(message) (SQLSTATE \(error.serverInfo?[.sqlState] ?? "?"))"
                if error.serverInfo?[.sqlState] == "28P01" { text += "; the password comes from PGPASSWORD, else PGPASSFILE or ~/.pgpass" }
            } else if error.code == .authMechanismRequiresPassword {
                text = "the server asks for a password and none was found: set PGPASSWORD, or put it in PGPASSFILE or ~/.pgpass (mode 0600)"
            } else if let refusal = tlsRefusal(error.underlying) {
                text = refusal
            } else {
                text = "\(error.code)"
                if let underlying = error.underlying { text += ": \(underlying)" }
            }
        } else if error is Timeout {
            text = "no answer within the time allowed"
        } else {
            text = "\(error)"
        }
        if waited > 0 { text += " (gave up after \(Int(waited)) s of retrying)" }
        return SluiceError(.checkpoint, "\(location): PostgreSQL: \(text)")
    }

    /// What TLS refused, in words, or nil when `error` is no TLS refusal.
    static func tlsRefusal(_ error: (any Error)?) -> String? {
        switch error {
        case let error as NIOSSLExtraError where error == .failedToValidateHostname:
            return "TLS: the server's certificate does not name the host connected to (sslmode=verify-full checks that it does)"
        case let error as NIOSSLError where "\(error)".contains("CERTIFICATE_VERIFY_FAILED"):
            return "TLS: the server's certificate is not trusted: no certificate in sslrootcert (or the system's roots) signed it (CERTIFICATE_VERIFY_FAILED)"
        case let error as NIOSSLError:
            return "TLS: \(error)"
        case let error as NIOSSLExtraError:
            return "TLS: \(error)"
        default:
            return nil
        }
    }
}
