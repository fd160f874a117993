import Foundation

/// `sluice validate` and `run --dry-run`: reads every line of a job's inputs
/// with the planner's own parser, sends nothing and writes no checkpoint, and
/// says what a run would send and roughly what it would cost.
///
/// Prompt tokens are estimated as a request body's bytes / 4 (the usual rule
/// of thumb for English and JSON; no tokenizer ships with sluice). Completion
/// tokens are unknowable before the answer, so the cost is a range: the low end
/// assumes `assumedCompletionTokens` per answer (or the line's `max_tokens`
/// when smaller), the high end every answer's `max_tokens` (the assumption
/// where a line sets none).
///
/// ```swift
/// let report = try await JobValidator(configuration: config).validate()
/// print(report.text())
/// ```
package struct JobValidator: Sendable {
    package static let defaultAssumedCompletionTokens = 256
    /// Problems listed in full; the rest are counted.
    package static let problemsListed = 50

    let configuration: JobConfiguration
    let assumedCompletionTokens: Int

    package init(configuration: JobConfiguration, assumedCompletionTokens: Int = Self.defaultAssumedCompletionTokens) {
        self.configuration = configuration
        self.assumedCompletionTokens = assumedCompletionTokens
    }

    package struct ModelEstimate: Sendable, Equatable {
        package var model: String
        package var lines = 0
        package var promptTokens = 0
        /// Completion tokens at the low and the high end of the range.
        package var completionLow = 0
        package var completionHigh = 0
        /// Nil when the model has no price.
        package var costLow: Double?
        package var costHigh: Double?
    }

    package struct Report: Sendable {
        package var inputs: [String]
        package var linesRead = 0
        package var valid = 0
        package var seconds = 0.0
        package var shapes: [LineShape: Int] = [:]
        package var endpoints: [String: Int] = [:]
        package var models: [ModelEstimate] = []
        /// Lines that set `max_tokens` (or `max_completion_tokens` / `max_output_tokens`).
        package var linesWithMaxTokens = 0
        package var assumedCompletionTokens: Int
        package var problemCount = 0
        /// The first `problemsListed` problems, each `file:line: reason`.
        package var problems: [String] = []
        /// Read errors that ended a file early (a truncated gzip stream).
        package var inputErrors: [String] = []
        package var fallbacks: [String] = []

        package var promptTokens: Int { models.reduce(0) { $0 + $1.promptTokens } }
        package var costLow: Double { models.compactMap(\.costLow).reduce(0, +) }
        package var costHigh: Double { models.compactMap(\.costHigh).reduce(0, +) }
        package var unpricedModels: [String] { models.filter { $0.costLow == nil }.map(\.model) }
        package var isClean: Bool { problemCount == 0 && inputErrors.isEmpty }
    }

    package func validate() async throws -> Report {
        let started = ContinuousClock.now
        let parser = try configuration.itemParser()
        var report = Report(inputs: configuration.inputs, assumedCompletionTokens: assumedCompletionTokens)
        report.fallbacks = configuration.gateway.fallback
        var models: [String: ModelEstimate] = [:]
        let prices = configuration.priceTable
        let reader = InputReader(parser: parser)
        do {
            try await read(with: reader, into: &report, models: &models)
        } catch {
            await reader.close()
            throw error
        }
        await reader.close()
        report.models = models.values.map { estimate in
            var priced = estimate
            priced.costLow = prices.cost(model: estimate.model, prompt: estimate.promptTokens, completion: estimate.completionLow)
            priced.costHigh = prices.cost(model: estimate.model, prompt: estimate.promptTokens, completion: estimate.completionHigh)
            return priced
        }.sorted { ($0.lines, $1.model) > ($1.lines, $0.model) }
        report.seconds = (ContinuousClock.now - started).inSeconds
        return report
    }

    /// Where a custom_id was seen: its digest, then its place (file << 48 | line), for finding
    /// duplicates by sorting once at the end instead of hashing every line into a set.
    private struct Sighting: Comparable {
        var digest: UInt64
        var place: UInt64
        /// Which tallies the line went to (shape, endpoint, model), to take a duplicate back out of them.
        var shape: UInt8
        var endpoint: UInt8
        var model: UInt16
        static func < (lhs: Sighting, rhs: Sighting) -> Bool { (lhs.digest, lhs.place) < (rhs.digest, rhs.place) }
    }

    /// The per-line tallies, kept in arrays rather than dictionaries: a job has a handful of
    /// models and endpoints, and hashing a string per line was a third of the time.
    private struct Tally {
        var estimates: [ModelEstimate] = []
        var endpoints: [(name: String, count: Int)] = []
        var shapes = [Int](repeating: 0, count: LineShape.allCases.count)

        mutating func estimateIndex(_ model: String) -> Int {
            if let index = estimates.lastIndex(where: { $0.model == model }) { return index }
            estimates.append(ModelEstimate(model: model))
            return estimates.count - 1
        }

        mutating func countEndpoint(_ endpoint: String) -> Int {
            if let index = endpoints.firstIndex(where: { $0.name == endpoint }) {
                endpoints[index].count += 1
                return index
            }
            endpoints.append((endpoint, 1))
            return endpoints.count - 1
        }
    }

    private func read(with reader: InputReader, into report: inout Report, models: inout [String: ModelEstimate]) async throws {
        var sightings: [Sighting] = []
        var problems: [(place: UInt64, message: String)] = []
        var tally = Tally()
        for (index, path) in configuration.inputs.enumerated() {
            let size = try Self.size(of: path)
            if size == 0 {
                report.inputErrors.append("\(path): the input is empty (no lines to send)")
                continue
            }
            sightings.reserveCapacity(sightings.count + Int(size / 48))
            try await reader.open(
                InputRecord(
                    fileIndex: index, path: path, fingerprint: InputFingerprint(size: size, checksum: 0), plannedLines: 0, planningComplete: false,
                    planningError: nil))
            // The reader parses the next batch on its thread while this one is tallied.
            var pending = Task { try await reader.nextBatch(limit: 5000) }
            while let batch = try await pending.value {
                if !batch.ended { pending = Task { try await reader.nextBatch(limit: 5000) } }
                for item in batch.items {
                    let place = UInt64(index) << 48 | UInt64(item.line)
                    if let problem = item.problem {
                        report.problemCount += 1
                        if problems.count < JobValidator.problemsListed { problems.append((place, problem.message)) }
                        continue
                    }
                    report.valid += 1
                    let shape = item.shape.flatMap { LineShape.allCases.firstIndex(of: $0) } ?? 0
                    tally.shapes[shape] += 1
                    let endpoint = tally.countEndpoint(item.endpoint)
                    let estimateIndex = tally.estimateIndex(item.model ?? configuration.model ?? "?")
                    sightings.append(
                        Sighting(
                            digest: Digest64.of(item.customID.utf8), place: place, shape: UInt8(shape), endpoint: UInt8(truncatingIfNeeded: endpoint),
                            model: UInt16(truncatingIfNeeded: estimateIndex)))
                    tally.estimates[estimateIndex].lines += 1
                    tally.estimates[estimateIndex].promptTokens += Self.promptTokens(bodyBytes: item.body.count)
                    let maxTokens = RequestBuilder.maxCompletionTokens(in: item.body)
                    if maxTokens != nil { report.linesWithMaxTokens += 1 }
                    tally.estimates[estimateIndex].completionLow += min(maxTokens ?? assumedCompletionTokens, assumedCompletionTokens)
                    tally.estimates[estimateIndex].completionHigh += maxTokens ?? assumedCompletionTokens
                }
                if let error = batch.error { report.inputErrors.append(error) }
                if batch.ended {
                    report.linesRead += batch.lastLine
                    break
                }
            }
        }
        // A repeated custom_id is a problem of the later line; the first one stays valid. Its
        // prompt tokens stay in the estimate (duplicates are rare, and it is an estimate).
        sightings.sort()
        var duplicates: [(place: UInt64, message: String)] = []
        var runStart = 0
        for position in sightings.indices.dropFirst() {
            guard sightings[position].digest == sightings[position - 1].digest else {
                runStart = position
                continue
            }
            let later = sightings[position]
            report.valid -= 1
            report.problemCount += 1
            tally.shapes[Int(later.shape)] -= 1
            tally.endpoints[Int(later.endpoint)].count -= 1
            tally.estimates[Int(later.model)].lines -= 1
            if duplicates.count < JobValidator.problemsListed {
                duplicates.append((later.place, "the custom_id of line \(describe(sightings[runStart].place)) is used again"))
            }
        }
        let listed = (problems + duplicates.map { ($0.place, "\(describe($0.place)): \($0.message)") }).sorted { $0.place < $1.place }
        report.problems = listed.prefix(JobValidator.problemsListed).map(\.message)
        report.shapes = Dictionary(uniqueKeysWithValues: zip(LineShape.allCases, tally.shapes).filter { $0.1 > 0 })
        report.endpoints = Dictionary(uniqueKeysWithValues: tally.endpoints.filter { $0.count > 0 }.map { ($0.name, $0.count) })
        for estimate in tally.estimates where estimate.lines > 0 { models[estimate.model] = estimate }
    }

    private func describe(_ place: UInt64) -> String {
        "\(configuration.inputs[Int(place >> 48)]):\(place & 0xFFFF_FFFF_FFFF)"
    }

    /// The usual rule of thumb: about four bytes of English or JSON per token.
    static func promptTokens(bodyBytes: Int) -> Int { (bodyBytes + 3) / 4 }

    private static func size(of path: String) throws -> Int64 {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path), let size = attributes[.size] as? NSNumber else {
            throw SluiceError(.input, "\(path): cannot read the input (no such file, or no permission)")
        }
        return size.int64Value
    }
}

