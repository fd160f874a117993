import Foundation

/// Works out a `JobStatus` from a checkpoint, reading every item's summary
/// once (pages of 10,000, no bodies), so it costs one pass over the job and
/// works while the job runs: the store is opened read-only and no lock is taken.
///
/// ```swift
/// let status = try await CheckpointStores.withStore(path, role: .reader) { try await JobStatusCollector(store: $0).collect() }
/// ```
package struct JobStatusCollector: Sendable {
    package static let pageSize = 10_000
    /// The span the finishing rate (and so the ETA) is measured over.
    package static let rateWindowSeconds = 300.0

    let store: any CheckpointStore
    /// Settings to read the job by; the checkpoint's own when nil.
    let configuration: JobConfiguration?
    /// Prices over the job's own (`--price` on the command line); nil for the job's.
    let prices: PriceTable?
    let now: Date

    package init(store: any CheckpointStore, configuration: JobConfiguration? = nil, prices: PriceTable? = nil, now: Date = Date()) {
        self.store = store
        self.configuration = configuration
        self.prices = prices
        self.now = now
    }

    /// Everything `status` shows, plus the items the report lists.
    package struct Collected: Sendable {
        package var status: JobStatus
        /// The slowest answered items, slowest first.
        package var slowest: [ItemSummary]
        /// Failed items, in input order (at most `failedLimit`).
        package var failed: [ItemSummary]
        /// Answer latencies in milliseconds, sorted (for the report's histogram).
        package var latencies: [Double]
    }

    package func collect() async throws -> JobStatus { try await collectAll().status }

    package func collectAll(slowestLimit: Int = 20, failedLimit: Int = 100) async throws -> Collected {
        let stored = try await JobConfiguration.stored(in: store)
        let settings = configuration ?? stored
        let prices = self.prices ?? settings?.priceTable ?? PriceTable()
        let counts = try await store.counts()
        let inputs = try await store.inputs()
        var pass = Pass(jobProperties: settings?.gateway.properties ?? [:], defaultModel: settings?.model, prices: prices)
        var after: Int64 = 0
        while true {
            let page = try await store.summaries(after: after, limit: Self.pageSize)
            for item in page { pass.add(item, slowestLimit: slowestLimit, failedLimit: failedLimit) }
            guard let last = page.last, page.count == Self.pageSize else { break }
            after = last.id
        }

        let pid = store.location.contains("://") ? nil : JobLock.holder(checkpointPath: store.location)
        let cancelled = !(try await store.value(forKey: CancelWatcher.key) ?? "").isEmpty
        let planningComplete = !inputs.isEmpty && inputs.allSatisfy(\.planningComplete)
        let state: String
        if pid != nil {
            state = "running"
        } else if counts.pending + counts.inFlight == 0 && planningComplete {
            state = "finished"
        } else {
            state = cancelled ? "cancelled" : "stopped"
        }

        var status = JobStatus(
            job: settings?.name ?? (store.location as NSString).lastPathComponent, checkpoint: store.location, state: state, pid: pid,
            items: .init(
                total: counts.total, pending: counts.pending, inFlight: counts.inFlight, succeeded: counts.succeeded,
                failed: counts.failed, badInput: counts.invalidInput),
            progress: .init(
                done: counts.finished, total: counts.total, fraction: counts.total > 0 ? Double(counts.finished) / Double(counts.total) : 0,
                planningComplete: planningComplete),
            tokens: .init(prompt: pass.promptTokens, completion: pass.completionTokens, cachedPrompt: pass.cachedTokens),
            cost: pass.cost(), latencyMS: pass.latency(),
            requests: .init(attempts: counts.attempts, retries: counts.retries, fallbacks: pass.fallbackItems),
            answeredBy: pass.answeredBy(),
            cache: .init(
                hits: pass.cacheHits, hitRate: counts.succeeded > 0 ? Double(pass.cacheHits) / Double(counts.succeeded) : 0,
                deduplicated: pass.deduplicated, reused: pass.reused),
            errors: pass.errorGroups(), properties: pass.propertyUsage(),
            firstFinishedAt: pass.firstFinished.map(Self.iso8601), lastFinishedAt: pass.lastFinished.map(Self.iso8601))
        if let rate = pass.finishingRate(endingAt: state == "running" ? now.timeIntervalSince1970 : pass.lastFinished) {
            status.progress.itemsPerSecond = rate
            let remaining = counts.pending + counts.inFlight
            if state == "running", rate > 0 { status.progress.etaSeconds = Double(remaining) / rate }
        }
        status.streaming = pass.streaming()
        if let queue = try await store.value(forKey: BatchQueue.key) {
            status.batchQueue = try? JSONDecoder().decode(BatchQueue.self, from: Data(queue.utf8))
        }
        let batches = try await store.batches(openOnly: false)
        if !batches.isEmpty {
            let lineStates = try await store.batchLineStates()
            status.batches = batches.map { BatchStatus($0, lineStates: lineStates[$0.row] ?? [:]) }
        }
        status.roundMoney()
        return Collected(status: status, slowest: pass.slowest, failed: pass.failed, latencies: pass.latencies.sorted())
    }

    /// Nearest rank: the smallest value with at least p of the values at or below it.
    static func percentile(_ p: Double, ofSorted sorted: [Double]) -> Double? {
        sorted.isEmpty ? nil : sorted[max(Int((p * Double(sorted.count)).rounded(.up)) - 1, 0)]
    }

    static func iso8601(_ seconds: Double) -> String {
        ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: seconds))
    }

    /// The running totals of one pass over the items.
    private struct Pass {
        let jobProperties: [String: String]
        let defaultModel: String?
        let prices: PriceTable
        var promptTokens = 0
        var completionTokens = 0
        var cachedTokens = 0
        var fallbackItems = 0
        var cacheHits = 0
        var deduplicated = 0
        var reused = 0
        var batchItems = 0
        var batchSavings = 0.0
        var latencies: [Double] = []
        var firstTokens: [Double] = []
        var tokensPerSecond: [Double] = []
        var byModel: [String: JobStatus.ModelCost] = [:]
        var answered: [String: JobStatus.ModelCount] = [:]
        var errors: [ErrorClass: JobStatus.ErrorGroup] = [:]
        var properties: [String: JobStatus.PropertyUsage] = [:]
        var finishedTimes: [Double] = []
        var firstFinished: Double?
        var lastFinished: Double?
        var slowest: [ItemSummary] = []
        var failed: [ItemSummary] = []

        init(jobProperties: [String: String], defaultModel: String?, prices: PriceTable) {
            self.jobProperties = jobProperties
            self.defaultModel = defaultModel
            self.prices = prices
        }

        mutating func add(_ item: ItemSummary, slowestLimit: Int, failedLimit: Int) {
            promptTokens += item.promptTokens
            completionTokens += item.completionTokens
            cachedTokens += item.cachedTokens
            if item.cacheHit { cacheHits += 1 }
            let batched = item.answerSource?.hasPrefix("batch:") == true
            if let source = item.answerSource, !batched { if source.hasPrefix("reuse:") { reused += 1 } else { deduplicated += 1 } }
            var cost = 0.0
            if let model = item.answeredModel {
                let liveCost = prices.cost(model: model, prompt: item.promptTokens, completion: item.completionTokens, cached: item.cachedTokens)
                // A provider batch's answer is billed at the model's batch share of the live price.
                let itemCost = batched ? liveCost.map { $0 * prices.batchShare(for: model) } : liveCost
                if batched {
                    batchItems += 1
                    batchSavings += (liveCost ?? 0) - (itemCost ?? 0)
                }
                cost = itemCost ?? 0
                var usage = byModel[model] ?? .init(model: model, items: 0, promptTokens: 0, completionTokens: 0, cachedTokens: 0, costUSD: nil)
                usage.items += 1
                usage.promptTokens += item.promptTokens
                usage.completionTokens += item.completionTokens
                usage.cachedTokens += item.cachedTokens
                if let itemCost { usage.costUSD = (usage.costUSD ?? 0) + itemCost }
                byModel[model] = usage
                if item.state == .succeeded {
                    let requested = item.requestedModel ?? defaultModel
                    let asFallback = item.fallbacksUsed > 0 || requested.map { !model.lowercased().hasPrefix($0.lowercased()) } ?? false
                    if asFallback { fallbackItems += 1 }
                    answered[model, default: .init(model: model, items: 0, asFallback: 0)].items += 1
                    if asFallback { answered[model]?.asFallback += 1 }
                }
            }
            if let latency = item.latencyMilliseconds {
                latencies.append(latency)
                keepSlowest(item, limit: slowestLimit)
            }
            if let firstToken = item.firstTokenMilliseconds {
                firstTokens.append(firstToken)
                // Under a millisecond of generation is one network read, not a speed.
                if let latency = item.latencyMilliseconds, item.completionTokens > 0, latency - firstToken >= 1 {
                    tokensPerSecond.append(Double(item.completionTokens) / ((latency - firstToken) / 1000))
                }
            }
            if let finished = item.finishedAt {
                finishedTimes.append(finished)
                firstFinished = min(firstFinished ?? finished, finished)
                lastFinished = max(lastFinished ?? finished, finished)
            }
            if let errorClass = item.errorClass {
                if errors[errorClass] == nil {
                    let message = String((item.errorMessage ?? item.errorCode ?? "").prefix(300))
                    errors[errorClass] = .init(errorClass: errorClass.rawValue, count: 0, sample: message, sampleItem: item.customID)
                }
                errors[errorClass]?.count += 1
                if failed.count < failedLimit { failed.append(item) }
            }
            var itemProperties = jobProperties
            if let own = item.overrides?.properties { itemProperties.merge(own) { _, line in line } }
            for (name, value) in itemProperties {
                let key = name + "\u{0}" + value
                var usage = properties[key] ?? .init(name: name, value: value)
                usage.items += 1
                if item.state == .succeeded { usage.succeeded += 1 }
                if item.state == .failed { usage.failed += 1 }
                usage.promptTokens += item.promptTokens
                usage.completionTokens += item.completionTokens
                usage.costUSD += cost
                properties[key] = usage
            }
        }

        private mutating func keepSlowest(_ item: ItemSummary, limit: Int) {
            guard limit > 0, let latency = item.latencyMilliseconds else { return }
            if slowest.count == limit, let fastest = slowest.last?.latencyMilliseconds, latency <= fastest { return }
            let index = slowest.firstIndex { ($0.latencyMilliseconds ?? 0) < latency } ?? slowest.count
            slowest.insert(item, at: index)
            if slowest.count > limit { slowest.removeLast() }
        }

        func cost() -> JobStatus.Cost {
            let models = byModel.values.sorted { ($0.costUSD ?? -1, $0.items) > ($1.costUSD ?? -1, $1.items) }
            return .init(
                totalUSD: models.compactMap(\.costUSD).reduce(0, +),
                unpricedModels: models.filter { $0.costUSD == nil && $0.promptTokens + $0.completionTokens > 0 }.map(\.model).sorted(),
                byModel: models, batchItems: batchItems, batchSavingsUSD: batchSavings)
        }

        func latency() -> JobStatus.Latency {
            guard !latencies.isEmpty else { return .init() }
            let sorted = latencies.sorted()
            func percentile(_ p: Double) -> Double? { JobStatusCollector.percentile(p, ofSorted: sorted) }
            return .init(count: sorted.count, p50: percentile(0.50), p90: percentile(0.90), p99: percentile(0.99), max: sorted.last)
        }

        func streaming() -> JobStatus.Streaming {
            let sorted = firstTokens.sorted()
            let speeds = tokensPerSecond.sorted()
            return .init(
                count: sorted.count, firstTokenP50: JobStatusCollector.percentile(0.50, ofSorted: sorted),
                firstTokenP90: JobStatusCollector.percentile(0.90, ofSorted: sorted),
                tokensPerSecondP50: JobStatusCollector.percentile(0.50, ofSorted: speeds))
        }

        func answeredBy() -> [JobStatus.ModelCount] {
            answered.values.sorted { ($0.items, $1.model) > ($1.items, $0.model) }
        }

        func errorGroups() -> [JobStatus.ErrorGroup] {
            errors.sorted { ($0.value.count, $1.key) > ($1.value.count, $0.key) }.map(\.value)
        }

        func propertyUsage() -> [JobStatus.PropertyUsage] {
            properties.values.sorted { ($0.name, $1.items, $0.value) < ($1.name, $0.items, $1.value) }
        }

        /// Items finished per second over the `rateWindowSeconds` before `end`
        /// (or since the first finished, when the job is younger than that).
        func finishingRate(endingAt end: Double?) -> Double? {
            guard let end, let first = firstFinished else { return nil }
            let start = max(end - JobStatusCollector.rateWindowSeconds, first)
            let inWindow = finishedTimes.lazy.filter { $0 >= start && $0 <= end }.count
            let span = end - start
            // Under a few items or a blink of time, a rate means nothing.
            guard span >= 0.05, inWindow >= 2 else { return nil }
            return Double(inWindow) / span
        }
    }
}

extension JobStatus {
    /// Dollars to a billionth: sums of many small floating-point costs otherwise print as 0.0007271999999999992.
    mutating func roundMoney() {
        func round(_ value: Double) -> Double { (value * 1e9).rounded() / 1e9 }
        cost.totalUSD = round(cost.totalUSD)
        cost.batchSavingsUSD = round(cost.batchSavingsUSD)
        for index in cost.byModel.indices { cost.byModel[index].costUSD = cost.byModel[index].costUSD.map(round) }
        for index in properties.indices { properties[index].costUSD = round(properties[index].costUSD) }
    }
}
