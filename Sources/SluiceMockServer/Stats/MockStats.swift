import Foundation

/// Counters served at `GET /stats`, so tests can see exactly what reached the gateway.
///
/// `bodies` counts each distinct request body by its digest (the same digest that
/// appears in the answer's `id`), which is how a test proves that no completed item
/// was sent twice.
struct MockStats {
    var totalRequests = 0
    var statusCounts: [Int: Int] = [:]
    var faults: [String: Int] = [:]
    /// `--echo-credentials`: "<place> <header name>" → how many times its value was sent back.
    var echoed: [String: Int] = [:]
    var modelsRequested: [String: Int] = [:]
    var modelsAnswered: [String: Int] = [:]
    var properties: [String: [String: Int]] = [:]
    var floopyHeaders: [String: [String: Int]] = [:]
    var cacheHits = 0
    var bodies: [Digest: Int] = [:]
    var paths: [String: Int] = [:]
    /// Top-level body fields with a short scalar value (temperature, max_tokens...), by value.
    var bodyFields: [String: [String: Int]] = [:]
    /// The usage the chat answers reported (a cache hit reports none), in all and per property value.
    var promptTokens = 0
    var completionTokens = 0
    var propertyTokens: [String: [String: Int]] = [:]
    /// Files and batches; their answered lines also count in `bodies` and the token totals.
    var batch = BatchStats()

    mutating func record(usage prompt: Int, _ completion: Int, headers: [(name: String, value: String)]) {
        promptTokens += prompt
        completionTokens += completion
        for header in headers where header.name.hasPrefix("floopy-property-") {
            propertyTokens[String(header.name.dropFirst("floopy-property-".count)), default: [:]][header.value, default: 0] += prompt + completion
        }
    }

    mutating func record(body: [String: Any]) {
        for (key, value) in body where key != "messages" && key != "input" {
            let text: String?
            switch value {
            case let number as NSNumber: text = number.stringValue
            case let string as String where string.count <= 64: text = string
            default: text = nil
            }
            if let text { bodyFields[key, default: [:]][text, default: 0] += 1 }
        }
    }

    mutating func record(headers: [(name: String, value: String)]) {
        for header in headers where header.name.hasPrefix("floopy-") {
            if header.name.hasPrefix("floopy-property-") {
                let name = String(header.name.dropFirst("floopy-property-".count))
                properties[name, default: [:]][header.value, default: 0] += 1
            } else {
                floopyHeaders[header.name, default: [:]][header.value, default: 0] += 1
            }
        }
    }

    func json(batchesByStatus: [String: Int] = [:], connections: [String: Int] = [:]) -> [UInt8] {
        let object: [String: Any] = [
            "total_requests": totalRequests,
            "status": Dictionary(uniqueKeysWithValues: statusCounts.map { (String($0.key), $0.value) }),
            "faults": faults,
            "echoed": echoed,
            "models_requested": modelsRequested,
            "models_answered": modelsAnswered,
            "properties": properties,
            "floopy_headers": floopyHeaders,
            "cache_hits": cacheHits,
            "paths": paths,
            "body_fields": bodyFields,
            "tokens": ["prompt": promptTokens, "completion": completionTokens],
            "property_tokens": propertyTokens,
            "distinct_bodies": bodies.count,
            "bodies": Dictionary(uniqueKeysWithValues: bodies.map { ($0.key.description, $0.value) }),
            "batch": batch.json(byStatus: batchesByStatus),
            "connections": connections,
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Array(data)
    }
}
