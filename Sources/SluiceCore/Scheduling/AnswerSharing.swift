import Foundation
import Synchronization

/// Sends each distinct request once: an item whose request (endpoint, model, body) is identical to one
/// already answered takes that answer instead of paying for it again.
///
/// Where an answer can come from, in order:
/// 1. an identical request of this job that is in flight right now: the item waits for it (holding no
///    request slot) and takes its answer, or, if it failed, tries itself;
/// 2. one answered in this run that the checkpoint has not committed yet (kept in memory until `committed`);
/// 3. one answered earlier in this job (the checkpoint, by request digest: this also covers resumes);
/// 4. one answered by an earlier job (`--reuse` checkpoints, read-only).
/// Dedup within the job (1-3) is on unless `--no-dedup`; `--reuse` adds 4.
///
/// ```swift
/// switch await sharing.resolve(digest: d, endpoint: item.endpoint, body: item.body) {
/// case .answer(let answer, let source): ... // record it, send nothing
/// case .lead: ... // send, then sharing.finish(digest: d, answer: ...)
/// }
/// ```
package final class AnswerSharing: Sendable {
    package enum Resolution: Sendable {
        /// Send the request; call `finish` with its answer (or nil) afterwards.
        case lead
        /// Take this answer; `source` says where it came from (`dedup:<key>`, `reuse:<checkpoint>#<key>`).
        case answer(SharedAnswer, source: String)
    }

    private struct Recent {
        var endpoint: String
        var body: [UInt8]
        var answer: SharedAnswer
    }

    private struct State {
        var inFlight: [UInt64: [CheckedContinuation<SharedAnswer?, Never>]] = [:]
        /// Answers between `finish` and `committed`: about the concurrency, since a slot is held until its commit.
        var recent: [UInt64: Recent] = [:]
        /// Requests answered in this run: only these can be in the checkpoint when it had no answer before.
        var answered = DigestFilter()
    }

    package let deduplicate: Bool
    /// The checkpoint held answers before this run (a resume): any request may match one of them.
    private let checkpointHadAnswers: Bool
    private let store: any CheckpointStore
    private let reuse: [(label: String, store: any CheckpointStore)]
    private let state = Mutex(State())
    /// At most this many uncommitted answers are kept (a safety cap: a slot is held until its commit, so
    /// there are about `--concurrency` of them); past it an answer is shared once the checkpoint has it.
    static let recentLimit = 4096

    package init(
        deduplicate: Bool, store: any CheckpointStore, checkpointHadAnswers: Bool = true, reuse: [(label: String, store: any CheckpointStore)]
    ) {
        self.deduplicate = deduplicate
        self.checkpointHadAnswers = checkpointHadAnswers
        self.store = store
        self.reuse = reuse
    }

    /// What identifies a request: the endpoint, the model asked first and the body without its model.
    package static func digest(endpoint: String, model: String, body: [UInt8]) -> UInt64 {
        Digest64.of(endpoint, model, body)
    }

    /// Without waiting or asking a checkpoint: an answer held in memory, `.lead` when nothing can match (a
    /// fresh job's distinct requests: the common case, which then costs one lock and no query), or nil
    /// when `resolve` must wait for an identical request or ask a checkpoint.
    package func quickResolve(digest: UInt64, endpoint: String, body: [UInt8]) -> Resolution? {
        guard deduplicate else { return nil }
        return state.withLock { state -> Resolution? in
            if let recent = state.recent[digest], recent.endpoint == endpoint, recent.body == body {
                return .answer(recent.answer, source: "dedup:\(recent.answer.customID)")
            }
            guard reuse.isEmpty, !checkpointHadAnswers, state.inFlight[digest] == nil, !state.answered.mayContain(digest) else { return nil }
            state.inFlight[digest] = []
            return .lead
        }
    }

    package func resolve(digest: UInt64, endpoint: String, body: [UInt8]) async -> Resolution {
        if deduplicate {
            while true {
                enum Step {
                    case answered(SharedAnswer)
                    case wait
                    case lead
                }
                let step = state.withLock { state -> Step in
                    if let recent = state.recent[digest], recent.endpoint == endpoint, recent.body == body {
                        return .answered(recent.answer)
                    }
                    if state.inFlight[digest] != nil { return .wait }
                    state.inFlight[digest] = []
                    return .lead
                }
                switch step {
                case .answered(let answer):
                    return .answer(answer, source: "dedup:\(answer.customID)")
                case .wait:
                    let answer = await withCheckedContinuation { continuation in
                        let waiting = state.withLock { state -> Bool in
                            guard state.inFlight[digest] != nil else { return false }
                            state.inFlight[digest]!.append(continuation)
                            return true
                        }
                        if !waiting { continuation.resume(returning: nil) }
                    }
                    if let answer {
                        return .answer(answer, source: "dedup:\(answer.customID)")
                    }
                    continue  // the leader failed or stopped: one of the waiters leads now
                case .lead:
                    break
                }
                break
            }
            if let earlier = try? await store.answer(forRequest: digest, endpoint: endpoint, body: body) {
                finish(digest: digest, endpoint: endpoint, body: body, answer: earlier, keep: false)
                return .answer(earlier, source: "dedup:\(earlier.customID)")
            }
        }
        for (label, other) in reuse {
            if let earlier = try? await other.answer(forRequest: digest, endpoint: endpoint, body: body) {
                finish(digest: digest, endpoint: endpoint, body: body, answer: earlier, keep: false)
                return .answer(earlier, source: "reuse:\(label)#\(earlier.customID)")
            }
        }
        return .lead
    }

    /// An answer this job (or a `--reuse` checkpoint) already holds for the request, without leading or waiting:
    /// a provider batch's identical requests ride in the same batch instead of waiting here (`BatchDispatcher`).
    /// Asks the checkpoint only when it may hold one (a resume, or a digest answered in this run).
    package func earlierAnswer(digest: UInt64, endpoint: String, body: [UInt8]) async -> Resolution? {
        if deduplicate {
            let step = state.withLock { state -> (recent: SharedAnswer?, ask: Bool) in
                if let recent = state.recent[digest], recent.endpoint == endpoint, recent.body == body { return (recent.answer, false) }
                return (nil, checkpointHadAnswers || state.answered.mayContain(digest))
            }
            if let recent = step.recent { return .answer(recent, source: "dedup:\(recent.customID)") }
            if step.ask, let earlier = try? await store.answer(forRequest: digest, endpoint: endpoint, body: body) {
                return .answer(earlier, source: "dedup:\(earlier.customID)")
            }
        }
        for (label, other) in reuse {
            if let earlier = try? await other.answer(forRequest: digest, endpoint: endpoint, body: body) {
                return .answer(earlier, source: "reuse:\(label)#\(earlier.customID)")
            }
        }
        return nil
    }

    /// A request answered outside `resolve`/`finish` (a provider batch's line) and committed: later identical
    /// requests look for it in the checkpoint.
    package func answeredElsewhere(digest: UInt64) {
        guard deduplicate else { return }
        state.withLock { $0.answered.insert(digest) }
    }

    /// The leader's answer (nil when it failed or stopped): waiters take it, or one of them leads. `keep`
    /// holds it in memory until `committed`; an answer read from a checkpoint is already there.
    package func finish(digest: UInt64, endpoint: String, body: [UInt8], answer: SharedAnswer?, keep: Bool = true) {
        guard deduplicate else { return }
        let waiters = state.withLock { state -> [CheckedContinuation<SharedAnswer?, Never>] in
            let waiters = state.inFlight.removeValue(forKey: digest) ?? []
            if answer != nil { state.answered.insert(digest) }
            if keep, let answer, state.recent[digest] == nil, state.recent.count < Self.recentLimit {
                state.recent[digest] = Recent(endpoint: endpoint, body: body, answer: answer)
            }
            return waiters
        }
        // Without an answer to share, the waiters try again: the first leads, the others wait for it.
        waiters.forEach { $0.resume(returning: answer) }
    }

    /// The checkpoint has committed the answer `finish` gave for `digest`: later identical requests find
    /// it there (the filter says "maybe"), so memory holds only answers a query could not yet see.
    package func committed(digest: UInt64) {
        guard deduplicate else { return }
        state.withLock { _ = $0.recent.removeValue(forKey: digest) }
    }

    /// Answers held in memory now (the tests check that committed ones are let go).
    var uncommittedCount: Int { state.withLock { $0.recent.count } }
}

