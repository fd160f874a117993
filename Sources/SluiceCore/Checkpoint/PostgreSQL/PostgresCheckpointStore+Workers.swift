import Foundation
import Logging
import PostgresNIO

/// Workers: registration, the heartbeat that keeps leases alive, the planning hand-over, the end of the job.
extension PostgresCheckpointStore {
    func registerWorker() async throws {
        let workers = table("workers")
        let (worker, host, pid) = (workerID, String(workerID.split(separator: ":").first ?? ""), Int(getpid()))
        try await database { client in
            try await client.rows(
                "INSERT INTO \(unescaped: workers) (id, host, pid) VALUES (\(worker), \(host), \(pid)) ON CONFLICT (id) DO NOTHING")
        }
    }

    /// Only the leases it extends are renewed for `maySend`: one another worker took over (this worker was cut off
    /// longer than a lease) is not, nor one being finished (locked by the recorder: the item is settling).
    package func heartbeat(_ figures: WorkerFigures) async throws -> Int {
        let (items, workers, worker, seconds) = (table("items"), table("workers"), workerID, leaseSeconds)
        let (ids, start) = (Array(held), ContinuousClock.now)
        let (live, extended): (Int, [Int64]) = try await database { client in
            // Rows being finished right now are locked by the recorder's transaction: skipped, not waited for
            // (waiting in the other order deadlocked).
            var extended: [Int64] = []
            if !ids.isEmpty {
                extended = try await client.rows(
                    """
                    UPDATE \(unescaped: items) SET lease_until = now() + \(seconds) * interval '1 second'
                    WHERE id IN (
                        SELECT id FROM \(unescaped: items) WHERE id = ANY(\(ids)) AND state = 1 AND lease_owner = \(worker) FOR UPDATE SKIP LOCKED)
                    RETURNING id
                    """
                ).map { try $0.decode(Int64.self) }
            }
            try await client.rows(
                """
                UPDATE \(unescaped: workers) SET seen_at = now(), stopped_at = NULL, sent = \(figures.sent), finished = \(figures.finished),
                    requests_per_second = \(figures.requestsPerSecond)
                WHERE id = \(worker)
                """)
            let live =
                try await client.rows(
                    """
                    SELECT count(*) FROM \(unescaped: workers)
                    WHERE stopped_at IS NULL AND seen_at > now() - \(seconds) * interval '1 second'
                    """
                ).first?.decode(Int.self) ?? 1
            return (live, extended)
        }
        // Only items still held: one finished meanwhile has left the map and stays out of it.
        leaseSetAt.withLock { setAt in
            for id in extended where setAt[id] != nil { setAt[id] = start }
        }
        return live
    }

    package func takePlanning() async throws -> Bool {
        let (workers, inputs, worker, seconds, schema, logger) = (table("workers"), table("inputs"), workerID, leaseSeconds, settings.schema, logger)
        return try await database { client in
            try await client.withTransaction(logger: logger) { connection in
                try await connection.rows("SELECT pg_advisory_xact_lock(hashtext(\(schema + ":planning")))", logger: logger)
                // A planner that has just finished leaves nothing to take.
                let unplanned =
                    try await connection.rows(
                        "SELECT count(*) FROM \(unescaped: inputs) WHERE NOT planning_complete", logger: logger
                    ).first?.decode(Int.self) ?? 0
                guard unplanned > 0 else { return false }
                let others =
                    try await connection.rows(
                        """
                        SELECT count(*) FROM \(unescaped: workers) WHERE planning AND id <> \(worker) AND stopped_at IS NULL
                            AND seen_at > now() - \(seconds) * interval '1 second'
                        """, logger: logger
                    ).first?.decode(Int.self) ?? 0
                guard others == 0 else { return false }
                try await connection.rows("UPDATE \(unescaped: workers) SET planning = true, seen_at = now() WHERE id = \(worker)", logger: logger)
                return true
            }
        }
    }

    package func finishPlanning() async throws {
        let (workers, worker) = (table("workers"), workerID)
        try await database { client in try await client.rows("UPDATE \(unescaped: workers) SET planning = false WHERE id = \(worker)") }
    }

    package func workRemains() async throws -> Bool {
        let (inputs, items) = (table("inputs"), table("items"))
        return try await database { client in
            try await client.rows(
                """
                SELECT coalesce(bool_and(planning_complete), false) = false
                    OR EXISTS (SELECT 1 FROM \(unescaped: items) WHERE state IN (0, 1))
                FROM \(unescaped: inputs)
                """
            ).first?.decode(Bool.self) ?? true
        }
    }

