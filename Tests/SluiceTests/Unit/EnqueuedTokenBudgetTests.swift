import Testing

@testable import SluiceCore

/// The batch budget's arithmetic: what fits, and what a refusal teaches.
struct EnqueuedTokenBudgetTests {
    /// One step of a budget's life and what it should say after it.
    enum Step {
        case opened(Int)
        case closed(Int)
        /// A refusal of a file of `tokens` created while `open` tokens were open; the limit learned.
        case refused(tokens: Int, open: Int, learns: Int)
        /// Whether a file of this size fits now.
        case fits(Int, Bool)
    }

    static let cases: [(name: String, given: Int?, steps: [Step])] = [
        ("no limit known: everything fits", nil, [.opened(5_000), .opened(5_000), .fits(1_000_000, true)]),
        ("a given limit", 3_000, [.opened(1_000), .opened(1_000), .fits(1_000, true), .fits(1_001, false), .closed(1_000), .fits(2_000, true)]),
        ("nothing open: any packed file fits", 3_000, [.fits(3_000, true), .opened(3_000), .fits(1, false), .closed(3_000), .fits(3_000, true)]),
        (
            "a refusal learns what was open and accepted", nil,
            [
                .opened(1_000), .opened(1_000), .opened(1_000), .refused(tokens: 1_000, open: 2_000, learns: 2_000), .closed(1_000), .fits(1, false),
                .closed(1_000), .fits(1_000, true), .fits(1_001, false),
            ]
        ),
        ("a file refused alone halves", nil, [.opened(4_000), .refused(tokens: 4_000, open: 0, learns: 2_000), .closed(4_000), .fits(2_000, true)]),
        (
            "a learned limit only goes down", nil,
            [
                .refused(tokens: 100, open: 2_000, learns: 2_000), .refused(tokens: 100, open: 3_000, learns: 2_000),
                .refused(tokens: 100, open: 1_500, learns: 1_500),
            ]
        ),
        ("a refusal lowers a given limit", 5_000, [.refused(tokens: 1_000, open: 3_000, learns: 3_000), .opened(3_000), .fits(1, false)]),
    ]

    @Test(arguments: cases.indices)
    func stepByStep(_ index: Int) {
        let (name, given, steps) = Self.cases[index]
        var budget = EnqueuedTokenBudget(given: given)
        for (number, step) in steps.enumerated() {
            switch step {
            case .opened(let tokens): budget.opened(tokens: tokens, model: "m")
            case .closed(let tokens): budget.closed(tokens: tokens, model: "m")
            case .refused(let tokens, let open, let learns):
                #expect(budget.refused(tokens: tokens, openTokens: open, model: "m") == learns, "\(name), step \(number)")
                #expect(budget.limit(for: "m") == learns, "\(name), step \(number)")
            case .fits(let tokens, let fits):
                #expect(budget.canOpen(tokens: tokens, model: "m") == fits, "\(name), step \(number): \(tokens) tokens")
            }
        }
    }

    @Test func modelsHaveTheirOwnBudget() {
        var budget = EnqueuedTokenBudget(given: nil)
        budget.opened(tokens: 2_000, model: "a")
        budget.opened(tokens: 500, model: "b")
        budget.refused(tokens: 1_000, openTokens: 2_000, model: "a")
        #expect(!budget.canOpen(tokens: 1, model: "a"))
        #expect(budget.canOpen(tokens: 1_000_000, model: "b"))
        #expect(budget.limit(for: "b") == nil && budget.tightestLimit == 2_000)
        #expect(budget.openTokens == 2_500)
    }
}
