/// One batch input file: OpenAI batch lines (`custom_id`, `method`, `url`, `body` with the model), one
/// endpoint and model per file, within the gateway's line and byte limits (OpenAI: 50,000 lines, 200 MB)
/// and its enqueued-token limit.
struct BatchFile {
    var endpoint: String
    var model: String
    var items: [DispatchItem]
    /// Items that ride without a line of their own: their requests are identical to lines' (`BatchSharing`).
    var riders: [DispatchItem] = []
    var bytes: [UInt8]
    /// Enqueued tokens as `TokenEstimate` counts them (prompt plus the answer's cap), summed over the lines.
    var tokens: Int
    /// The prompt part of `tokens` (the rest is the answers' caps): what `--max-cost`'s worst case prices.
    var promptTokens = 0

    /// Every item the file's batch settles: its lines' (each member of a packed embeddings line) and its riders'.
    var members: [DispatchItem] { items.flatMap(\.carried) + riders }
    /// Their ids, without copying the items (a file holds up to 50,000).
    var memberIDs: [Int64] {
        var ids: [Int64] = []
        ids.reserveCapacity(items.count + riders.count)
        for item in items {
            if let packed = item.members { ids += packed.map(\.id) } else { ids.append(item.id) }
        }
        return ids + riders.map(\.id)
    }

    /// What `pack` set apart: lines no file can take, with their size in bytes or tokens (and their riders).
    struct Apart {
        var tooLarge: [(DispatchItem, Int)] = []
        var overTokenLimit: [(DispatchItem, Int)] = []
    }

    /// Items in input order into as few files as the limits allow (`BatchPacking`); a line that alone is over
    /// `maxBytes` or its model's token limit fits no file and is returned apart (the gateway would refuse
    /// the whole file for it). `riders`, by line id, go where their line goes.
    static func pack(
        _ items: [DispatchItem], riders: [Int64: [DispatchItem]] = [:], builder: RequestBuilder, maxLines: Int, maxBytes: Int,
        tokenLimit: (String) -> Int? = { _ in nil }
    ) -> (files: [BatchFile], apart: Apart) {
        let lines = items.map { Self.line(for: $0, builder: builder) }
        let sizes = zip(items, lines).map { BatchPacking.Line(endpoint: $0.endpoint, model: $1.model, bytes: $1.bytes.count, tokens: $1.estimate.total) }
        let plan = BatchPacking(sizes, maxLines: maxLines, maxBytes: maxBytes, tokenLimit: tokenLimit)
        let files = plan.files.map { indices in
            BatchFile(
                endpoint: items[indices[0]].endpoint, model: lines[indices[0]].model, items: indices.map { items[$0] },
                riders: riders.isEmpty ? [] : indices.flatMap { items[$0].carried.flatMap { riders[$0.id] ?? [] } },
                bytes: indices.flatMap { lines[$0].bytes },
                tokens: indices.reduce(0) { $0 + lines[$1].estimate.total }, promptTokens: indices.reduce(0) { $0 + lines[$1].estimate.prompt })
        }
        var apart = Apart()
        func withRiders(_ index: Int, size: Int) -> [(DispatchItem, Int)] {
            items[index].carried.flatMap { [$0] + (riders[$0.id] ?? []) }.map { ($0, size) }
        }
        apart.tooLarge = plan.tooLarge.flatMap { withRiders($0, size: lines[$0].bytes.count) }
        apart.overTokenLimit = plan.overTokenLimit.flatMap { withRiders($0, size: lines[$0].estimate.total) }
        return (files, apart)
    }

    /// The request the live path would send first (the item's model, the profile's body members), as a line,
    /// with its model and token estimate.
    static func line(for item: DispatchItem, builder: RequestBuilder) -> (bytes: [UInt8], model: String, estimate: TokenEstimate) {
        let request = builder.request(for: item, plan: builder.plan(for: item), modelIndex: 0)
        var line: [UInt8] = Array(#"{"custom_id":"#.utf8)
        JSONText.appendQuoted(item.customID, to: &line)
        line += Array(#","method":"POST","url":"#.utf8)
        JSONText.appendQuoted(item.endpoint, to: &line)
        line += Array(#","body":"#.utf8)
        line += request.body
        line += Array("}\n".utf8)
        return (line, request.model, TokenEstimate(body: request.body))
    }
}

extension DispatchItem {
    /// The items this one stands for: the members of a packed embeddings request, or itself.
    var carried: [DispatchItem] { members ?? [self] }
}
