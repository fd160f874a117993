import Foundation
import Synchronization

/// Sends each distinct request once: an item whose request (endpoint, model, body) is identical to one
/// already answered takes that answer instead of paying for it again.
///
/// Where an answer can come from, in order:
/// 1. an identical request of this job that is in flight right now: the item waits for it (holding no
///    request slot) and takes its answer, or, if it failed, tries itself;
/// 2. one answered recently in this run (the last few thousand, kept until the checkpoint has them);
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
public final class AnswerSharing: Sendable {
    public enum Resolution: Sendable {
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
        var recent: [UInt64: Recent] = [:]
        var recentOrder: [UInt64] = []
        /// Requests answered in this run: only these can be in the checkpoint when it had no answer before.
        var answered = DigestFilter()
    }

    public let deduplicate: Bool
    /// The checkpoint held answers before this run (a resume): any request may match one of them.
    private let checkpointHadAnswers: Bool
    private let store: any CheckpointStore
    private let reuse: [(label: String, store: any CheckpointStore)]
    private let state = Mutex(State())
    /// Answers kept in memory between their recording and the checkpoint's commit.
    static let recentLimit = 4096

    public init(
        deduplicate: Bool, store: any CheckpointStore, checkpointHadAnswers: Bool = true, reuse: [(label: String, store: any CheckpointStore)]
    ) {
        self.deduplicate = deduplicate
        self.checkpointHadAnswers = checkpointHadAnswers
        self.store = store
        self.reuse = reuse
    }

    /// What identifies a request: the endpoint, the model asked first and the body without its model.
    public static func digest(endpoint: String, model: String, body: [UInt8]) -> UInt64 {
        Digest64.of(endpoint, model, body)
    }

    /// Without waiting or asking a checkpoint: an answer held in memory, `.lead` when nothing can match (a
    /// fresh job's distinct requests: the common case, which then costs one lock and no query), or nil
    /// when `resolve` must wait for an identical request or ask a checkpoint.
    public func quickResolve(digest: UInt64, endpoint: String, body: [UInt8]) -> Resolution? {
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

    public func resolve(digest: UInt64, endpoint: String, body: [UInt8]) async -> Resolution {
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
                finish(digest: digest, endpoint: endpoint, body: body, answer: earlier)
                return .answer(earlier, source: "dedup:\(earlier.customID)")
            }
        }
        for (label, other) in reuse {
            if let earlier = try? await other.answer(forRequest: digest, endpoint: endpoint, body: body) {
                finish(digest: digest, endpoint: endpoint, body: body, answer: earlier)
                return .answer(earlier, source: "reuse:\(label)#\(earlier.customID)")
            }
        }
        return .lead
    }

    /// The leader's answer (nil when it failed or stopped): waiters take it, or one of them leads.
    public func finish(digest: UInt64, endpoint: String, body: [UInt8], answer: SharedAnswer?) {
        guard deduplicate else { return }
        let waiters = state.withLock { state -> [CheckedContinuation<SharedAnswer?, Never>] in
            let waiters = state.inFlight.removeValue(forKey: digest) ?? []
            if answer != nil { state.answered.insert(digest) }
            if let answer, state.recent[digest] == nil {
                state.recent[digest] = Recent(endpoint: endpoint, body: body, answer: answer)
                state.recentOrder.append(digest)
                if state.recentOrder.count > Self.recentLimit {
                    state.recent.removeValue(forKey: state.recentOrder.removeFirst())
                }
            }
            return waiters
        }
        // Without an answer to share, the waiters try again: the first leads, the others wait for it.
        waiters.forEach { $0.resume(returning: answer) }
    }

    /// Closes the `--reuse` checkpoints.
    public func close() async {
        for (_, other) in reuse { await other.close() }
    }
}

/// A Bloom filter of request digests (8 MiB, four probes from the 64-bit digest): "no" is certain, "maybe"
/// costs one checkpoint query. A million answers give about 1 % false maybes; many more only make the
/// queries more frequent, never a wrong answer.
struct DigestFilter: Sendable {
    private var words = [UInt64](repeating: 0, count: 1 << 20)

    private static func probes(_ digest: UInt64) -> [Int] {
        var mixed = digest
        return (0..<4).map { _ in
            mixed = (mixed ^ (mixed >> 31)) &* 0x9E37_79B9_7F4A_7C15
            return Int(truncatingIfNeeded: mixed >> 38)  // 26 bits: one of 2^26 bits
        }
    }

    mutating func insert(_ digest: UInt64) {
        for bit in Self.probes(digest) { words[bit >> 6] |= 1 << UInt64(bit & 63) }
    }

    func mayContain(_ digest: UInt64) -> Bool {
        Self.probes(digest).allSatisfy { words[$0 >> 6] & (1 << UInt64($0 & 63)) != 0 }
    }
}
