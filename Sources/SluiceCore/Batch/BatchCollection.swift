/// A finished batch's output and error files matched to its items by `custom_id`: what each item's
/// outcome is, and what was odd about the files (duplicated or unknown ids, missing lines). Every
/// outcome leaves here scrubbed of the run's secrets: result lines and error files are gateway text.
struct BatchCollection {
    let batchID: String
    let items: [DispatchItem]
    let auto: Bool
    let maxAttempts: Int
    /// Answers asked to be JSON are checked as live ones are.
    let answers: AnswerChecker?
    /// Why the whole batch failed (no line was run), for the items' messages.
    let batchFailure: String?
    let redactor: Redactor
    /// The job's model, for items whose line names none (the request digest uses the model asked first).
    var defaultModel: String?
    private let byCustomID: [String: DispatchItem]
    /// The custom_ids a line has been taken for.
    var seen: Set<String> = []
    /// Events of `read` not yet handed out by `events`.
    private var pending: [CheckpointEvent] = []
    private(set) var notes: [String] = []
    var answered = 0
    var failed = 0
    var rerouted = 0
    var released = 0
    /// Answers not the JSON asked for that a re-ask with the reason could take, and how many of them go to a follow-up batch.
    private(set) var invalid = 0
    private(set) var reasked = 0
    /// `--embed-batch`: the items each packed line carried, by the id of the first (whose `custom_id` the line has),
    /// and the first items of packs not all of whose items are still with the batch.
    var packs: [Int64: [DispatchItem]] = [:]
    var brokenPacks: Set<Int64> = []
    /// In: the follow-ups these items travelled as. Out: those of the items that go to a follow-up batch.
    var followUps: [Int64: FollowUp] = [:]
    /// Invalid answers may go to a follow-up batch: always in `batch`; in `auto` until `--deadline` (then live).
    var followUpAllowed = true

    /// A re-ask in a later batch (`batch` mode, `--reask reason`): the conversation so far and how many re-asks it holds.
    struct FollowUp: Sendable, Equatable {
        var body: [UInt8]
        var reasks: Int
    }
    /// Riders (`BatchSharing`): each one's group of identical requests, and what the group's line came to.
    var rideGroup: [Int64: Int] = [:]
    var rideMembers: [[DispatchItem]] = []
    var fates: [Int: Fate] = [:]
    /// Riders that took their line's answer.
    var shared = 0
    private var duplicates = 0
    private var unknown = 0
    private var unreadable = 0

    init(
        batchID: String, items: [DispatchItem], auto: Bool, maxAttempts: Int, answers: AnswerChecker? = nil, batchFailure: String? = nil,
        redactor: Redactor = Redactor(secret: nil)
    ) {
        self.batchID = batchID
        self.items = items
        byCustomID = Dictionary(items.map { ($0.customID, $0) }, uniquingKeysWith: { first, _ in first })
        self.auto = auto
        self.maxAttempts = maxAttempts
        self.answers = answers
        self.batchFailure = batchFailure.map(redactor.scrub)
        self.redactor = redactor
    }

    /// Whole files at once (tests); `BatchDispatcher` streams lines through `take` and `finish` instead.
    /// The output file first: a line answered there wins over the same id in the error file.
    mutating func read(_ files: [[UInt8]]) {
        for file in files {
            for parsed in BatchLine.lines(of: file) {
                pending += take(parsed)
            }
        }
    }

    /// One event per item still leased to the batch (after `read`).
    mutating func events(batchStatus: String) -> [CheckpointEvent] {
        defer { pending = [] }
        return pending + finish(batchStatus: batchStatus)
    }

