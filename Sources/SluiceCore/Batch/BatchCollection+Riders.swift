/// Riders: items whose requests are identical to a line of the batch and travelled without one of their own
/// (`BatchSharing`). Each takes what its line came to: the answer (as dedup gives it live), the line's
/// permanent failure, or, when the line goes to another batch or live, the same way back, uncharged.
extension BatchCollection {
    /// What a group's line came to.
    enum Fate {
        case answered(SharedAnswer)
        case failed(ItemOutcome, customID: String)
        case again(rerouted: Bool)
    }

    /// The batch's groups of identical requests (`BatchDispatcher.rideGroups`): more than one item each.
    mutating func ride(_ groups: [[DispatchItem]]) {
        rideMembers = groups
        for (index, group) in groups.enumerated() {
            for item in group { rideGroup[item.id] = index }
        }
    }

    /// A line of a group was read: an answer wins over a failure, a failure over "again". Only a permanent
    /// failure (the line's verdict: a 400) is passed on; a line that ran out of attempts or answered invalid
    /// JSON sends its riders on again, uncharged.
    mutating func noteFate(of item: DispatchItem, _ event: CheckpointEvent?, permanent: Bool) {
        guard let group = rideGroup[item.id], let event else { return }
        switch (fates[group], event) {
        case (.answered?, _):
            return
        case (_, .finished(let outcome)) where outcome.succeeded:
            if let answer = OutcomeBuilder.sharable(outcome, item: item) { fates[group] = .answered(answer) }
        case (.failed?, _):
            return
        case (_, .finished(let outcome)) where permanent:
            fates[group] = .failed(outcome, customID: item.customID)
        case (_, .finished):
            fates[group] = .again(rerouted: auto)
        case (_, .rerouted):
            fates[group] = .again(rerouted: true)
        case (_, .released):
            fates[group] = .again(rerouted: false)
        }
    }

    /// Once a group's line is answered or has failed for good, the events of its items still waiting (riders),
    /// handed out with the line's own so that both are committed together.
    mutating func settledRiders(of item: DispatchItem) -> [CheckpointEvent] {
        guard let group = rideGroup[item.id], let fate = fates[group] else { return [] }
        if case .again = fate { return [] }
        var events: [CheckpointEvent] = []
        for rider in rideMembers[group] where seen.insert(rider.customID).inserted {
            if let event = riderEvent(rider) { events.append(scrubbed(event)) }
        }
        return events
    }

    /// The event of an item no line named, when it rode with one; nil for an item to treat as a missing line.
    mutating func riderEvent(_ item: DispatchItem) -> CheckpointEvent? {
        guard let group = rideGroup[item.id] else { return nil }
        switch fates[group] {
        case .answered(let answer)?:
            shared += 1
            followUps[item.id] = nil
            let digest = AnswerSharing.digest(endpoint: item.endpoint, model: item.model ?? defaultModel ?? "", body: item.body)
            return .finished(OutcomeBuilder.shared(answer, source: "dedup:\(answer.customID)", item: item, digest: digest))
        case .failed(let line, let customID)?:
            failed += 1
            followUps[item.id] = nil
            var outcome = OutcomeBuilder.unsent(item, succeeded: false, attempts: item.previousAttempts)
            outcome.httpStatus = line.httpStatus
            outcome.response = line.response
            outcome.errorCode = line.errorCode
            outcome.errorMessage = line.errorMessage
            outcome.answerSource = "dedup:\(customID)"
            return .finished(outcome)
        case .again(let rerouted)?:
            return uncharged(item, rerouted: rerouted)
        case nil:
            // No item of the group had a line back (the batch failed, or lost them): its line is charged as a missing
            // line (the re-asked item when there is one: its follow-up was the line), the others go again uncharged.
            let members = rideMembers[group]
            let line = members.first { followUps[$0.id] != nil } ?? members[0]
            return item.id == line.id ? nil : uncharged(item, rerouted: auto)
        }
    }

    private mutating func uncharged(_ item: DispatchItem, rerouted: Bool) -> CheckpointEvent {
        if rerouted {
            self.rerouted += 1
            return .rerouted(item.id, attempts: item.previousAttempts)
        }
        released += 1
        return .released(item.id, attempts: item.previousAttempts)
    }
}