    /// A claim whose owner stopped beating before it said the results were written passes to the asker.
    package func claimPublication() async throws -> String? {
        let (job, workers, worker, seconds, logger) = (table("job"), table("workers"), workerID, leaseSeconds, logger)
        return try await database { client in
            try await client.withTransaction(logger: logger) { connection in
                try await connection.rows(
                    "INSERT INTO \(unescaped: job) (key, value) VALUES ('published_by', \(worker)) ON CONFLICT (key) DO NOTHING", logger: logger)
                let owner =
                    try await connection.rows("SELECT value FROM \(unescaped: job) WHERE key = 'published_by' FOR UPDATE", logger: logger)
                    .first?.decode(String.self) ?? worker
                guard owner != worker else { return nil }
                let written = try await connection.rows("SELECT 1 FROM \(unescaped: job) WHERE key = 'published'", logger: logger)
                let alive = try await connection.rows(
                    """
                    SELECT 1 FROM \(unescaped: workers) WHERE id = \(owner) AND stopped_at IS NULL AND seen_at > now() - \(seconds) * interval '1 second'
                    """, logger: logger)
                guard written.isEmpty, alive.isEmpty else { return owner }
                try await connection.rows("UPDATE \(unescaped: job) SET value = \(worker) WHERE key = 'published_by'", logger: logger)
                return nil
            }
        }
    }

    package func publicationWritten() async throws {
        let job = table("job")
        try await database { client in
            try await client.rows("INSERT INTO \(unescaped: job) (key, value) VALUES ('published', 'yes') ON CONFLICT (key) DO NOTHING")
        }
    }

    package func reopenPublication() async throws {
        let job = table("job")
        try await database { client in try await client.rows("DELETE FROM \(unescaped: job) WHERE key IN ('published_by', 'published')") }
    }

    package func workers(seenWithin seconds: Double) async throws -> [WorkerRecord] {
        let (workers, items) = (table("workers"), table("items"))
        return try await database { client in
            try await client.rows(
                """
                SELECT w.id, w.host, w.pid, extract(epoch FROM w.started_at)::float8, extract(epoch FROM now() - w.seen_at)::float8,
                    w.stopped_at IS NOT NULL, w.planning,
                    (SELECT count(*) FROM \(unescaped: items) i WHERE i.state = 1 AND i.lease_owner = w.id),
                    w.sent, w.finished, w.late_answers, w.taken_over, w.requests_per_second
                FROM \(unescaped: workers) w WHERE w.seen_at > now() - \(seconds) * interval '1 second'
                ORDER BY w.started_at DESC
                """
            ).map { row in
                let (id, host, pid, started, ago, stopped, planning, leases, sent, finished, late, takenOver, rate) = try row.decode(
                    (String, String, Int, Double, Double, Bool, Bool, Int, Int, Int, Int, Int, Double).self)
                return WorkerRecord(
                    id: id, host: host, pid: pid, startedAt: started, seenSecondsAgo: ago, stopped: stopped, planning: planning, leases: leases,
                    sent: sent, finished: finished, lateAnswers: late, takenOver: takenOver, requestsPerSecond: rate)
            }
        }
    }
}

/// For `sluice list`.
extension PostgresCheckpointStore {
    /// When a worker last beat or an item last finished.
    package func lastChange() async throws -> Date? {
        let (workers, items) = (table("workers"), table("items"))
        let seconds = try await database { client in
            try await client.rows(
                """
                SELECT greatest((SELECT extract(epoch FROM max(seen_at))::float8 FROM \(unescaped: workers)),
                    (SELECT max(finished_at) FROM \(unescaped: items)))
                """
            ).first?.decode(Double?.self)
        }
        return seconds.map { Date(timeIntervalSince1970: $0) }
    }

    /// The jobs a database holds: the schemas sluice made (`sluice_…`), as checkpoint URLs naming each job as
    /// its user did (the name kept in the job's table; a job made before names were kept shows its schema's).
    package static func jobs(
        in server: PostgresLocation, environment: [String: String] = ProcessInfo.processInfo.environment
    ) async throws
        -> [String]
    {
        var probe = server
        probe.job = "sluice_list_probe"
        let password = server.password(environment: environment)
        let logger = Logger(label: "sluice")
        try await checkLogin(probe, password: password, outage: PostgresOutage(), logger: logger)
        let names = try await withClient(probe, password: password, logger: logger) { client in
            let store = PostgresCheckpointStore(settings: probe, role: .reader, client: client, logger: logger)
            return try await store.database { client in
                let schemas = try await client.rows(
                    """
                    SELECT table_schema FROM information_schema.tables
                    WHERE table_schema LIKE 'sluice\\_%' AND table_name = 'items' ORDER BY table_schema
                    """
                ).map { try $0.decode(String.self) }
                var names: [String] = []
                for schema in schemas {
                    // Quoted: the name comes from the database, and sluice's own schemas are lowercase, as quoting keeps them.
                    let quoted = "\"" + schema.replacingOccurrences(of: "\"", with: "\"\"") + "\""
                    let kept = try? await client.rows("SELECT value FROM \(unescaped: quoted).job WHERE key = 'job_name'").first?.decode(String.self)
                    names.append(kept ?? String(schema.dropFirst("sluice_".count)))
                }
                return names
            }
        }
        return names.map {
            var location = server
            location.job = $0
            return location.display
        }
    }
}
