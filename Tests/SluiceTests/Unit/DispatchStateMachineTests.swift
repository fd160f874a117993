import Testing

@testable import SluiceCore

/// The item's dispatch as a state machine, without I/O: every path from a lease to a settled or released
/// item, and what each leaves for the cleanup (the slot, the item, identical requests waiting on it).
struct DispatchStateMachineTests {
    typealias Machine = Scheduler.DispatchStateMachine

    /// Sends one attempt from whatever slot state the machine is in.
    private static func send(_ machine: inout Machine) {
        if machine.needsSlot { machine.slotAcquired() } else { machine.askBudget() }
        machine.sent()
    }

    private static func answer(
        _ machine: inout Machine, _ next: ItemAttempts.Next, unreachable: Bool = false, pausedJob: Bool = false, mayBeTheCap: Bool = false,
        reasked: Bool = false, fellBack: Bool = false, slotHold: Double = 0, maxRetryAfter: Double = 30
    ) -> Machine.AfterAnswer {
        machine.answered(
            next, unreachable: unreachable, pausedJob: pausedJob, mayBeTheCap: mayBeTheCap, reasked: reasked, fellBack: fellBack, slotHold: slotHold,
            maxRetryAfter: maxRetryAfter)
    }

    @Test func aSuccessSettlesAndKeepsItsSlotUntilCommitted() {
        var machine = Machine()
        Self.send(&machine)
        #expect(machine.state == .inFlight)
        #expect(Self.answer(&machine, .succeeded) == .settle)
        #expect(machine.state == .settling)
        #expect(machine.cleanup == .init(abandonSharing: false, releaseSlot: true, releaseItems: false), "a kill now re-sends it, no more")
        machine.committed()
        machine.stopped()
        #expect(machine.state == .settled, "a stop after the commit changes nothing")
        #expect(machine.cleanup == .init(abandonSharing: false, releaseSlot: true, releaseItems: false))
    }

    /// The usual end: the outcome goes to the recorder with the slot and the item permit, which it gives back
    /// after the commit; the task's cleanup must then give back neither (twice would lift the limit).
    @Test func aSettlementHandedToTheRecorderLeavesTheSlotAndThePermitToIt() {
        var machine = Machine()
        Self.send(&machine)
        #expect(Self.answer(&machine, .succeeded) == .settle)
        machine.handedOver()
        machine.stopped()
        #expect(machine.state == .settled, "a stop after the hand-over changes nothing")
        #expect(machine.cleanup == .init(abandonSharing: false, releaseSlot: false, releaseItems: false, releaseItemPermit: false))
    }

    /// (shared answer at once?, after waiting?) → what the cleanup gives back.
    @Test(arguments: [(false, true), (true, false)])
    func aSharedAnswerSettlesWithoutSending(waits: Bool, slotStillHeld: Bool) {
        var machine = Machine()
        if waits { machine.waitForSharedAnswer() }
        #expect(machine.needsSlot == waits, "waiting for an identical request holds no slot")
        machine.sharedAnswer()
        #expect(machine.state == .settled)
        #expect(machine.cleanup == .init(abandonSharing: false, releaseSlot: slotStillHeld, releaseItems: false))
    }

    @Test func aLeaderThatIsCancelledTellsItsFollowersAndGoesBack() {
        var machine = Machine()
        machine.waitForSharedAnswer()
        machine.lead()
        #expect(machine.state == .waitingForSlot && machine.needsSlot)
        Self.send(&machine)
        machine.stopped()
        #expect(machine.state == .released)
        #expect(machine.cleanup == .init(abandonSharing: true, releaseSlot: true, releaseItems: true))
    }

    @Test func aLeaderHandsItsAnswerOverWhenItSettles() {
        var machine = Machine()
        machine.lead()
        Self.send(&machine)
        #expect(machine.leading)
        #expect(Self.answer(&machine, .failed) == .settle)
        #expect(!machine.leading, "conclude tells the followers, not the cleanup")
        #expect(machine.cleanup.abandonSharing == false)
    }