/// A scalable Bloom filter of request digests (after Almeida et al., "Scalable Bloom Filters", 2007):
/// "no" is certain, "maybe" costs one checkpoint query. It starts at 64 KiB and adds a layer half as large
/// again as the last whenever that one holds its share (12 bits per digest, four probes: about 0.6 %
/// false maybes per layer), so a small job pays kilobytes and a job of millions a few megabytes.
struct DigestFilter: Sendable {
    private struct Layer: Sendable {
        var words: [UInt64]
        var count = 0
        /// Digests this layer takes before the next one starts.
        var capacity: Int { words.count * 64 / 12 }
        /// The layer's number of bits.
        let bits: UInt64

        init(words wordCount: Int) {
            words = [UInt64](repeating: 0, count: wordCount)
            bits = UInt64(wordCount) * 64
        }

        /// The next of a digest's four bit positions (`mixed` starts as the digest): a multiply-shift
        /// onto `bits`, which need not be a power of two.
        @inline(__always)
        func probe(_ mixed: inout UInt64) -> Int {
            mixed = (mixed ^ (mixed >> 31)) &* 0x9E37_79B9_7F4A_7C15
            return Int(truncatingIfNeeded: ((mixed >> 32) &* bits) >> 32)
        }

        mutating func insert(_ digest: UInt64) {
            var mixed = digest
            for _ in 0..<4 {
                let bit = probe(&mixed)
                words[bit >> 6] |= 1 << UInt64(bit & 63)
            }
            count += 1
        }

        func mayContain(_ digest: UInt64) -> Bool {
            var mixed = digest
            for _ in 0..<4 {
                let bit = probe(&mixed)
                if words[bit >> 6] & (1 << UInt64(bit & 63)) == 0 { return false }
            }
            return true
        }
    }

    /// 8,192 words (64 KiB) in the first layer.
    static let firstLayerWords = 1 << 13
    private var layers = [Layer(words: DigestFilter.firstLayerWords)]

    mutating func insert(_ digest: UInt64) {
        if layers[layers.count - 1].count >= layers[layers.count - 1].capacity {
            // Half as large again, not twice: doubling left up to half of the last layer unused, which at
            // millions of requests was megabytes (make bench's 2,000,000-item memory row).
            layers.append(Layer(words: layers[layers.count - 1].words.count * 3 / 2))
        }
        layers[layers.count - 1].insert(digest)
    }

    func mayContain(_ digest: UInt64) -> Bool {
        layers.contains { $0.mayContain(digest) }
    }

    /// Bytes the filter holds (for the tests' memory check).
    var byteCount: Int { layers.reduce(0) { $0 + $1.words.count * 8 } }
    var layerCount: Int { layers.count }
}
