/// What a dispatcher tells the checkpoint about a leased item, applied in
/// order in one transaction.
package enum CheckpointEvent: Sendable {
    case finished(ItemOutcome)
    /// Abandoned unfinished because the run is stopping: pending again, so a
    /// graceful stop leaves nothing "in flight" behind. `attempts` is the item's
    /// total so far, so the attempts made in this run are not forgotten.
    case released(Int64, attempts: Int)
    /// Back to pending to be sent live from now on (a line a provider batch failed, expired or lost, in
    /// `auto` mode): pending again, out of its batch, on the live route.
    case rerouted(Int64, attempts: Int)
}
