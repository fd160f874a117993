/// One batch input file: OpenAI batch lines (`custom_id`, `method`, `url`, `body` with the model), one
/// endpoint per file, within the gateway's line and byte limits (OpenAI: 50,000 lines, 200 MB).
struct BatchFile {
    var endpoint: String
    var items: [DispatchItem]
    var bytes: [UInt8]

    /// Items in input order into as few files as the limits allow; a line that alone is over `maxBytes`
    /// fits no file and is returned apart (the gateway would refuse the whole file for it).
    static func pack(_ items: [DispatchItem], builder: RequestBuilder, maxLines: Int, maxBytes: Int) -> (files: [BatchFile], tooLarge: [(DispatchItem, Int)]) {
        var open: [String: BatchFile] = [:]
        var done: [BatchFile] = []
        var tooLarge: [(DispatchItem, Int)] = []
        for item in items {
            let line = Self.line(for: item, builder: builder)
            if line.count > maxBytes {
                tooLarge.append((item, line.count))
                continue
            }
            if var file = open[item.endpoint], file.items.count >= maxLines || file.bytes.count + line.count > maxBytes {
                done.append(file)
                file = BatchFile(endpoint: item.endpoint, items: [], bytes: [])
                open[item.endpoint] = file
            }
            open[item.endpoint, default: BatchFile(endpoint: item.endpoint, items: [], bytes: [])].items.append(item)
            open[item.endpoint]!.bytes += line
        }
        return (done + open.values.sorted { $0.items[0].id < $1.items[0].id }, tooLarge)
    }

    /// The request the live path would send first (the item's model, the profile's body members), as a line.
    static func line(for item: DispatchItem, builder: RequestBuilder) -> [UInt8] {
        let request = builder.request(for: item, plan: builder.plan(for: item), modelIndex: 0)
        var line: [UInt8] = Array(#"{"custom_id":"#.utf8)
        JSONText.appendQuoted(item.customID, to: &line)
        line += Array(#","method":"POST","url":"#.utf8)
        JSONText.appendQuoted(item.endpoint, to: &line)
        line += Array(#","body":"#.utf8)
        line += request.body
        line += Array("}\n".utf8)
        return line
    }
}
