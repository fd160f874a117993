import Foundation

/// How long the mock waits before answering, to imitate an LLM provider.
///
/// ```swift
/// let tail = try LatencyModel(parsing: "200,2000")   // p50 200 ms, p99 2 s
/// ```
public enum LatencyModel: Sendable, Equatable {
    case none
    case fixed(milliseconds: Double)
    case uniform(min: Double, max: Double)
    /// Log-normal with the given median and 99th percentile, the usual shape of model latency.
    case tail(p50: Double, p99: Double)

    /// Parses `N`, `MIN-MAX` or `P50,P99` (milliseconds).
    public init(parsing text: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.contains(",") {
            let parts = trimmed.split(separator: ",").compactMap { Double($0) }
            guard parts.count == 2, parts[0] > 0, parts[1] >= parts[0] else {
                throw MockConfigurationError("latency tail must be P50,P99 in ms with 0 < P50 <= P99, got '\(text)'")
            }
            self = .tail(p50: parts[0], p99: parts[1])
        } else if trimmed.contains("-") {
            let parts = trimmed.split(separator: "-").compactMap { Double($0) }
            guard parts.count == 2, parts[0] >= 0, parts[1] >= parts[0] else {
                throw MockConfigurationError("latency range must be MIN-MAX in ms with MIN <= MAX, got '\(text)'")
            }
            self = .uniform(min: parts[0], max: parts[1])
        } else if let value = Double(trimmed), value >= 0 {
            self = value == 0 ? .none : .fixed(milliseconds: value)
        } else {
            throw MockConfigurationError("latency must be N, MIN-MAX or P50,P99 in milliseconds, got '\(text)'")
        }
    }

    /// The delay for one request, drawn from `rng`.
    public func sample(using rng: inout SplitMix64) -> Double {
        switch self {
        case .none:
            return 0
        case .fixed(let ms):
            return ms
        case .uniform(let lo, let hi):
            return lo + (hi - lo) * rng.nextUnit()
        case .tail(let p50, let p99):
            // Box-Muller normal draw; sigma chosen so that the 99th percentile lands on p99.
            let u1 = max(rng.nextUnit(), 1e-12), u2 = rng.nextUnit()
            let z = (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
            let sigma = (log(p99) - log(p50)) / 2.326
            return exp(log(p50) + sigma * z)
        }
    }
}

public struct MockConfigurationError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
