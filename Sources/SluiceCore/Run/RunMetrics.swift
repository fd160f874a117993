import CoreMetrics
import Foundation
import Prometheus

/// The run's Prometheus metrics, recorded through swift-metrics into a
/// registry of this run's own (no process-wide bootstrap, so a library user or
/// a test can run several jobs in one process). Every per-model metric also
/// carries a `property_<name>` label per `--metrics-label-property` (empty when
/// an item has no such property): Prometheus wants one label set per name.
///
/// | metric | type | labels |
/// |---|---|---|
/// | `sluice_requests_total` | counter | model, properties |
/// | `sluice_responses_total` | counter | model, outcome (`success` or an error class), properties |
/// | `sluice_items_total` | counter | outcome (`succeeded`/`failed`), class |
/// | `sluice_tokens_total` | counter | model, type (`prompt`/`completion`/`cached`), properties |
/// | `sluice_cost_usd_total` | counter | model, properties |
/// | `sluice_request_duration_seconds` | histogram | model, properties |
/// | `sluice_concurrency_limit`, `sluice_in_flight`, `sluice_paused` | gauge | |
///
/// ```swift
/// let metrics = RunMetrics(labelProperties: ["team"], jobProperties: ["team": "search"])
/// metrics.requestSent(model: "gpt-4o-mini", overrides: item.overrides)
/// let text = metrics.exposition()   // what GET /metrics answers
/// ```
package final class RunMetrics: Sendable {
    package let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    private let labelProperties: [String]
    private let jobProperties: [String: String]

    package static let latencyBuckets: [Duration] = [
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
        .seconds(30), .seconds(60), .seconds(120),
    ]

    package init(labelProperties: [String] = [], jobProperties: [String: String] = [:]) {
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets = ["sluice_request_duration_seconds": Self.latencyBuckets]
        self.factory = factory
        self.labelProperties = labelProperties
        self.jobProperties = jobProperties
    }

    /// The labels that say who an item belongs to.
    private func propertyLabels(_ overrides: LineOverrides?) -> [(String, String)] {
        guard !labelProperties.isEmpty else { return [] }
        return labelProperties.map { name in
            ("property_" + Self.sanitized(name), overrides?.properties?[name] ?? jobProperties[name] ?? "")
        }
    }

    package func requestSent(model: String, overrides: LineOverrides?) {
        Counter(label: "sluice_requests_total", dimensions: [("model", model)] + propertyLabels(overrides), factory: factory).increment()
    }

    /// One attempt's answer (or its lack): outcome is `success` or an `ErrorClass` raw value.
    package func attemptFinished(
        model: String, outcome: String, latency: Duration?, promptTokens: Int, completionTokens: Int, cachedTokens: Int, cost: Double?,
        overrides: LineOverrides?
    ) {
        let properties = propertyLabels(overrides)
        let byModel = [("model", model)] + properties
        Counter(label: "sluice_responses_total", dimensions: [("model", model), ("outcome", outcome)] + properties, factory: factory).increment()
        if let latency { Timer(label: "sluice_request_duration_seconds", dimensions: byModel, factory: factory).recordNanoseconds(latency.nanoseconds) }
        for (type, tokens) in [("prompt", promptTokens), ("completion", completionTokens), ("cached", cachedTokens)] where tokens > 0 {
            Counter(label: "sluice_tokens_total", dimensions: [("model", model), ("type", type)] + properties, factory: factory).increment(by: tokens)
        }
        if let cost, cost > 0 { FloatingPointCounter(label: "sluice_cost_usd_total", dimensions: byModel, factory: factory).increment(by: cost) }
    }

    /// An item's outcome, once the checkpoint has committed it.
    package func itemFinished(succeeded: Bool, errorClass: ErrorClass?) {
        let dimensions = [("outcome", succeeded ? "succeeded" : "failed"), ("class", errorClass?.rawValue ?? "")]
        Counter(label: "sluice_items_total", dimensions: dimensions, factory: factory).increment()
    }

    /// The gauges, refreshed from the run's figures just before each scrape.
    package func refresh(from stats: RunStats, paused: Bool) {
        Gauge(label: "sluice_concurrency_limit", factory: factory).record(stats.concurrencyLimit)
        Gauge(label: "sluice_in_flight", factory: factory).record(stats.inFlight)
        Gauge(label: "sluice_paused", factory: factory).record(paused ? 1 : 0)
    }

    /// The Prometheus text exposition format.
    package func exposition() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    /// Prometheus label names are `[a-zA-Z_][a-zA-Z0-9_]*`.
    static func sanitized(_ name: String) -> String {
        String(name.map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "_" })
    }
}

extension Duration {
    var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}
