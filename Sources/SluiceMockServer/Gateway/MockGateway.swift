import Foundation
import NIOConcurrencyHelpers

/// The gateway's behaviour: routing, auth, faults, rate limits, fallback, cache.
///
/// Pure decision logic with no networking, so the HTTP handler stays small and
/// every rule can be read in one place. Thread-safe: one instance serves every
/// event loop.
///
/// ```swift
/// let gateway = MockGateway(configuration: config)
/// let reply = gateway.handle(MockRequest(method: "GET", path: "/health", headers: [], body: []))
/// ```
public final class MockGateway: Sendable {
    public let configuration: MockConfiguration
    private let state: NIOLockedValueBox<State>
    private let startTime = Date()
    /// Files and batches (`/v1/files`, `/v1/batches`).
    let batches: MockBatches
    /// Connections and HTTP/2 streams, now and at their peak.
    public let connections = ConnectionTally()

    struct State {
        var stats = MockStats()
        var cache: Set<Digest> = []
        var requestWindow: RateWindow?
        var tokenWindow: RateWindow?
        var bodyCounts: [Digest: Int] = [:]
        /// Requests admitted under `--max-inflight` and not yet answered.
        var inflight = 0
        /// Draws `--capacity-release-ms`, apart from the per-body draws so that the faults stay reproducible.
        var releaseRandom = SplitMix64(seed: 0x5EED)
        /// Successful answers, counted against `--quota`.
        var answered = 0
        /// Every inference request as it arrived, for `/stats/timeline`.
        var timeline: [TimelineEntry] = []
        /// `--record-requests`: the last requests as sent, for `/stats/requests`.
        var requests = RequestLog(capacity: 0)

        mutating func note(_ entry: TimelineEntry, recordTimeline: Bool) {
            if entry.status > 0 { stats.statusCounts[entry.status, default: 0] += 1 }
            if recordTimeline, timeline.count < 1_000_000 { timeline.append(entry) }
        }
    }

    public init(configuration: MockConfiguration) {
        self.configuration = configuration
        var initial = State()
        initial.requestWindow = configuration.requestsPerMinute.map { RateWindow(limit: $0, window: configuration.rateWindowSeconds) }
        initial.tokenWindow = configuration.tokensPerMinute.map { RateWindow(limit: $0, window: configuration.rateWindowSeconds) }
        initial.requests = RequestLog(capacity: configuration.recordRequests)
        state = NIOLockedValueBox(initial)
        batches = MockBatches(configuration: configuration)
    }

    private var now: Double { Date().timeIntervalSince(startTime) }

