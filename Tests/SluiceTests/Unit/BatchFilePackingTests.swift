import Testing

@testable import SluiceCore

/// How lines become batch files: one endpoint and model a file, cut by lines, bytes and tokens.
struct BatchFilePackingTests {
    typealias Line = BatchPacking.Line

    static func lines(_ count: Int, model: String = "m", endpoint: String = "/v1/chat/completions", bytes: Int = 100, tokens: Int = 1_000) -> [Line] {
        Array(repeating: Line(endpoint: endpoint, model: model, bytes: bytes, tokens: tokens), count: count)
    }

    static let cases: [(name: String, lines: [Line], maxLines: Int, maxBytes: Int, limit: Int?, expected: BatchPacking)] = [
        ("lines", lines(5), 2, 10_000, nil, BatchPacking(files: [[0, 1], [2, 3], [4]])),
        ("bytes", lines(5), 100, 250, nil, BatchPacking(files: [[0, 1], [2, 3], [4]])),
        ("tokens", lines(5), 100, 10_000, 3_500, BatchPacking(files: [[0, 1, 2], [3, 4]])),
        ("tokens exactly at the limit", lines(4), 100, 10_000, 2_000, BatchPacking(files: [[0, 1], [2, 3]])),
        ("whichever comes first", lines(6), 4, 350, 2_500, BatchPacking(files: [[0, 1], [2, 3], [4, 5]])),
        (
            "a line over the token limit alone is set apart",
            lines(2) + [Line(endpoint: "/v1/chat/completions", model: "m", bytes: 100, tokens: 9_000)] + lines(1),
            100, 10_000, 5_000, BatchPacking(files: [[0, 1, 3]], overTokenLimit: [2])
        ),
        (
            "a line over the byte limit alone is set apart", lines(1) + [Line(endpoint: "/v1/chat/completions", model: "m", bytes: 900, tokens: 10)], 100,
            500, nil, BatchPacking(files: [[0]], tooLarge: [1])
        ),
        (
            "one model and endpoint a file",
            lines(1, model: "a") + lines(1, model: "b") + lines(1, model: "a") + lines(1, model: "a", endpoint: "/v1/embeddings"),
            100, 10_000, nil, BatchPacking(files: [[0, 2], [1], [3]])
        ),
    ]

    @Test(arguments: cases.indices)
    func packing(_ index: Int) {
        let (name, lines, maxLines, maxBytes, limit, expected) = Self.cases[index]
        let plan = BatchPacking(lines, maxLines: maxLines, maxBytes: maxBytes, tokenLimit: { _ in limit })
        #expect(plan == expected, "\(name)")
        for file in plan.files {
            #expect(file.count <= maxLines && file.reduce(0) { $0 + lines[$1].bytes } <= maxBytes, "\(name)")
            if let limit { #expect(file.reduce(0) { $0 + lines[$1].tokens } <= limit, "\(name): no file over the token limit on its own") }
        }
    }

    @Test func eachModelHasItsLimit() {
        let plan = BatchPacking(Self.lines(3, model: "small") + Self.lines(3, model: "large"), maxLines: 100, maxBytes: 10_000) {
            $0 == "small" ? 1_000 : nil
        }
        #expect(plan.files == [[0], [1], [2], [3, 4, 5]])
    }
}
