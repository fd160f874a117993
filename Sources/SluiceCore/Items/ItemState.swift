/// Where an item is in its life. Stored as an integer in the checkpoint.
///
/// ```
/// pending ──lease──▶ inFlight ──record(finished)──▶ succeeded
///    ▲                  │  └─────────────────────▶ failed ──(--retry-failed)──▶ pending
///    └─release, or crash and resume─┘
/// ```
/// `inFlight` means leased: taken by a dispatcher, whether its request is on
/// the wire or waiting for a retry.
package enum ItemState: Int, Sendable, CaseIterable {
    case pending = 0
    case inFlight = 1
    case succeeded = 2
    case failed = 3

    package var name: String {
        switch self {
        case .pending: return "pending"
        case .inFlight: return "in_flight"
        case .succeeded: return "succeeded"
        case .failed: return "failed"
        }
    }
}