    /// (Retry-After, adaptive hold, job paused, may be a concurrency cap's, --max-retry-after) → the item's own wait, and
    /// whether it ends once the gateway has room again.
    @Test(arguments: [
        (10.0, 0.5, false, false, 30.0, 9.5, false),  // an upstream's refusal: the hold counts as waited, the rest is waited out
        (10.0, 0.5, false, true, 30.0, 9.5, true),  // a concurrency cap's: room ends it sooner
        (45.0, 0.5, false, true, 30.0, 0.0, false),  // past the cap: the next free slot
        (10.0, 0.5, true, false, 30.0, 10.0, false),  // a job-wide pause: the whole wait, as given
        (0.2, 0.5, false, true, 30.0, 0.0, false),  // held longer than asked: at once
    ])
    func aRefusalWaitsItsOwnRetryAfterUpToTheCap(
        retryAfter: Double, hold: Double, paused: Bool, mayBeTheCap: Bool, cap: Double, expected: Double, early: Bool
    ) {
        var machine = Machine()
        Self.send(&machine)
        let after = Self.answer(
            &machine, .retry(after: retryAfter, rateLimited: true), pausedJob: paused, mayBeTheCap: mayBeTheCap, slotHold: hold, maxRetryAfter: cap)
        #expect(after == .retry(after: expected, rateLimited: true, earlyOnRoom: early))
        #expect(machine.state == .waitingToRetry(.rateLimited, after: expected))
    }

    /// (re-asked, rate-limited, fell back) → why the item goes again.
    @Test(arguments: [
        (true, false, false, Machine.Retry.reask), (false, true, false, .rateLimited), (false, false, true, .fallback),
        (false, false, false, .backoff),
    ])
    func aRetrySaysWhy(reasked: Bool, rateLimited: Bool, fellBack: Bool, why: Machine.Retry) {
        var machine = Machine()
        Self.send(&machine)
        _ = Self.answer(&machine, .retry(after: 1, rateLimited: rateLimited), reasked: reasked, fellBack: fellBack)
        guard case .waitingToRetry(let reason, _) = machine.state else {
            Issue.record("not waiting to retry: \(machine.state)")
            return
        }
        #expect(reason == why)
    }

    @Test func aRetryGivesItsSlotBackAndAStopWhileWaitingReleasesTheItemOnly() {
        var machine = Machine()
        Self.send(&machine)
        _ = Self.answer(&machine, .retry(after: 2, rateLimited: false))
        #expect(machine.cleanup.releaseSlot, "held through the adaptive hold")
        machine.slotGivenBack()
        #expect(machine.state == .waitingForSlot && machine.needsSlot)
        machine.stopped()
        #expect(machine.cleanup == .init(abandonSharing: false, releaseSlot: false, releaseItems: true))
        #expect(machine.state == .released)
    }

    @Test func anInvalidAnswerIsAskedAgainUpToTheLimitThenFails() {
        var machine = Machine()
        #expect(machine.verdict(.success, invalidAnswer: false, allowedReasks: 1) == (.success, nil))
        #expect(machine.verdict(.success, invalidAnswer: true, allowedReasks: 1) == (.retry(after: 0, rateLimited: false), true))
        #expect(machine.verdict(.success, invalidAnswer: true, allowedReasks: 1) == (.fail, false))
        #expect(machine.outputRetries == 2)
        var strict = Machine()
        #expect(strict.verdict(.success, invalidAnswer: true, allowedReasks: 0) == (.fail, false))
    }

    /// (next, unreachable) → what follows, and whether the item goes back to pending.
    @Test(arguments: [
        (ItemAttempts.Next.failed, true, Machine.AfterAnswer.stopUnreachable, true),
        (.failed, false, .settle, false),
        (.stopJob(.keyRefused), false, .stopJob(.keyRefused), true),
    ])
    func aFailureSettlesUnlessTheGatewayOrTheJobIsAtFault(next: ItemAttempts.Next, unreachable: Bool, after: Machine.AfterAnswer, back: Bool) {
        var machine = Machine()
        Self.send(&machine)
        #expect(Self.answer(&machine, next, unreachable: unreachable) == after)
        machine.stopped()
        #expect(machine.cleanup.releaseItems == back)
    }
}
