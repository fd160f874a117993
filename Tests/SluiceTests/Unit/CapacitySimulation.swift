import Foundation
import SluiceCore

/// A gateway with a concurrency cap and a client driven by `AdaptiveConcurrency`, in virtual time:
/// requests over the cap are refused at once; an accepted request's place frees `releaseLag` after
/// its answer (a proxy's bookkeeping); the client sends again as soon as a slot is given back, after
/// the hold the limit asks for; the client reads each answer `readDelay` after the gateway wrote it (its
/// event loop, the loopback), so it may send into a place the gateway freed while it still counts the
/// answered request in flight. A client that is busy (`readCost`) reads one answer at a time, each costing that
/// much of its time: with hundreds in flight over a cap, the refusals queue before the accepted answers, whose
/// requests then look in flight long after the gateway answered them. Optionally a share of answers is refused
/// whatever the load.
struct CapacitySimulation {
    var capacity = Int.max
    var ceiling: Int
    var latency: ClosedRange<Double> = 0.020...0.060
    var releaseLag: ClosedRange<Double> = 0...0
    var readDelay: ClosedRange<Double> = 0...0
    /// The client's time to read one answer (seconds); answers wait their turn.
    var readCost = 0.0
    /// How long the gateway takes to refuse (seconds): at once for a cap, longer for a refusal from further up.
    var refusalTime = 0.0003
    var sporadicShare = 0.0
    var seed: UInt64 = 1

    struct Result {
        var changes: [AdaptiveConcurrency.Change]
        var sent = 0
        var refused = 0
        /// Requests sent and refused once the first two windows had closed.
        var sentAfterTwo = 0
        var refusedAfterTwo = 0
        var answered = 0
        var seconds = 0.0
        /// Accepted answers per second over the run.
        var goodput: Double { seconds > 0 ? Double(answered - refused) / seconds : 0 }
        /// The limit after window 2, and every limit set after it.
        var settled: [Int] = []
    }

    private enum Event {
        case arrive(sentAt: Double)
        /// At the client, waiting to be read.
        case delivered(accepted: Bool, sentAt: Double)
        case answer(accepted: Bool, sentAt: Double)
        case free
        case slotBack
    }

    /// Runs until `answers` answers have come back.
    func run(answers total: Int) -> Result {
        let changes = Changes()
        let adaptive = AdaptiveConcurrency(limiter: ConcurrencyLimiter(limit: 1), ceiling: ceiling, start: ceiling) { changes.add($0) }
        var random = SeededRandom(seed: seed)
        let base = ContinuousClock.now
        func instant(_ seconds: Double) -> ContinuousClock.Instant { base + .nanoseconds(Int64(seconds * 1e9)) }
        var queue = EventQueue<Event>()
        var inUse = 0
        var gatewayHeld = 0
        var result = Result(changes: [])
        var now = 0.0
        var clientFree = 0.0
        // No draw without a delay: the other simulations keep the answers their seeds gave them.
        func read() -> Double { readDelay.upperBound > 0 ? Double.random(in: readDelay, using: &random) : 0 }
        // A busy client's answers wait their turn to be read; an idle one's are read as they come.
        func answer(accepted: Bool, sentAt: Double) -> Event {
            readCost > 0 ? .delivered(accepted: accepted, sentAt: sentAt) : .answer(accepted: accepted, sentAt: sentAt)
        }
        func fill() {
            while inUse < adaptive.currentLimit {
                inUse += 1
                result.sent += 1
                if changes.windowsClosed >= 2 { result.sentAfterTwo += 1 }
                queue.add(.arrive(sentAt: now), at: now + 0.0002)
            }
        }
        fill()
        while result.answered < total, let (time, event) = queue.next() {
            now = time
            switch event {
            case .arrive(let sentAt):
                if gatewayHeld < capacity, Double.random(in: 0..<1, using: &random) >= sporadicShare {
                    gatewayHeld += 1
                    let answerAt = now + Double.random(in: latency, using: &random)
                    queue.add(answer(accepted: true, sentAt: sentAt), at: answerAt + read())
                    queue.add(.free, at: answerAt + Double.random(in: releaseLag, using: &random))
                } else {
                    queue.add(answer(accepted: false, sentAt: sentAt), at: now + refusalTime + read())
                }
            case .delivered(let accepted, let sentAt):
                clientFree = max(clientFree, now) + readCost
                queue.add(.answer(accepted: accepted, sentAt: sentAt), at: clientFree)
            case .answer(let accepted, let sentAt):
                result.answered += 1
                if !accepted {
                    result.refused += 1
                    if changes.windowsClosed >= 2 { result.refusedAfterTwo += 1 }
                }
                let hold = adaptive.record(accepted ? .accepted : .refused, sentAt: instant(sentAt), now: instant(now))
                queue.add(.slotBack, at: now + 0.0002 + hold.inSeconds)
            case .free:
                gatewayHeld -= 1
            case .slotBack:
                inUse -= 1
                fill()
            }
        }
        result.changes = changes.all
        result.seconds = now
        let beforeThree = result.changes.last { $0.window <= 2 }?.to ?? ceiling
        result.settled = [beforeThree] + result.changes.filter { $0.window > 2 }.map(\.to)
        return result
    }
}

/// The limit's changes as `onChange` reports them (from inside the simulation's single thread).
private final class Changes: @unchecked Sendable {
    private(set) var all: [AdaptiveConcurrency.Change] = []
    private(set) var windowsClosed = 0
    func add(_ change: AdaptiveConcurrency.Change) {
        all.append(change)
        windowsClosed = max(windowsClosed, change.window)
    }
}

/// Events in time order (a binary heap).
struct EventQueue<Event> {
    private var heap: [(time: Double, order: Int, event: Event)] = []
    private var counter = 0

    mutating func add(_ event: Event, at time: Double) {
        counter += 1
        heap.append((time, counter, event))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard earlier(heap[child], heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func next() -> (Double, Event)? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let first = heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count, earlier(heap[left], heap[smallest]) { smallest = left }
            if right < heap.count, earlier(heap[right], heap[smallest]) { smallest = right }
            guard smallest != parent else { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return (first.time, first.event)
    }

    private func earlier(_ a: (time: Double, order: Int, event: Event), _ b: (time: Double, order: Int, event: Event)) -> Bool {
        a.time != b.time ? a.time < b.time : a.order < b.order
    }
}

/// SplitMix64, for reproducible draws.
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