extension JobValidator.Report {
    package func text() -> String {
        var lines: [String] = []
        let rate = Double(linesRead) / Swift.max(seconds, 0.001)
        lines.append(
            "sluice validate: \(inputs.count) input\(inputs.count == 1 ? "" : "s"), \(linesRead) lines read in \(String(format: "%.2f", seconds)) s "
                + "(\(ProgressReporter.compact(rate)) lines/s); nothing was sent")
        lines.append("lines      \(valid) requests · \(problemCount) problem\(problemCount == 1 ? "" : "s") · \(linesRead - valid - problemCount) blank")
        lines.append("shapes     " + LineShape.allCases.compactMap { shape in shapes[shape].map { "\(shape.rawValue) \($0)" } }.joined(separator: " · "))
        lines.append("endpoints  " + endpoints.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: " · "))
        lines.append(
            "models     " + models.map { "\($0.model) \($0.lines)" }.joined(separator: " · ")
                + (fallbacks.isEmpty ? "" : " (fallback: \(fallbacks.joined(separator: ", ")))"))
        lines.append(
            "tokens     ~\(promptTokens) prompt (estimated as request bytes / 4) · completion: \(linesWithMaxTokens) of \(valid) lines set max_tokens, "
                + "the others are assumed to take \(assumedCompletionTokens)")
        if valid > 0 {
            var cost =
                "cost       ~\(ProgressReporter.dollars(costLow)) to ~\(ProgressReporter.dollars(costHigh)) at the job's prices "
                + "(low: \(assumedCompletionTokens) completion tokens an answer, or max_tokens if smaller; high: every answer reaching max_tokens)"
            if !unpricedModels.isEmpty { cost += " · no price for \(unpricedModels.joined(separator: ", ")) (give one with --price MODEL=IN,OUT)" }
            lines.append(cost)
        }
        for error in inputErrors { lines.append("input      \(error)") }
        if !problems.isEmpty {
            lines.append("problems")
            lines += problems.map { "  \($0)" }
            if problemCount > problems.count { lines.append("  ... and \(problemCount - problems.count) more") }
        }
        return lines.joined(separator: "\n")
    }
}
