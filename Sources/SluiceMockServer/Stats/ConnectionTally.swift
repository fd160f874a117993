import NIOConcurrencyHelpers

/// Connections and HTTP/2 streams open now and at their peak, served under `connections` in `/stats`, so a
/// test or benchmark sees how a client spread its requests (how many connections, how many streams each).
public final class ConnectionTally: Sendable {
    /// One HTTP/2 connection's open streams.
    final class Connection: Sendable {
        let streams = NIOLockedValueBox(0)
    }

    struct Counts {
        var open = 0
        var peak = 0
        var total = 0
        var http2 = 0
        var streams = 0
        var peakStreams = 0
        var peakStreamsOnOneConnection = 0
    }

    private let counts = NIOLockedValueBox(Counts())

    func opened() {
        counts.withLockedValue {
            $0.open += 1
            $0.total += 1
            $0.peak = max($0.peak, $0.open)
        }
    }

    func closed() { counts.withLockedValue { $0.open -= 1 } }

    /// A connection that negotiated HTTP/2 (ALPN `h2`).
    func negotiatedHTTP2() -> Connection {
        counts.withLockedValue { $0.http2 += 1 }
        return Connection()
    }

    func streamOpened(on connection: Connection) {
        let carried = connection.streams.withLockedValue {
            $0 += 1
            return $0
        }
        counts.withLockedValue {
            $0.streams += 1
            $0.peakStreams = max($0.peakStreams, $0.streams)
            $0.peakStreamsOnOneConnection = max($0.peakStreamsOnOneConnection, carried)
        }
    }

    func streamClosed(on connection: Connection) {
        connection.streams.withLockedValue { $0 -= 1 }
        counts.withLockedValue { $0.streams -= 1 }
    }

    /// `POST /stats/reset`: peaks start again from what is open now.
    func resetPeaks() {
        counts.withLockedValue {
            $0.peak = $0.open
            $0.peakStreams = $0.streams
            $0.peakStreamsOnOneConnection = 0
        }
    }

    var json: [String: Int] {
        let counts = counts.withLockedValue { $0 }
        return [
            "open": counts.open, "peak": counts.peak, "total": counts.total, "http2": counts.http2,
            "streams": counts.streams, "peak_streams": counts.peakStreams, "peak_streams_per_connection": counts.peakStreamsOnOneConnection,
        ]
    }
}
