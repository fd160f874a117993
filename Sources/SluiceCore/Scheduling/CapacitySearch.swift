/// Adaptive concurrency's decisions, one per window of answers, with no clock
/// and no lock (`AdaptiveConcurrency` feeds it).
///
/// At the end of a window:
/// - **overshoot** (more than `decreaseShare` refused, unless every request in
///   flight was accepted at once and under `sporadicShare` were refused, which
///   is an upstream's doing, not the concurrency's): drain to what the gateway
///   took, the most requests in flight at once that it accepted, at least one
///   less; to a quarter only when it accepted none;
/// - **failed probe** (two windows right after an increase have refusals and
///   the gateway did not take the new level at once): one slot back;
/// - refusals at a level the gateway was seen to take at once: one slot back;
/// - **clean** (at most `increaseShare` refused, no budget running low): after
///   the probation that follows a cut, probe one slot higher;
/// - otherwise hold.
///
/// Refusals at a level the gateway was seen to take at once mean it frees its
/// places late (`laggingRelease`): from then on accepted slots are held a
/// little after their answer (see `AdaptiveConcurrency`).
///
/// Where it hurt is remembered: a cut or failed probe doubles the probation
/// when it follows a probe (up to `longestProbation` windows), and a level that
/// fails twice in a row becomes out of the probe's reach, until that many clean
/// windows at the level below suggest the gateway may have grown.
struct CapacitySearch: Sendable {
    struct Window: Sendable {
        var answers = 0
        var refusals = 0
        var lowBudget = 0
        var acceptedAtOnce = 0
        /// The same, each accepted request counted as answered as much earlier as the client was late reading the
        /// refusals it read about then: what an overshooting window is judged by (see `close`).
        var acceptedAtOnceReadLate = 0

        /// The share of the window's answers that were refusals.
        var refusedShare: Double { answers > 0 ? Double(refusals) / Double(answers) : 0 }
    }

    let ceiling: Int
    let rules: AdaptiveConcurrency.Rules
    private(set) var limit: Int
    /// Windows closed so far.
    private(set) var windows = 0
    /// What the last window was judged to have taken at once (for the log).
    private(set) var lastAtOnce = 0
    /// The most requests the gateway was seen to take at once, in any window.
    private(set) var mostAtOnce = 0
    /// Refusals came at a level the gateway had taken at once before: it frees its places a little
    /// after answering (a proxy's bookkeeping), and a slot given back at once would be refused.
    private(set) var laggingRelease = false
    /// Once it frees late: how much longer an accepted request holds its slot, as a share of the answer time.
    /// Doubles each time a taken level overshoots while holding, shrinks slowly over clean windows: the
    /// hold comes to match the proxy's lag, whatever it is, and the limit can stay at the cap.
    private(set) var releaseHold: Double
    /// Windows in a row that overshot: refusals that go on at lowered limits are not about concurrency.
    private(set) var overshootStreak = 0
    /// The last window overshot by a share an upstream could cause alone, at a level the gateway took before.
    private var overshootPending = false
    private var cleanWindowsBeforeProbe: Int
    private var probation: Int
    /// The last window ended in an increase (or the one before, and this level is on probation).
    private var probing = false
    /// One window at the probe's level had refusals and a gap in what the gateway took at once.
    private var probeStruck = false
    private var hurtLevel: Int?
    private var hurtCount = 0
    /// The probe goes no higher than this.
    private(set) var probeCeiling: Int
    private var cleanBelowProbeCeiling = 0

    /// A refused request keeps its slot about one answer time once a cap was met (or before the ceiling was
    /// seen taken at once); at a ceiling the gateway takes, refusals are an upstream's and cost nothing.
    var holdsRefusedSlots: Bool { limit < ceiling || limit > mostAtOnce || laggingRelease }

    init(ceiling: Int, start: Int, rules: AdaptiveConcurrency.Rules) {
        self.ceiling = max(ceiling, 1)
        self.rules = rules
        limit = min(max(start, 1), self.ceiling)
        probeCeiling = self.ceiling
        probation = rules.probationWindows
        releaseHold = rules.releaseLag
        // A job resumed below its ceiling starts where it was safe, and waits before probing.
        cleanWindowsBeforeProbe = limit < self.ceiling ? rules.probationWindows : 0
    }

