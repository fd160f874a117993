import Foundation
import Testing

@testable import SluiceCore

/// Prices, the spend guard, the progress line's figures and the small pieces
/// `status` is built from.
struct MoneyAndProgressTests {
    @Test func aDatedModelNameFindsItsPriceAndTheJobsPricesWin() {
        let table = PriceTable(overrides: ["gpt-4o-mini": Price(input: 1, output: 2)])
        #expect(table.price(for: "gpt-4o-mini-2024-07-18") == Price(input: 1, output: 2), "the job's price, found by prefix")
        #expect(table.price(for: "gpt-4o-2024-08-06")?.input == 2.50, "the longest listed prefix: gpt-4o, not gpt-4o-mini")
        #expect(table.price(for: "claude-sonnet-4-20250514")?.output == 15)
        #expect(table.price(for: "my-own-model") == nil)
        #expect(PriceTable(includeBuiltIn: false).price(for: "gpt-4o") == nil)
    }

    @Test func cachedPromptTokensAreBilledAtTheCachedPrice() {
        let price = Price(input: 2, output: 8, cachedInput: 0.5)
        // 1,000 prompt tokens of which 400 cached, 100 completion tokens.
        let cost = price.cost(prompt: 1000, completion: 100, cached: 400)
        #expect(abs(cost - (600 * 2 + 400 * 0.5 + 100 * 8) / 1_000_000) < 1e-12)
        #expect(Price(input: 2, output: 8).cost(prompt: 1000, completion: 0, cached: 400) == 2000.0 / 1_000_000, "no cached price: the input price")
    }

