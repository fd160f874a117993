import Foundation
import Synchronization
import Testing

@testable import SluiceCore

/// The scheduler keeps an answer's request slot until its outcome is committed (so a kill loses at most the
/// concurrency in answers): `recordAndWait` must return, and `record(_:then:)` give the slot back, only once
/// the events are committed, and neither may hold up a run that is ending.
struct CheckpointRecorderTests {
    private func leasedItems(_ count: Int, in dir: TemporaryDirectory) async throws -> (SQLiteCheckpointStore, [DispatchItem]) {
        let store = try await plannedStore(dir, count: count)
        return (store, try await store.lease(limit: count))
    }

    /// True when `work` ended first, false when `limit` passed first (a safety net: the work should never wait that long).
    private func endsFirst(_ work: @escaping @Sendable () async -> Void, limit: Duration = .seconds(30)) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await work()
                return true
            }
            group.addTask {
                try? await Task.sleep(for: limit)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    @Test func whatAWorkerWaitedForIsCommittedWhenItReturns() async throws {
        let dir = TemporaryDirectory()
        let (store, leased) = try await leasedItems(2000, in: dir)
        let recorder = CheckpointRecorder(store: store, counters: RunCounters(), control: RunControl())
        let loop = Task { await recorder.run() }
        // Large hand-overs, one after another: committing one takes far longer than asking the store right after.
        for start in stride(from: 0, to: leased.count, by: 500) {
            await recorder.recordAndWait(leased[start..<start + 500].map { finished($0.id) })
            let committed = try await store.counts().succeeded
            #expect(committed == start + 500, "returned before its outcomes were committed")
        }
        loop.cancel()
        await loop.value
        await store.close()
    }

    @Test func aWorkerDoesNotWaitOnceTheCommitLoopHasEndedNorWhenCancelled() async throws {
        let dir = TemporaryDirectory()
        let (store, leased) = try await leasedItems(2, in: dir)
        let recorder = CheckpointRecorder(store: store, counters: RunCounters(), control: RunControl())

        // Cancelled while waiting for a commit that has not come (no loop is running): it returns, and the
        // outcome is still committed by the next commit.
        let cancelled = Task { await recorder.recordAndWait([finished(leased[0].id)]) }
        cancelled.cancel()
        #expect(await endsFirst { await cancelled.value }, "a cancelled worker kept waiting")

        // The loop has ended (the run is stopping): nothing commits until commitRemaining(), so nobody may wait.
        let loop = Task { await recorder.run() }
        loop.cancel()
        await loop.value
        #expect(try await store.counts().succeeded == 1, "the loop's last commit took the cancelled worker's outcome")
        #expect(await endsFirst { await recorder.recordAndWait([finished(leased[1].id)]) }, "a worker waited for a loop that had ended")
        await recorder.commitRemaining()
        #expect(try await store.counts().succeeded == 2)
        await store.close()
    }
    /// The scheduler's usual path: it hands the outcome over with what it holds and ends; the recorder lets go of
    /// the slot only once the outcome is committed, so the guarantee is the one `recordAndWait` gives.
    @Test(.timeLimit(.minutes(1))) func whatAWorkerHandedOverIsCommittedBeforeItsSlotIsGivenBack() async throws {
        let dir = TemporaryDirectory()
        let (store, leased) = try await leasedItems(2000, in: dir)
        let recorder = CheckpointRecorder(store: store, counters: RunCounters(), control: RunControl())
        let loop = Task { await recorder.run() }
        let seen = Mutex<[Int]>([])
        let released = AsyncStream<Void>.makeStream()
        let path = dir.file("job.db")
        for (index, start) in stride(from: 0, to: leased.count, by: 500).enumerated() {
            recorder.record(leased[start..<start + 500].map { finished($0.id) }) {
                // Runs on the commit loop: read through a connection of its own, the file holds this hand-over already.
                let committed = (try? checkpointCount(path, "state = \(ItemState.succeeded.rawValue)")) ?? -1
                seen.withLock { $0.append(committed - (index + 1) * 500) }
                released.continuation.yield()
            }
        }
        var count = 0
        for await _ in released.stream {
            count += 1
            if count == 4 { break }
        }
        released.continuation.finish()
        #expect(seen.withLock { $0 }.count == 4)
        #expect(seen.withLock { $0 }.allSatisfy { $0 >= 0 }, "a slot was given back before its outcome was committed: \(seen.withLock { $0 })")

        // Once the loop has ended, nothing would commit until commitRemaining(): the slot is given back at once.
        loop.cancel()
        await loop.value
        let late = Mutex(false)
        recorder.record([]) { late.withLock { $0 = true } }
        #expect(late.withLock { $0 }, "a slot waited for a loop that had ended")
        await store.close()
    }
}
