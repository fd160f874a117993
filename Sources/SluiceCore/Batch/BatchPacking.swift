/// Which lines go into which batch file: one endpoint and model per file (the gateway refuses a file that
/// mixes them, and its enqueued-token limit is per model), cut at `maxLines`, `maxBytes` and the model's
/// enqueued-token limit, so no file is refused for its own size. A line over the byte or token limit on
/// its own fits no file and is set apart. Pure: `BatchFile.pack` gives it the lines' sizes.
struct BatchPacking: Equatable {
    /// One line as packing sees it.
    struct Line: Equatable {
        var endpoint: String
        var model: String
        var bytes: Int
        var tokens: Int
    }

    /// Indices into the lines: the files, in input order of their first line.
    var files: [[Int]] = []
    /// Lines over `maxBytes` alone.
    var tooLarge: [Int] = []
    /// Lines over their model's token limit alone.
    var overTokenLimit: [Int] = []

    init(files: [[Int]] = [], tooLarge: [Int] = [], overTokenLimit: [Int] = []) {
        self.files = files
        self.tooLarge = tooLarge
        self.overTokenLimit = overTokenLimit
    }

    init(_ lines: [Line], maxLines: Int, maxBytes: Int, tokenLimit: (String) -> Int?) {
        struct Open {
            var lines: [Int] = []
            var bytes = 0
            var tokens = 0
        }
        var open: [String: Open] = [:]
        var done: [[Int]] = []
        for (index, line) in lines.enumerated() {
            let limit = tokenLimit(line.model)
            if line.bytes > maxBytes {
                tooLarge.append(index)
                continue
            }
            if let limit, line.tokens > limit {
                overTokenLimit.append(index)
                continue
            }
            let key = line.endpoint + "\u{0}" + line.model
            if let file = open[key],
                file.lines.count >= maxLines || file.bytes + line.bytes > maxBytes || limit.map({ file.tokens + line.tokens > $0 }) == true
            {
                done.append(file.lines)
                open[key] = nil
            }
            open[key, default: Open()].lines.append(index)
            open[key]!.bytes += line.bytes
            open[key]!.tokens += line.tokens
        }
        files = done + open.values.map(\.lines).sorted { $0[0] < $1[0] }
    }
}
