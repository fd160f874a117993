import Foundation

/// `--embed-batch N`: embedding items whose requests differ only in their `input` text travel as one
/// request with an `input` array, and the vectors come back apart, one per item, each checkpointed on
/// its own. Embedding APIs take up to 2,048 inputs a request, and per-request overhead dominates
/// short texts, so packing multiplies throughput under a request-rate limit.
///
/// ```swift
/// if let key = EmbeddingPacker.packingKey(of: item) { ... gather items with the same key ... }
/// let packed = EmbeddingPacker.pack(items)            // one DispatchItem standing for all of them
/// let bodies = try EmbeddingPacker.split(response, into: items.count, inputs: inputs)
/// ```
package enum EmbeddingPacker {
    package static let maximumBatch = 2048

    /// What items must share to travel together: the model, the line's settings and every body member
    /// but `input`; nil for an item that cannot be packed (another endpoint, or an input that is not one string).
    package static func packingKey(of item: DispatchItem) -> [UInt8]? {
        guard item.endpoint == "/v1/embeddings", let (input, rest) = splitInput(item.body), input.first == UInt8(ascii: "\"") else {
            return nil
        }
        var key = Array((item.model ?? "").utf8)
        key.append(0)
        key += (try? JSONEncoder().encode(item.overrides)).map(Array.init) ?? []
        key.append(0)
        key += rest
        return key
    }

    /// The body without its `input` member, and that member's JSON text.
    static func splitInput(_ body: [UInt8]) -> (input: ArraySlice<UInt8>, rest: [UInt8])? {
        guard let members = (try? JSONScanner.members(of: body)) ?? nil, let input = members.first(where: { $0.key == "input" }) else { return nil }
        var rest: [UInt8] = [UInt8(ascii: "{")]
        for member in members where !(member.key == "input") {
            if rest.count > 1 { rest.append(UInt8(ascii: ",")) }
            JSONText.appendQuoted(String(decoding: member.key, as: UTF8.self), to: &rest)
            rest.append(UInt8(ascii: ":"))
            rest += body[member.value]
        }
        rest.append(UInt8(ascii: "}"))
        return (body[input.value], rest)
    }

    /// One item carrying every input, in order; its id and key are the first item's.
    package static func pack(_ items: [DispatchItem]) -> DispatchItem {
        var first = items[0]
        guard items.count > 1, let (_, rest) = splitInput(first.body) else { return first }
        var body = Array(rest.dropLast())
        if body.count > 1 { body.append(UInt8(ascii: ",")) }
        body += Array(#""input":["#.utf8)
        for (index, item) in items.enumerated() {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            body += splitInput(item.body).map { Array($0.input) } ?? Array(#""""#.utf8)
        }
        body += Array("]}".utf8)
        first.body = body
        first.customID = "\(items[0].customID) (+\(items.count - 1) packed)"
        first.members = items
        return first
    }

    /// Each item's own embeddings response from the packed one: its vector at index 0, the model, and a
    /// share of the usage in proportion to its input's length (the shares add up to what was billed).
    package static func split(_ response: [UInt8], members: [DispatchItem]) -> [[UInt8]]? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(response)) as? [String: Any],
            let data = object["data"] as? [[String: Any]], data.count == members.count
        else { return nil }
        let byIndex = Dictionary(data.enumerated().map { position, entry in ((entry["index"] as? Int) ?? position, entry) }) { first, _ in first }
        let lengths = members.map { max(splitInput($0.body)?.input.count ?? 1, 1) }
        let usage = object["usage"] as? [String: Any]
        let prompt = usage?["prompt_tokens"] as? Int ?? 0
        let total = usage?["total_tokens"] as? Int ?? prompt
        let shares = proportional(prompt, weights: lengths)
        let totalShares = proportional(total, weights: lengths)
        var bodies: [[UInt8]] = []
        for index in members.indices {
            guard var entry = byIndex[index] else { return nil }
            entry["index"] = 0
            var one: [String: Any] = ["object": object["object"] ?? "list", "data": [entry]]
            if let model = object["model"] { one["model"] = model }
            if usage != nil { one["usage"] = ["prompt_tokens": shares[index], "total_tokens": totalShares[index]] }
            guard let bytes = try? JSONText.encode(one) else { return nil }
            bodies.append(bytes)
        }
        return bodies
    }

    /// `amount` in whole parts proportional to `weights`, the remainder to the largest fractions.
    static func proportional(_ amount: Int, weights: [Int]) -> [Int] {
        let sum = weights.reduce(0, +)
        guard sum > 0 else { return weights.map { _ in 0 } }
        let exact = weights.map { Double(amount) * Double($0) / Double(sum) }
        var parts = exact.map { Int($0.rounded(.down)) }
        let order = exact.indices.sorted { exact[$0] - Double(parts[$0]) > exact[$1] - Double(parts[$1]) }
        for index in order.prefix(amount - parts.reduce(0, +)) { parts[index] += 1 }
        return parts
    }
}
