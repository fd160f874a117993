extension Scheduler {
    /// One item's dispatch, from its lease to its settlement: what the scheduler does next, decided without
    /// I/O (the async-http-client way, `Transaction+StateMachine`). `Scheduler.process` performs the
    /// actions and reports what happened; `ItemAttempts` keeps the attempts and fallback models.
    ///
    /// ```
    /// leased ─(sharing)─▶ waitingForSharedAnswer ─answer─▶ settled
    ///   │                        │ lead
    ///   ▼                        ▼
    /// waitingForBudget ◀─slot─ waitingForSlot ◀─hold over─ waitingToRetry(backoff | rateLimited | reask | fallback)
    ///   │ sent                                                   ▲
    ///   ▼                                                        │ retry
    /// inFlight ─answer─▶ settling ─committed─▶ settled           │
    ///   │                  └─handed over (slot given back on commit)─▶ settled
    ///   │        └───────────────────────────────────────────────┘
    ///   └─ cancelled, stopped, unreachable ─▶ released (the item goes back to pending)
    /// ```
    struct DispatchStateMachine: Equatable {
        enum State: Equatable {
            /// Holds a request slot and an item permit (both taken by `run`); nothing sent yet.
            case leased
            /// An identical request is answering, or the checkpoint is asked: no slot held meanwhile.
            case waitingForSharedAnswer
            /// Between attempts: waits for the rate gate and a request slot.
            case waitingForSlot
            /// Holds a slot; the rate budget and the spend guard are asked.
            case waitingForBudget
            /// Holds a slot; one request is on the wire.
            case inFlight
            /// Holds the slot for the adaptive hold, then gives it back and waits `after` seconds.
            case waitingToRetry(Retry, after: Double)
            /// The final outcome is being committed; the slot is held until then.
            case settling
            /// The outcome is in the checkpoint (or handed to it, for a shared answer).
            case settled
            /// Stopped before an outcome: the item goes back to pending.
            case released
        }

        /// Why an item is sent again.
        enum Retry: Equatable {
            case backoff
            case rateLimited
            /// The answer was not the JSON asked for: asked again (by default with the reason, see `Reask`).
            case reask
            /// The next model of the fallback chain.
            case fallback
        }

        /// What to do once an attempt's answer is judged.
        enum AfterAnswer: Equatable {
            /// Build the outcome, commit it, then hold the slot for the adaptive hold.
            case settle
            /// Hold the slot for the adaptive hold, give it back, wait `after` seconds, then go again. `earlyOnRoom`: a
            /// capacity refusal's wait, which ends sooner once under half as many requests are in flight as when it
            /// was refused and a slot would otherwise go unused (see `ConcurrencyLimiter.waitForRoom(below:)`).
            case retry(after: Double, rateLimited: Bool, earlyOnRoom: Bool = false)
            /// The whole job stops; the item goes back to pending.
            case stopJob(JobStopCause)
            /// Nothing answered yet and the connection failed: the gateway is unreachable, not the item bad.
            case stopUnreachable
        }

        /// What the scheduler must undo when the item's task ends, however it ends.
        struct Cleanup: Equatable {
            /// Waiting requests for the same answer are told there is none.
            var abandonSharing: Bool
            var releaseSlot: Bool
            /// The item (or each member of a packed request) goes back to pending.
            var releaseItems: Bool
            /// The item permit `run` took goes back (unless the recorder gives it back after the commit).
            var releaseItemPermit = true
        }

        private(set) var state = State.leased
        private(set) var holdingSlot = true
        /// This item answers for identical requests waiting on it.
        private(set) var leading = false
        private(set) var outputRetries = 0
        /// The recorder gives the slot and the item permit back once the outcome is committed.
        private(set) var handedToRecorder = false

        /// `quickResolve` could not answer at once: give the slot back while waiting.
        mutating func waitForSharedAnswer() {
            precondition(state == .leased, "waitForSharedAnswer() in \(state)")
            state = .waitingForSharedAnswer
            holdingSlot = false
        }

        /// An earlier answer serves this item: it is handed to the checkpoint as it is.
        mutating func sharedAnswer() {
            precondition(state == .leased || state == .waitingForSharedAnswer, "sharedAnswer() in \(state)")
            state = .settled
        }

        /// No earlier answer: this item sends, and answers for identical requests that come after it.
        mutating func lead() {
            precondition(state == .leased || state == .waitingForSharedAnswer, "lead() in \(state)")
            leading = true
            if !holdingSlot { state = .waitingForSlot }
        }

        /// Whether a slot must be acquired before the next attempt.
        var needsSlot: Bool { !holdingSlot }

        mutating func slotAcquired() {
            precondition(!holdingSlot, "slotAcquired() while holding one")
            holdingSlot = true
            state = .waitingForBudget
        }

        /// Holding a slot, the attempt asks the rate budget and the spend guard.
        mutating func askBudget() {
            precondition(holdingSlot, "askBudget() without a slot")
            state = .waitingForBudget
        }

        /// The rate budget and the spend guard let it go: on the wire.
        mutating func sent() {
            precondition(state == .waitingForBudget, "sent() in \(state)")
            state = .inFlight
        }

        /// The attempt's verdict, with the structured-output rule applied: an answer that is not the JSON
        /// asked for is asked again, up to `allowedReasks` times, then fails.
        mutating func verdict(_ verdict: AttemptVerdict, invalidAnswer: Bool, allowedReasks: Int) -> (AttemptVerdict, reasked: Bool?) {
            guard invalidAnswer else { return (verdict, nil) }
            let again = outputRetries < allowedReasks
            outputRetries += 1
            return (again ? .retry(after: 0, rateLimited: false) : .fail, again)
        }

        /// What follows the attempts' `next`. `slotHold`: the adaptive hold, which a rate-limited item's
        /// Retry-After counts as already waited; past `maxRetryAfter` it comes back at the next free slot.
        /// `mayBeTheCap`: a refusal adaptive concurrency may explain, whose wait may end once the gateway has room.
        mutating func answered(
            _ next: ItemAttempts.Next, unreachable: Bool, pausedJob: Bool, mayBeTheCap: Bool, reasked: Bool, fellBack: Bool,
            slotHold: Double, maxRetryAfter: Double
        ) -> AfterAnswer {
            precondition(state == .inFlight, "answered() in \(state)")
            switch next {
            case .failed where unreachable:
                state = .released
                return .stopUnreachable
            case .succeeded, .failed:
                state = .settling
                // Whoever waits on this answer gets it with the outcome, not from the cleanup.
                leading = false
                return .settle
            case .stopJob(let cause):
                state = .released
                return .stopJob(cause)
            case .retry(let after, let rateLimited):
                var wait = after
                var early = false
                // A refusal's Retry-After is its item's alone: honoured up to --max-retry-after, past it the next free slot.
                // A concurrency cap's, only until the gateway is under half as full as when it refused (it says nothing
                // about when a place frees: LiteLLM answers "the next minute"); the scheduler asks adaptive concurrency
                // when it wakes.
                if rateLimited, !pausedJob {
                    wait = after > maxRetryAfter ? 0 : max(after - slotHold, 0)
                    early = mayBeTheCap && wait > 0
                }
                let why: Retry = reasked ? .reask : rateLimited ? .rateLimited : fellBack ? .fallback : .backoff
                state = .waitingToRetry(why, after: wait)
                return .retry(after: wait, rateLimited: rateLimited, earlyOnRoom: early)
            }
        }

        /// The adaptive hold is over: the slot goes back before the wait.
        mutating func slotGivenBack() {
            guard case .waitingToRetry = state else { preconditionFailure("slotGivenBack() in \(state)") }
            holdingSlot = false
            state = .waitingForSlot
        }

        /// The final outcome is committed.
        mutating func committed() {
            precondition(state == .settling, "committed() in \(state)")
            state = .settled
        }

        /// The final outcome is handed to the checkpoint with the slot and the item permit, which the recorder
        /// gives back once it is committed: the task ends without waiting (the adaptive hold is over).
        mutating func handedOver() {
            precondition(state == .settling, "handedOver() in \(state)")
            state = .settled
            holdingSlot = false
            handedToRecorder = true
        }

        /// The run stops, the task is cancelled, or the budget or spend guard refused: the item goes back.
        mutating func stopped() {
            if state != .settled && state != .settling { state = .released }
        }

        /// What the item's task must undo as it ends.
        var cleanup: Cleanup {
            Cleanup(
                abandonSharing: leading, releaseSlot: holdingSlot, releaseItems: state != .settled && state != .settling,
                releaseItemPermit: !handedToRecorder)
        }
    }
}