    /// A line of the output or error file, as it is read: the events of the items it answers (one, or a packed
    /// line's members), or none for a line that names no item (unreadable, unknown or already answered: the
    /// first one counts, the output file's being read first). Nothing of the line is kept, so a large file
    /// needs no more memory than a line.
    mutating func take(_ parsed: BatchLine?) -> [CheckpointEvent] {
        guard let line = parsed else {
            unreadable += 1
            return []
        }
        guard let item = byCustomID[line.customID] else {
            unknown += 1
            return []
        }
        guard seen.insert(line.customID).inserted else {
            duplicates += 1
            return []
        }
        if brokenPacks.contains(item.id) {
            // A packed line some of whose items left the batch: its vectors cannot be told apart; the rest try again.
            seen.remove(line.customID)
            unknown += 1
            return []
        }
        let permanent = line.verdict.isPermanentFailure
        if let members = packs[item.id] {
            members.forEach { seen.insert($0.customID) }
            return zip(members, packedEvents(members, line: line)).flatMap { member, event in
                let taken = scrubbed(event)
                noteFate(of: member, taken, permanent: permanent)
                return [taken] + settledRiders(of: member)
            }
        }
        let taken = scrubbed(event(for: item, line: line))
        noteFate(of: item, taken, permanent: permanent)
        // Riders settle with their line, in the same commit: a crash between two commits cannot split them.
        return [taken] + settledRiders(of: item)
    }

    /// The events of the items no line named, and the notes on the files; after the last `take`.
    mutating func finish(batchStatus: String) -> [CheckpointEvent] {
        if duplicates > 0 { notes.append("\(duplicates) duplicated custom_id line\(duplicates == 1 ? "" : "s") ignored (the first one counts)") }
        if unknown > 0 { notes.append("\(unknown) line\(unknown == 1 ? "" : "s") with a custom_id this batch did not hold, ignored") }
        if unreadable > 0 { notes.append("\(unreadable) unreadable line\(unreadable == 1 ? "" : "s")") }
        var events: [CheckpointEvent] = []
        var missing = 0
        for item in items where !seen.contains(item.customID) {
            if let event = riderEvent(item) {
                events.append(event)
                continue
            }
            missing += 1
            let reason = batchFailure.map { "the batch failed: \($0)" } ?? "the batch (\(batchStatus)) returned no line for it"
            events.append(again(item, attempts: item.previousAttempts + 1, reason: reason))
        }
        if missing > 0, batchFailure == nil { notes.append("\(missing) item\(missing == 1 ? "" : "s") without a line in the output") }
        return events.map(scrubbed)
    }

    private mutating func event(for item: DispatchItem, line: BatchLine) -> CheckpointEvent {
        let attempts = item.previousAttempts + 1
        switch line.verdict {
        case .answered:
            if let body = line.body, let problem = answers?.check(request: item.body, response: body) {
                return invalidAnswer(item, attempts: attempts, problem: problem, line: line, answer: body)
            }
            followUps[item.id] = nil
            answered += 1
            var answer = OutcomeBuilder.batchLine(item, line, batchID: batchID, attempts: attempts, succeeded: true)
            // Found again by dedup and --reuse, as a live answer is.
            answer.requestDigest = AnswerSharing.digest(endpoint: item.endpoint, model: item.model ?? defaultModel ?? "", body: item.body)
            return .finished(answer)
        case .fail:
            failed += 1
            followUps[item.id] = nil
            return .finished(OutcomeBuilder.batchLine(item, line, batchID: batchID, attempts: attempts, succeeded: false))
        case .retry(let reason):
            return again(item, attempts: attempts, reason: reason, line: line)
        }
    }

    /// The stored answer and error message without the run's secrets.
    func scrubbed(_ event: CheckpointEvent) -> CheckpointEvent {
        guard case .finished(var outcome) = event else { return event }
        outcome.response = outcome.response.map(redactor.scrub)
        outcome.errorMessage = outcome.errorMessage.map(redactor.scrub)
        return .finished(outcome)
    }

    var summary: String {
        "\(answered) answered, " + (shared > 0 ? "\(shared) took an identical line's answer, " : "") + "\(failed) failed, "
            + (auto ? "\(rerouted) sent live" : "\(released) to a later batch")
            + (auto && reasked > 0 ? ", \(reasked) to a follow-up batch" : "")
    }