    public func handle(_ request: MockRequest) -> MockReply {
        let path = request.path.hasPrefix("/v1/") ? String(request.path.dropFirst(3)) : request.path
        switch (request.method, path) {
        case ("GET", "/health"):
            return immediate(.json(200, #"{"status":"ok"}"#))
        case ("GET", "/models"):
            return immediate(.json(200, #"{"object":"list","data":[{"id":"mock-model","object":"model","owned_by":"sluice-mock"}]}"#))
        case ("GET", "/stats"):
            let byStatus = batches.statusCounts { change in state.withLockedValue { change(&$0.stats) } }
            let body = state.withLockedValue { $0.stats.json(batchesByStatus: byStatus, connections: connections.json) }
            return immediate(MockResponse(status: 200, headers: [("content-type", "application/json")], body: body))
        case ("GET", "/stats/timeline"):
            let text = state.withLockedValue { state in "[" + state.timeline.map(\.json).joined(separator: ",") + "]" }
            return immediate(.json(200, text))
        case ("GET", "/stats/requests"):
            let body = state.withLockedValue { $0.requests.json() }
            return immediate(MockResponse(status: 200, headers: [("content-type", "application/json")], body: body))
        case ("POST", "/stats/reset"):
            state.withLockedValue {
                $0.stats = MockStats()
                $0.cache = []
                $0.bodyCounts = [:]
                $0.timeline = []
                $0.requests.reset()
                $0.answered = 0
            }
            connections.resetPeaks()
            return immediate(.json(200, #"{"reset":true}"#))
        case ("POST", "/chat/completions"), ("POST", "/embeddings"), ("POST", "/responses"), ("POST", "/completions"):
            var reply = inference(request, embeddings: path == "/embeddings")
            if reply.holdsCapacity, configuration.capacityReleaseMilliseconds != .none {
                reply.releaseDelayMilliseconds = state.withLockedValue { configuration.capacityReleaseMilliseconds.sample(using: &$0.releaseRandom) }
            }
            return reply
        case _ where MockBatches.handles(path):
            return immediate(batches.handle(request, path: path) { change in state.withLockedValue { change(&$0.stats) } })
        default:
            state.withLockedValue { $0.stats.paths[request.path, default: 0] += 1 }
            return immediate(.floopyError(404, code: "NOT_FOUND", message: "no route for \(request.method) \(request.path)"))
        }
    }

    private func immediate(_ response: MockResponse) -> MockReply {
        MockReply(action: .respond(response), delayMilliseconds: 0)
    }

    // MARK: - Inference endpoints

    private func inference(_ request: MockRequest, embeddings: Bool) -> MockReply {
        let digest = Digest(of: request.body)
        let attempt = state.withLockedValue { state -> Int in
            state.stats.totalRequests += 1
            state.stats.paths[request.path, default: 0] += 1
            state.stats.record(headers: request.headers)
            state.requests.record(request)
            state.bodyCounts[digest, default: 0] += 1
            if configuration.countBodies { state.stats.bodies[digest, default: 0] += 1 }
            return state.bodyCounts[digest]!
        }
        let requestID = "req_\(digest)_\(attempt)"
        var rng = SplitMix64(seed: configuration.seed ^ digest.value ^ (UInt64(attempt) &* 0x9E37_79B9_7F4A_7C15))
        let delay = configuration.latency.sample(using: &rng)
        let common: [(String, String)] = [("x-request-id", requestID)]

        let arrival = now
        var holdsCapacity = false
        func reply(_ action: MockAction, status: Int?, fault: String? = nil) -> MockReply {
            state.withLockedValue { state in
                var entry = TimelineEntry(time: arrival, status: status ?? 0, body: digest)
                switch action {
                case .drop: entry.status = -1
                case .stall: entry.status = -2
                case .respond(let response):
                    // LiteLLM's renamed upstream wait counts too: the timeline shows what the client was asked.
                    entry.retryAfter = response.headers.first { $0.0 == "retry-after" || $0.0 == "llm_provider-retry-after" }.flatMap { Double($0.1) }
                case .stream: break
                }
                state.note(entry, recordTimeline: configuration.recordTimeline)
                if let fault { state.stats.faults[fault, default: 0] += 1 }
            }
            return MockReply(action: action, delayMilliseconds: delay, holdsCapacity: holdsCapacity)
        }
        func error(_ status: Int, _ code: String, _ message: String, _ extra: [(String, String)] = [], fault: String? = nil) -> MockReply {
            var message = message
            if configuration.echoCredentials, let echo = CredentialEcho(request.headers) {
                message += " (presented: \(echo.text))"
                state.withLockedValue { echo.record(at: "live_error", in: &$0.stats) }
            }
            return reply(.respond(.floopyError(status, code: code, message: message, headers: common + extra)), status: status, fault: fault)
        }

        if let expected = configuration.apiKey, request.header("authorization") != "Bearer \(expected)" {
            // Some gateways echo what they refused; --echo-key-in-errors does, so tests can prove sluice scrubs it.
            let presented = configuration.echoKeyInErrors ? ": " + (request.header("authorization") ?? "none") : ""
            return error(401, "INVALID_API_KEY", "Invalid or missing API key\(presented)")
        }
        if let capacity = configuration.maxInflight {
            let admitted = state.withLockedValue { state -> Bool in
                guard state.inflight < capacity else { return false }
                state.inflight += 1
                return true
            }
            guard admitted else {
                // No rate-limit headers; a Retry-After only with --capacity-retry-after (LiteLLM sends the next minute).
                return error(
                    429, "RATE_LIMIT_EXCEEDED", "too many requests in flight (more than \(capacity))",
                    capacityRetryAfter().map { [$0] } ?? [], fault: "capacity")
            }
            holdsCapacity = true
        }
        if let quota = configuration.quota, state.withLockedValue({ $0.answered >= quota }) {
            return reply(
                .respond(
                    .json(
                        429,
                        #"{"error":{"message":"You exceeded your current quota, please check your plan and billing details.","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#,
                        headers: common)), status: 429, fault: "quota")
        }
        guard let body = (try? JSONSerialization.jsonObject(with: Data(request.body))) as? [String: Any] else {
            return error(400, "BAD_REQUEST", "request body is not a JSON object")
        }
        state.withLockedValue { $0.stats.record(body: body) }
        // Injected faults, restricted to the first K attempts of a body when asked.
        let faults = configuration.faults
        if faults.failFirst.map({ attempt <= $0 }) ?? true {
            if rng.nextUnit() < faults.pDrop { return reply(.drop, status: nil, fault: "drop") }
            if rng.nextUnit() < faults.pStall { return reply(.stall, status: nil, fault: "stall") }
            if rng.nextUnit() < faults.p429 {
                return error(
                    429, "RATE_LIMIT_EXCEEDED", "injected rate limit",
                    configuration.profileEcho.upstreamHeaders([retryAfterHeader(faults.retryAfterSeconds, faults.retryAfterFormat)]), fault: "429")
            }
            if rng.nextUnit() < faults.p500 { return error(500, "INTERNAL_ERROR", "injected server error", fault: "500") }
            if rng.nextUnit() < faults.p502 { return error(502, "PROVIDER_ERROR", "injected provider error", fault: "502") }
            if rng.nextUnit() < faults.p503 { return error(503, "SERVICE_UNAVAILABLE", "injected unavailability", fault: "503") }
            if rng.nextUnit() < faults.p400 { return error(400, "BAD_REQUEST", "injected bad request", fault: "400") }
            if rng.nextUnit() < faults.p403 { return error(403, "FORBIDDEN", "this key may not use this model", fault: "403") }
            if rng.nextUnit() < faults.pMalformed {
                let broken = MockResponse(
                    status: 200, headers: [("content-type", "application/json")] + common,
                    body: Array(#"{"id":"chatcmpl-broken","object":"chat.comp"#.utf8))
                return reply(.respond(broken), status: 200, fault: "malformed")
            }
        }

        // Fallback: the body's model may be a comma-separated chain; floopy-fallback adds more.
        let requested = (body["model"] as? String) ?? "mock-model"
        if configuration.missingModels.contains(requested) {
            return reply(
                .respond(
                    .json(
                        404,
                        #"{"error":{"message":"The model `\#(requested)` does not exist or you do not have access to it.","type":"invalid_request_error","param":null,"code":"model_not_found"}}"#,
                        headers: common)), status: 404, fault: "missing_model")
        }
        var chain = Self.modelList(requested)
        if !configuration.gatewayFallback { chain = Array(chain.prefix(1)) }
        if configuration.gatewayFallback, let fallback = request.header("floopy-fallback") { chain += Self.modelList(fallback) }
        if configuration.gatewayFallback, let fallbacks = body["fallbacks"] as? [String] { chain += fallbacks }
        guard let model = chain.first(where: { !configuration.failingModels.contains($0) }) else {
            state.withLockedValue { $0.stats.modelsRequested[chain.first ?? requested, default: 0] += 1 }
            return error(502, "PROVIDER_ERROR", "every provider failed for model \(requested)")
        }

        let breaksJSON = (faults.failFirst.map { attempt <= $0 } ?? true) && rng.nextUnit() < faults.pInvalidJSON
        if breaksJSON { state.withLockedValue { $0.stats.faults["invalid_json", default: 0] += 1 } }
        let answer = CompletionFactory.answer(for: body, digest: digest, breakingJSON: breaksJSON)
        var limitHeaders: [(String, String)] = []
        if configuration.requestsPerMinute != nil || configuration.tokensPerMinute != nil {
            switch admit(tokens: answer.promptTokens + answer.completionTokens) {
            case .limited(let wait, let headers):
                state.withLockedValue { $0.stats.modelsRequested[chain.first ?? requested, default: 0] += 1 }
                return error(429, "RATE_LIMIT_EXCEEDED", "rate limit exceeded", [("retry-after", retryAfterText(wait))] + headers)
            case .admitted(let headers):
                limitHeaders = headers
            }
        }

        let (cacheWanted, semanticCache) = ProfileEcho.cacheRequest(request, body: body)
        let wantsStream = (body["stream"] as? Bool) == true
        // One lock for all the bookkeeping of a successful answer.
        let cacheHit = state.withLockedValue { state -> Bool in
            let hit = cacheWanted && !state.cache.insert(digest).inserted
            state.stats.modelsRequested[chain.first ?? requested, default: 0] += 1
            state.stats.modelsAnswered[model, default: 0] += 1
            state.note(TimelineEntry(time: arrival, status: 200, body: digest), recordTimeline: configuration.recordTimeline)
            state.answered += 1
            if hit { state.stats.cacheHits += 1 }
            let includeUsage = ((body["stream_options"] as? [String: Any])?["include_usage"] as? Bool) == true
            if !embeddings && (wantsStream ? includeUsage : !hit) {
                state.stats.record(usage: answer.promptTokens, answer.completionTokens, headers: request.headers)
            }
            return hit
        }
        let provider = model.hasPrefix("claude") ? "anthropic" : (model.hasPrefix("gemini") ? "google" : "openai")
        let headers =
            common + limitHeaders
            + configuration.profileEcho.answerHeaders(
                request: request, requestID: requestID, model: model, provider: provider, cacheWanted: cacheWanted, hit: cacheHit,
                semantic: semanticCache)

        let created = 1_700_000_000 + Int(digest.value % 100_000_000)
        if embeddings {
            let text = CompletionFactory.embeddings(for: body, model: model, dimensions: configuration.embeddingDimensions)
            return MockReply(action: .respond(.json(200, text, headers: headers)), delayMilliseconds: delay, holdsCapacity: holdsCapacity)
        }
        let id = "chatcmpl-\(digest)"
        if wantsStream {
            let includeUsage = ((body["stream_options"] as? [String: Any])?["include_usage"] as? Bool) == true
            let events = CompletionFactory.streamEvents(id: id, model: model, created: created, answer: answer, includeUsage: includeUsage)
            let cut = (faults.failFirst.map { attempt <= $0 } ?? true) && rng.nextUnit() < faults.pCutStream
            if cut { state.withLockedValue { $0.stats.faults["cut_stream", default: 0] += 1 } }
            return MockReply(
                action: .stream(status: 200, headers: headers + [("content-type", "text/event-stream")], events: events, cut: cut),
                delayMilliseconds: delay, holdsCapacity: holdsCapacity)
        }
        let path = request.path.hasPrefix("/v1/") ? String(request.path.dropFirst(3)) : request.path
        let text =
            switch path {
            case "/responses": CompletionFactory.response(id: "resp_\(digest)", model: model, created: created, answer: answer, billed: !cacheHit)
            case "/completions": CompletionFactory.textCompletion(id: "cmpl-\(digest)", model: model, created: created, answer: answer, billed: !cacheHit)
            default: CompletionFactory.chatCompletion(id: id, model: model, created: created, answer: answer, billed: !cacheHit)
            }
        return MockReply(action: .respond(.json(200, text, headers: headers)), delayMilliseconds: delay, holdsCapacity: holdsCapacity)
    }

    /// The handler acted on a reply that held a `--max-inflight` place.
    public func finished(_ reply: MockReply) {
        guard reply.holdsCapacity else { return }
        state.withLockedValue { $0.inflight -= 1 }
    }

    private enum Admission {
        case admitted([(String, String)])
        case limited(wait: Double, headers: [(String, String)])
    }

    /// Sliding-window rate limits; the headers follow OpenAI's `x-ratelimit-*` names.
    private func admit(tokens: Int) -> Admission {
        let time = now
        return state.withLockedValue { state -> Admission in
            var headers: [(String, String)] = []
            var wait: Double?
            if var window = state.requestWindow {
                if let w = window.admit(weight: 1, now: time) { wait = w }
                state.requestWindow = window
                headers += [
                    ("x-ratelimit-limit-requests", "\(window.limit)"),
                    ("x-ratelimit-remaining-requests", "\(window.remaining(now: time))"),
                    ("x-ratelimit-reset-requests", rateLimitDuration(window.resetSeconds(now: time))),
                ]
            }
            if wait == nil, var window = state.tokenWindow {
                if let w = window.admit(weight: tokens, now: time) {
                    wait = w
                    // The request was counted in the request window but is refused; give it back.
                    state.requestWindow?.refund(weight: 1)
                }
                state.tokenWindow = window
                headers += [
                    ("x-ratelimit-limit-tokens", "\(window.limit)"),
                    ("x-ratelimit-remaining-tokens", "\(window.remaining(now: time))"),
                    ("x-ratelimit-reset-tokens", rateLimitDuration(window.resetSeconds(now: time))),
                ]
            }
            return wait.map { .limited(wait: $0, headers: headers) } ?? .admitted(headers)
        }
    }

    /// `a,b` → `["a", "b"]`, without Foundation's trimming on the common single-model path.
    static func modelList(_ text: String) -> [String] {
        guard text.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: " ") }) else { return [text] }
        return text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// The Retry-After of a capacity 429, if `--capacity-retry-after` asks for one.
    private func capacityRetryAfter() -> (String, String)? {
        switch configuration.capacityRetryAfter {
        case .none: return nil
        case .seconds: return retryAfterHeader(configuration.faults.retryAfterSeconds, configuration.faults.retryAfterFormat)
        case .nextMinute:
            // As LiteLLM's parallel_request_limiter: `str(seconds)` of a float, e.g. "37.482913".
            let now = Date().timeIntervalSince1970
            let seconds = max((now / 60).rounded(.down) * 60 + 60 - now, 0.001)
            return ("retry-after", String(format: "%.6f", seconds))
        }
    }

    private func retryAfterHeader(_ seconds: Double, _ format: RetryAfterFormat) -> (String, String) {
        switch format {
        case .seconds: return ("retry-after", retryAfterText(seconds))
        case .milliseconds: return ("Retry-After-Ms", String(Int((seconds * 1000).rounded())))
        case .date:
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
            let when = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 + seconds).rounded(.up))
            return ("Retry-After", formatter.string(from: when))
        }
    }

    private func retryAfterText(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(format: "%.3f", seconds)
    }
}

/// One inference request as `/stats/timeline` lists it:
/// `[seconds since start, status (-1 dropped, -2 stalled), Retry-After or null, "body digest"]`.
struct TimelineEntry {
    var time: Double
    var status: Int
    var body: Digest
    var retryAfter: Double?

    var json: String {
        "[\(String(format: "%.4f", time)),\(status),\(retryAfter.map { String($0) } ?? "null"),\"\(body)\"]"
    }
}
