import Foundation

#if os(Linux)
    import CMalloc
    import Glibc
#endif

/// glibc gives a thread that allocates while others do a heap of its own (an "arena"), up to eight per core,
/// and each arena keeps what was freed in it. sluice's busy threads (NIO's event loops and Swift's
/// cooperative pool) number about one per core, so arenas beyond the core count hold memory without
/// removing any contention: they are capped at the core count, at least 2 (about 2 MB less peak RSS at
/// 100,000 items on 2 cores, `make bench`'s baseline row), counted as Foundation counts the processors this
/// process may use. `MALLOC_ARENA_MAX`, or an arena_max in `GLIBC_TUNABLES`, when set, is left to glibc.
enum MallocArenas {
    static func limitToCores() {
        #if os(Linux)
            let environment = ProcessInfo.processInfo.environment
            guard environment["MALLOC_ARENA_MAX"] == nil, environment["GLIBC_TUNABLES"]?.contains("arena_max") != true else { return }
            let cores = max(ProcessInfo.processInfo.activeProcessorCount, 2)
            _ = mallopt(M_ARENA_MAX, Int32(clamping: cores))
        #endif
    }
}
