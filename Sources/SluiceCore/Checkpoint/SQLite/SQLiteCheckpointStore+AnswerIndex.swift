import CSQLite

/// The answers a request digest finds (dedup, `--reuse`), kept in `answers_by_request` and written in sorted
/// groups rather than with each answer. A digest is random, so an index on it took a page of its own in
/// almost every commit: about one more 4 KiB page written per item, some 5-10 % of a job's CPU at zero
/// latency (docs/performance.md). Written in groups of `groupSize`, sorted, each page is written about once
/// a group.
///
/// Until its group is written, an answer is found through `pending`, in memory. A run that ends without
/// writing it (a kill) leaves the job's `answers_indexed` mark at `partial`, and the next run rebuilds the
/// table from the items, which keep their digest, before it starts (`fillAnswers`).
struct AnswerIndex {
    /// Under a second of answers at full speed (about 12,000 a second at zero latency); about 200 KiB in memory.
    static let groupSize = 4096
    static let markKey = "answers_indexed"

    /// Committed answers not yet in the table, by request digest; a second answer to the same request (a
    /// shared one) goes to `more`.
    private var pending: [UInt64: Int64] = [:]
    private var more: [(digest: UInt64, id: Int64)] = []
    var count: Int { pending.count + more.count }

    mutating func add(_ answers: [(digest: UInt64, id: Int64)]) {
        for answer in answers {
            if pending[answer.digest] == nil { pending[answer.digest] = answer.id } else { more.append(answer) }
        }
    }

    func ids(for digest: UInt64) -> [Int64] {
        guard let first = pending[digest] else { return [] }
        return [first] + more.filter { $0.digest == digest }.map(\.id)
    }

    /// Everything pending, sorted by digest (the table's order), then forgotten.
    mutating func take() -> [(digest: UInt64, id: Int64)] {
        defer {
            pending.removeAll(keepingCapacity: true)
            more.removeAll()
        }
        return (pending.map { (digest: $0.key, id: $0.value) } + more).sorted { Int64(bitPattern: $0.digest) < Int64(bitPattern: $1.digest) }
    }
}

extension SQLiteCheckpointStore {
    /// A runner rebuilds what a run that was killed did not write; a reader of schema 4 or 5 finds answers
    /// through the items' own digest index instead.
    func openAnswerIndex() throws {
        guard try db().has("answers_by_request") else { return }
        answerIndex = AnswerIndex()
        guard role == .runner, try value(forKey: AnswerIndex.markKey) == "partial" else { return }
        try db().transaction {
            try db().execute(SQLiteSchema.fillAnswers)
            try setValue("complete", forKey: AnswerIndex.markKey)
        }
    }

    /// Inside `record`'s transaction, with the answers it committed: writes them with those pending when
    /// together they make a group. True when it wrote them (then nothing is pending once it commits).
    func indexAnswers(_ answered: [(digest: UInt64, id: Int64)]) throws -> Bool {
        guard var index = answerIndex, !answered.isEmpty else { return false }
        if index.count == 0 {
            // From now until the group is written, a kill leaves answers the table does not have.
            try setValue("partial", forKey: AnswerIndex.markKey)
        }
        guard index.count + answered.count >= AnswerIndex.groupSize else { return false }
        index.add(answered)
        try writeAnswers(index.take())
        return true
    }

    /// After `record`'s transaction committed: its answers are pending, or written with their group.
    func answersCommitted(_ answered: [(digest: UInt64, id: Int64)], wroteGroup: Bool) {
        guard answerIndex != nil, !answered.isEmpty else { return }
        if wroteGroup { answerIndex = AnswerIndex() } else { answerIndex?.add(answered) }
    }

    private func writeAnswers(_ answers: [(digest: UInt64, id: Int64)]) throws {
        let insert = try statement("INSERT OR IGNORE INTO answers_by_request (digest, id) VALUES (?, ?)")
        for answer in answers { try insert.bind(.integer(Int64(bitPattern: answer.digest)), .integer(answer.id)).run() }
        try setValue("complete", forKey: AnswerIndex.markKey)
    }

    /// What is pending, written as the store closes (a run that ends, however it ends, short of a kill).
    func writeAnswerIndexBeforeClosing() {
        guard role == .runner, database != nil, var index = answerIndex, index.count > 0 else { return }
        let answers = index.take()
        do {
            try db().transaction { try writeAnswers(answers) }
            answerIndex = index
        } catch {
            // Left `partial`: the next run rebuilds the table.
        }
    }

    /// The items a digest may name: pending ones first, then the table (or, for schema 4 and 5, the items).
    /// Rows of items answered again or removed since (replanned lines) are left in the table; joined to the
    /// items, they never take one of the 16 places.
    func candidates(forRequest digest: UInt64) throws -> [Int64] {
        if role != .runner, answerIndex != nil, !readerLoadedPending {
            try loadPendingForReader()
        }
        var ids = answerIndex?.ids(for: digest) ?? []
        let query =
            answerIndex == nil
            ? try statement("SELECT id FROM items WHERE request_digest = ?1 AND state = 2 AND response IS NOT NULL LIMIT 16")
            : try statement(
                """
                SELECT items.id FROM answers_by_request JOIN items ON items.id = answers_by_request.id
                WHERE answers_by_request.digest = ?1 AND items.request_digest = ?1 AND items.state = 2 AND items.response IS NOT NULL
                LIMIT 16
                """)
        _ = query.bind(.integer(Int64(bitPattern: digest)))
        defer { query.reset() }
        while ids.count < 16, try query.step() { ids.append(query.int64(0)) }
        return ids
    }

    /// A reader (`--reuse`) of a job that runs, or was killed and not run again, finds in its table only the groups
    /// written: the answers after them are read once, on its first look-up, by a walk over the items.
    private func loadPendingForReader() throws {
        readerLoadedPending = true
        guard try value(forKey: AnswerIndex.markKey) == "partial" else { return }
        let query = try statement(
            """
            SELECT request_digest, id FROM items
            WHERE request_digest IS NOT NULL AND state = 2
                AND NOT EXISTS (SELECT 1 FROM answers_by_request WHERE digest = items.request_digest AND id = items.id)
            """
        ).bind()
        defer { query.reset() }
        var found: [(digest: UInt64, id: Int64)] = []
        while try query.step() { found.append((UInt64(bitPattern: query.int64(0)), query.int64(1))) }
        answerIndex?.add(found)
    }
}