    /// Decides on a closed window; true when answers from here on belong to a new limit.
    mutating func close(_ window: Window) -> Bool {
        windows += 1
        guard window.answers > 0 else { return false }
        let share = window.refusedShare
        let everyoneAccepted = window.acceptedAtOnce >= limit
        // Refused slots were held (each refusal stood for one slot's worth of time), so the share refused says how
        // far over the cap the limit was; a share of refusals retried at once says little.
        let sharePerSlot = holdsRefusedSlots
        let overshoot = share > rules.decreaseShare && !(everyoneAccepted && share <= rules.sporadicShare)
        // A client busy with many refusals reads its answers late and counts answered requests in flight: what an
        // overshooting window took at once is read net of that delay, which its refusals show. (Read as usual, 800
        // sent against a cap of 200 read 418, kept as the most it took, and refusals at 244 then looked like a gateway
        // that frees its places late: the limit stayed there all job, 5 % refused.)
        var judged = window
        if overshoot { judged.acceptedAtOnce = min(window.acceptedAtOnce, window.acceptedAtOnceReadLate) }
        mostAtOnce = max(mostAtOnce, judged.acceptedAtOnce)
        lastAtOnce = judged.acceptedAtOnce
        if overshoot { return overshot(judged, share: share, sharePerSlot: sharePerSlot) }
        overshootStreak = 0
        overshootPending = false
        if probing, window.refusals > 0, !everyoneAccepted {
            // Two windows say it: one could be an upstream's refusals that happened to meet a gap in flight.
            guard probeStruck else {
                probeStruck = true
                return false
            }
            if limit <= mostAtOnce { laggingRelease = true }
            drain(to: limit - 1)
            return true
        }
        guard share <= rules.increaseShare, window.lowBudget == 0 else {
            return refusedAFew(share: share, sharePerSlot: sharePerSlot, acceptedAtOnce: window.acceptedAtOnce)
        }
        return cleanWindow(refusals: window.refusals)
    }

    /// More than `decreaseShare` refused.
    private mutating func overshot(_ window: Window, share: Double, sharePerSlot: Bool) -> Bool {
        // At a ceiling it took at once before (no cap met), a share an upstream could cause alone must show twice
        // in a row: 3 % refused whatever the load reach 8 % in one window of 64 now and then.
        if !sharePerSlot, share <= rules.sporadicShare, !overshootPending {
            overshootPending = true
            return false
        }
        overshootPending = false
        overshootStreak += 1
        // With refused slots held, limit × share is about how many slots were refused at a time.
        if limit <= mostAtOnce, !sharePerSlot || Double(limit) * share < 2 || window.acceptedAtOnce >= limit - 1 {
            // Refused at a level it took at once before: it frees places late. One slot, and hold them (see laggingRelease).
            // (Many refused while it took fewer at once: a loaded client saw too many at once before; below.)
            freesLate(holdLonger: window.acceptedAtOnce >= limit)
            drain(to: limit - 1)
        } else {
            drain(to: window.acceptedAtOnce > 0 ? window.acceptedAtOnce : limit / 4)
        }
        return true
    }

    /// Between `increaseShare` and `decreaseShare` refused, or a budget running low: no probe; under a cap, a level
    /// that keeps refusing a little is dealt with (at the ceiling no cap was met: the refusals are an upstream's).
    private mutating func refusedAFew(share: Double, sharePerSlot: Bool, acceptedAtOnce: Int) -> Bool {
        probing = false
        probeStruck = false
        guard share > rules.increaseShare, limit < ceiling else { return false }
        if limit <= mostAtOnce {
            // At a level it took at once before: a late release, which holding slots cures without a cut; held
            // longer when it took the whole limit at once in this window too, so the slots, not the level, were short.
            freesLate(holdLonger: acceptedAtOnce >= limit)
            return false
        }
        // Above what it took at once, with refused slots held: half a slot's worth or more refused, one slot back.
        guard sharePerSlot, Double(limit) * share >= 0.5 else { return false }
        drain(to: limit - 1)
        return true
    }

    /// Refused at a level the gateway took at once before: it frees its places late. If slots were held already
    /// and the gateway took the whole limit at once (so the slots, not the level, were short), they are held
    /// longer; the probe stays at this level (a longer hold, not more slots, keeps the cap full).
    private mutating func freesLate(holdLonger: Bool) {
        if laggingRelease, holdLonger { releaseHold = min(releaseHold * 2, rules.longestReleaseHold) }
        laggingRelease = true
        probeCeiling = min(probeCeiling, limit)
    }

    private mutating func drain(to target: Int) {
        hurt(at: limit)
        probeStruck = false
        limit = max(1, min(limit - 1, target))
        probation = probing ? min(probation * 2, rules.longestProbation) : rules.probationWindows
        cleanWindowsBeforeProbe = probation
        probing = false
    }

    /// A level that fails twice in a row is out of the probe's reach.
    private mutating func hurt(at level: Int) {
        if hurtLevel == level {
            hurtCount += 1
        } else {
            hurtLevel = level
            hurtCount = 1
        }
        if hurtCount >= 2 {
            probeCeiling = min(probeCeiling, level - 1)
            cleanBelowProbeCeiling = 0
        }
    }

    private mutating func cleanWindow(refusals: Int) -> Bool {
        if laggingRelease, refusals == 0 { releaseHold = max(releaseHold * 0.9, rules.releaseLag) }
        if probing { probation = rules.probationWindows }
        probing = false
        probeStruck = false
        if probeCeiling < ceiling, limit >= probeCeiling {
            cleanBelowProbeCeiling += 1
            if cleanBelowProbeCeiling >= rules.longestProbation {
                // Long clean at the remembered cap: the gateway may have grown; allow one more try.
                probeCeiling += 1
                cleanBelowProbeCeiling = 0
                hurtCount = 0
            }
        }
        if cleanWindowsBeforeProbe > 0 {
            cleanWindowsBeforeProbe -= 1
            return false
        }
        guard limit < min(ceiling, probeCeiling) else { return false }
        limit += 1
        probing = true
        return true
    }
}