    @Test func theSpendGuardRefusesWhatCouldPassTheCapAndSettlesToTheRealCost() throws {
        let prices = PriceTable(overrides: ["m": Price(input: 1000, output: 1000)], includeBuiltIn: false)
        // Each request's worst case: (100 + 100) tokens at $1 per thousand = $0.20.
        let guardian = SpendGuard(cap: 1.0, prices: prices, alreadySpent: 0.5)
        let first = try #require(guardian.reserve(model: "m", promptTokens: 100, maxCompletionTokens: 100))
        let second = try #require(guardian.reserve(model: "m", promptTokens: 100, maxCompletionTokens: 100))
        #expect(guardian.reserve(model: "m", promptTokens: 100, maxCompletionTokens: 100) == nil, "0.5 + 3 × 0.2 would pass 1.0")
        guardian.settle(first, actualCost: 0.05)
        #expect(abs(guardian.spent - 0.55) < 1e-12)
        #expect(guardian.reserve(model: "m", promptTokens: 100, maxCompletionTokens: 100) != nil, "the real cost freed room")
        guardian.settle(second, actualCost: nil)
        #expect(guardian.reserve(model: "unknown", promptTokens: 1, maxCompletionTokens: 1) == nil, "an unpriced model cannot be bounded")
        #expect(
            guardian.reserve(model: "m", promptTokens: 0, maxCompletionTokens: nil) == nil,
            "without max_tokens the worst case is \(SpendGuard.assumedCompletionTokens) tokens ($4.10 here)")
    }

    @Test func errorClassesFollowTheStatusAndTheTransportFailure() {
        #expect(ErrorClass.of(badLine: true, httpStatus: 500, errorCode: nil) == .input)
        #expect(ErrorClass.of(badLine: false, httpStatus: 429, errorCode: nil) == .rateLimit)
        #expect(ErrorClass.of(badLine: false, httpStatus: 503, errorCode: nil) == .server)
        #expect(ErrorClass.of(badLine: false, httpStatus: 401, errorCode: nil) == .auth)
        #expect(ErrorClass.of(badLine: false, httpStatus: 422, errorCode: nil) == .badRequest)
        #expect(ErrorClass.of(badLine: false, httpStatus: nil, errorCode: GatewayFailure.Kind.timeout.rawValue) == .timeout)
        #expect(ErrorClass.of(badLine: false, httpStatus: nil, errorCode: "connection_reset") == .network)
        #expect(ErrorClass.of(badLine: false, httpStatus: 200, errorCode: GatewayFailure.Kind.invalidResponse.rawValue) == .invalidOutput)
        #expect(Set(ErrorClass.allCases.filter(\.isTransient)) == [.rateLimit, .server, .timeout, .network, .invalidOutput])
    }

    @Test func theProgressLineShowsRatesEtaCostAndAnEstimatedTotalWhilePlanning() {
        let counters = RunCounters()
        counters.update {
            $0.planned = 500
            $0.planningFraction = 0.25
            $0.succeeded = 90
            $0.failed = 10
            $0.requestsSent = 120
            $0.inFlight = 7
            $0.concurrencyLimit = 16
            $0.cost = 0.5
        }
        let reporter = ProgressReporter(
            counters: counters, baseline: ItemCounts(), spentBefore: 1.25, plainInterval: 10, interactive: false
        ) { (3, "budget at zero") }
        let line = reporter.line()
        #expect(line.hasPrefix("sluice: 100/~2000 done (5.0%)"), "a quarter read with 500 planned: about 2,000 in all: \(line)")
        #expect(line.contains("ok 90 · failed 10"))
        #expect(line.contains("in flight 7"))
        #expect(line.contains("req/s") && line.contains("tok/s") && line.contains("ETA ") && line.contains("elapsed"))
        #expect(line.contains("$1.75"), "earlier runs' spend plus this run's: \(line)")
        #expect(line.contains("limit 16 · paused 3 s: budget at zero"))

        counters.update { $0.planningFraction = nil }
        #expect(reporter.line().hasPrefix("sluice: 100/500 done (20.0%)"), "planning done: the exact total")
    }

    @Test func theProgressLineShowsEnqueuedTokensAgainstTheLimit() {
        let counters = RunCounters()
        counters.update {
            $0.planned = 500
            $0.batchesOpen = 3
            $0.batchStatuses = "in_progress 2, validating 1"
            $0.itemsInBatches = 300
            $0.enqueuedTokens = 36_600
        }
        let reporter = ProgressReporter(counters: counters, baseline: ItemCounts(), spentBefore: 0, plainInterval: 10, interactive: false)
        #expect(reporter.line().contains("batches 3 (in_progress 2, validating 1; 300 items; 36.6k tokens enqueued)"), "no limit known yet: \(reporter.line())")
        counters.update { $0.enqueuedTokenLimit = 40_000 }
        #expect(reporter.line().contains("300 items; 36.6k/40.0k tokens enqueued)"), "\(reporter.line())")
    }

    @Test func durationsAndCountsAreShortAndReadable() {
        #expect(ProgressReporter.duration(42) == "42s")
        #expect(ProgressReporter.duration(185) == "3m05s")
        #expect(ProgressReporter.duration(7620) == "2h07m")
        #expect(ProgressReporter.compact(950) == "950")
        #expect(ProgressReporter.compact(12_345) == "12.3k")
        #expect(ProgressReporter.dollars(0.0123) == "$0.0123")
        #expect(ProgressReporter.dollars(12.3456) == "$12.35")
    }

    @Test func theHistoryAddsWhatChangedSinceTheLastWrite() {
        var before = RunStats()
        before.requestsSent = 10
        before.succeeded = 8
        before.errors = [.server: 2]
        var after = before
        after.requestsSent = 25
        after.succeeded = 20
        after.errors = [.server: 3, .rateLimit: 4]
        after.cost = 0.25
        after.concurrencyLimit = 12
        let entry = HistoryRecorder.delta(from: before, to: after, minute: 100)
        #expect(entry.requests == 15 && entry.succeeded == 12 && entry.cost == 0.25 && entry.concurrency == 12)
        #expect(entry.errors == ["server": 1, "rate_limit": 4])
        let merged = entry.adding(entry)
        #expect(merged.requests == 30 && merged.errors["rate_limit"] == 8)
    }

    @Test func answerContentIsFoundInEveryResponseShape() throws {
        func content(_ json: String) throws -> Any? {
            AnswerContent.content(of: try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]))
        }
        #expect(try content(#"{"choices":[{"message":{"role":"assistant","content":"hi"}}]}"#) as? String == "hi")
        #expect(try content(#"{"choices":[{"text":"completed"}]}"#) as? String == "completed")
        #expect(try content(#"{"data":[{"embedding":[0.5,0.25]}]}"#) as? [Double] == [0.5, 0.25])
        #expect(try content(#"{"output":[{"content":[{"type":"output_text","text":"from responses"}]}]}"#) as? String == "from responses")
        #expect(try content(#"{"object":"something else"}"#) == nil)
    }
}
