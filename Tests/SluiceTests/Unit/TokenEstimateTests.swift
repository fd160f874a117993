import Testing

@testable import SluiceCore

/// The one estimate the `--tpm` budget, `--max-cost` and the batch enqueued-token budget share.
struct TokenEstimateTests {
    @Test(arguments: [
        (#"{"model":"m","messages":[],"max_tokens":50}"#, 50),
        (#"{"model":"m","messages":[],"max_completion_tokens":70}"#, 70),
        (#"{"model":"m","input":"x","max_output_tokens":90}"#, 90),
        (#"{"model":"m","messages":[]}"#, TokenEstimate.defaultOutputCap),
    ])
    func theAnswersCapOrTheDefault(body: String, output: Int) {
        let estimate = TokenEstimate(body: Array(body.utf8))
        #expect(estimate.prompt == body.utf8.count / 4)
        #expect(estimate.output == output)
        #expect(estimate.total == body.utf8.count / 4 + output)
    }

    @Test func theRateBudgetAndTheSpendGuardUseIt() {
        let body = Array(#"{"model":"m","messages":[{"role":"user","content":"hello there"}],"max_tokens":40}"#.utf8)
        let estimate = TokenEstimate(body: body)
        let budget = RateBudget(requestsPerMinute: nil, tokensPerMinute: 6000, control: RunControl())
        // Before any answer, the request's own cap; the default cap is the batch budget's worst case only.
        #expect(budget.estimate(estimate) == estimate.prompt + 40)
        #expect(budget.estimate(TokenEstimate(prompt: 10, outputCap: nil)) == 10)
        #expect(SpendGuard.assumedCompletionTokens == TokenEstimate.defaultOutputCap)
    }
}
