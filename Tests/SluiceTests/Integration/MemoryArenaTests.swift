import Foundation
import Testing

/// sluice caps glibc's malloc arenas at the core count (Sources/sluice/Support/MallocArenas.swift): read
/// from the running process's memory map, not taken on trust.
@Suite(.serialized)
struct MemoryArenaTests {
    @Test func aBusyRunKeepsNoMoreMallocArenasThanCores() async throws {
        let mock = try await MockGatewayProcess(["--latency-ms", "1"])
        let dir = TemporaryDirectory()
        let input = dir.writePrompts("in.jsonl", count: 4000)
        let child = try Child(
            Binaries.sluice, ["run", "--input", input, "--model", "m", "--base-url", mock.baseURL, "--concurrency", "64", "--no-progress"])
        var most = 0
        while child.process.isRunning {
            most = max(most, Self.threadArenas(pid: child.pid))
            try await Task.sleep(for: .milliseconds(20))
        }
        let finished = await child.wait()
        #expect(finished.status == 0, "\(finished.stderr)")
        // The main arena lives in the program break; the others are each one 64 MiB-aligned heap at first.
        let cores = max(sysconf(Int32(_SC_NPROCESSORS_ONLN)), 2)
        #expect(most <= cores - 1, "\(most) thread arenas on \(cores) cores")
        #expect(most >= 1, "the map was read while the run was busy")
    }

    /// glibc's thread arenas: anonymous mappings that start on a 64 MiB boundary and, with the reserved
    /// (`---p`) rest that follows them, span exactly 64 MiB (HEAP_MAX_SIZE on 64-bit).
    static func threadArenas(pid: Int32) -> Int {
        guard let maps = try? String(contentsOfFile: "/proc/\(pid)/maps", encoding: .utf8) else { return 0 }
        let heap = 64 << 20
        let regions: [(start: Int, end: Int, anonymous: Bool)] = maps.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            let bounds = fields.first?.split(separator: "-").compactMap { Int($0, radix: 16) } ?? []
            guard bounds.count == 2 else { return nil }
            return (bounds[0], bounds[1], fields.count <= 5)
        }
        var count = 0
        for (index, region) in regions.enumerated() where region.anonymous && region.start % heap == 0 {
            var end = region.end
            var next = index + 1
            while end - region.start < heap, next < regions.count, regions[next].start == end, regions[next].anonymous {
                end = regions[next].end
                next += 1
            }
            if end - region.start == heap { count += 1 }
        }
        return count
    }
}
