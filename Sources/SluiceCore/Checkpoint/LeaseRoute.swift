/// Which items a lease may take. Live and batch dispatchers lease side by side in `batch` and `auto` modes.
package enum LeaseRoute: Sendable {
    /// Every pending item (`live` mode).
    case all
    /// Items that must go live: a line's `"mode": "live"`, or a line a batch gave back in `auto` mode.
    case live
    /// Items that go to provider batches.
    case batch
}