    /// A packed embeddings line, one event per member in order: each its own vector and share of the usage
    /// (as a live packed request is split), each the line's failure, or each another try.
    private mutating func packedEvents(_ members: [DispatchItem], line: BatchLine) -> [CheckpointEvent] {
        let lead = members[0]
        switch line.verdict {
        case .answered, .fail:
            let answered = OutcomeBuilder.batchLine(lead, line, batchID: batchID, attempts: lead.previousAttempts + 1, succeeded: line.verdict.isAnswered)
            return zip(members, Scheduler.unpacked(answered, members: members, attempts: 1)).map { member, part in
                var part = part
                if part.succeeded {
                    self.answered += 1
                    // Each vector answers its item's own request: dedup and --reuse find it.
                    part.requestDigest = AnswerSharing.digest(endpoint: member.endpoint, model: member.model ?? defaultModel ?? "", body: member.body)
                } else {
                    failed += 1
                }
                return .finished(part)
            }
        case .retry(let reason):
            return members.map { again($0, attempts: $0.previousAttempts + 1, reason: reason, line: line) }
        }
    }

    /// A line worth another try: live in `auto` mode, a later batch in `batch` mode while attempts remain.
    private mutating func again(
        _ item: DispatchItem, attempts: Int, reason: String, line: BatchLine? = nil, code: String? = nil
    ) -> CheckpointEvent {
        if auto {
            rerouted += 1
            return .rerouted(item.id, attempts: attempts)
        }
        if attempts < maxAttempts {
            released += 1
            return .released(item.id, attempts: attempts)
        }
        failed += 1
        var outcome =
            line.map { OutcomeBuilder.batchLine(item, $0, batchID: batchID, attempts: attempts, succeeded: false) } ?? failure(item, attempts: attempts)
        if let code { outcome.errorCode = code }
        outcome.errorMessage = "no answer after \(attempts) batches: \(reason)"
        return .finished(outcome)
    }

    /// An answer that is not the JSON asked for. With `--reask reason` it goes to a follow-up batch as the
    /// conversation grown by the answer and the reason (in `auto` until `--deadline`), up to `--output-retries`,
    /// then fails as `invalid_output`; otherwise it goes where any failed line goes (live in `auto`, a later batch
    /// in `batch`).
    private mutating func invalidAnswer(_ item: DispatchItem, attempts: Int, problem: String, line: BatchLine, answer: [UInt8]) -> CheckpointEvent {
        let previous = followUps[item.id]
        followUps[item.id] = nil
        guard followUpAllowed, let answers, let text = AnswerChecker.answerText(of: answer),
            let body = answers.reask.body(for: previous?.body ?? item.body, endpoint: item.endpoint, answer: text, reason: problem)
        else { return again(item, attempts: attempts, reason: problem, line: line, code: "invalid_output") }
        invalid += 1
        let reasks = (previous?.reasks ?? 0) + 1
        guard reasks <= answers.outputRetries, attempts < maxAttempts else {
            failed += 1
            var outcome = OutcomeBuilder.batchLine(item, line, batchID: batchID, attempts: attempts, succeeded: false)
            outcome.errorCode = "invalid_output"
            outcome.errorMessage = problem
            return .finished(outcome)
        }
        reasked += 1
        released += 1
        followUps[item.id] = FollowUp(body: body, reasks: reasks)
        // In `auto` too the follow-up is a later batch: `released` keeps the item on the batch route.
        return .released(item.id, attempts: attempts)
    }

    private func failure(_ item: DispatchItem, attempts: Int) -> ItemOutcome {
        var outcome = OutcomeBuilder.unsent(item, succeeded: false, attempts: attempts, retries: attempts - 1)
        outcome.errorCode = "batch_line_missing"
        return outcome
    }
}
