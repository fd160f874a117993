import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import SluiceMockServer

/// `sluice-mock`: an OpenAI-compatible gateway emulator with Floopy semantics and fault injection.
@main
struct SluiceMockCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluice-mock",
        abstract: "An OpenAI-compatible gateway emulator with Floopy semantics and fault injection.",
        discussion: """
            Serves POST /v1/chat/completions (also streamed), POST /v1/embeddings, POST /v1/responses, POST /v1/completions, GET /v1/models, GET /health, GET /stats, GET /stats/timeline, GET /stats/requests and POST /stats/reset. Answers are derived deterministically from the request body; usage is counted at about 4 characters per token.

            The OpenAI-shaped Files and Batches API: POST /v1/files (multipart, purpose=batch), GET /v1/files/{id}, GET /v1/files/{id}/content, DELETE /v1/files/{id}, POST /v1/batches, GET /v1/batches (?limit=&after=), GET /v1/batches/{id}, POST /v1/batches/{id}/cancel. A batch is validating, in_progress, finalizing, then completed after --batch-seconds; its output and error files hold the answers the live endpoint gives, in a seeded shuffle. The --batch-* options inject its failures.

            Example: sluice-mock --port 0 --port-file /tmp/mock.port --latency-ms 50-150 --p429 0.05 --retry-after 1
            """
    )

    @Option(help: "Address to bind. Loopback by default; the mock is for tests and demos.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on; 0 picks a free one and prints it.")
    var port = 0

    @Option(help: "Write the bound port to this file once listening (e.g. /tmp/mock.port).")
    var portFile: String?

    @Option(help: "Require 'Authorization: Bearer KEY'; otherwise answer 401 INVALID_API_KEY.")
    var apiKey: String?

    @Option(help: "Seed for every random draw (faults, latency), for reproducible runs.")
    var seed: UInt64 = 1

    @Option(name: .customLong("latency-ms"), help: "Answer latency in ms: N, MIN-MAX (uniform), e.g. 50-150.")
    var latency: String?

    @Option(name: .customLong("latency-tail"), help: "Long-tail latency as P50,P99 in ms, e.g. 200,2000.")
    var latencyTail: String?

    @Option(name: .customLong("failing-model"), help: "A model that always fails with 502 PROVIDER_ERROR (repeatable).")
    var failingModels: [String] = []

    @Option(help: "Fraction of requests answered 429 with Retry-After.") var p429 = 0.0
    @Option(help: "Retry-After seconds sent with injected 429s.") var retryAfter = 1.0
    @Option(help: "How injected 429s say it: seconds ('retry-after: 1'), ms ('Retry-After-Ms: 1000') or date ('Retry-After: <HTTP date>').")
    var retryAfterFormat: RetryAfterFormat = .seconds
    @Option(help: "Fraction answered 403 FORBIDDEN.") var p403 = 0.0
    @Option(help: "Fraction answered 500.") var p500 = 0.0
    @Option(help: "Fraction answered 502.") var p502 = 0.0
    @Option(help: "Fraction answered 503.") var p503 = 0.0
    @Option(help: "Fraction answered 400.") var p400 = 0.0
    @Option(help: "Fraction of connections closed before any response.") var pdrop = 0.0
    @Option(help: "Fraction of requests never answered (stalled past the client's timeout).") var pstall = 0.0
    @Option(help: "Seconds a stalled request is held before the connection is closed.") var stallSeconds = 60.0
    @Option(help: "Fraction of 200 answers with a malformed JSON body.") var pmalformed = 0.0
    @Option(
        name: .customLong("pinvalid-json"),
        help:
            "Fraction of answers asked to be JSON (response_format) whose content breaks it: prose, or (for json_schema requests, every other one) JSON that misses the usual schema."
    )
    var pinvalidJson = 0.0
    @Option(name: .customLong("pcut-stream"), help: "Fraction of SSE streams cut before [DONE].") var pcutStream = 0.0
    @Option(help: "Milliseconds between the events of a streamed answer (after --latency-ms, which delays the first), e.g. 5.")
    var streamChunkMs = 0.0

    @Option(help: "Apply faults only to the first K times a given body is received, so retries succeed.")
    var failFirst: Int?

    @Option(help: "Requests per minute before answering 429 with Retry-After and x-ratelimit-* (sliding window).") var rpm: Int?
    @Option(help: "Tokens per minute before answering 429 (sliding window).") var tpm: Int?
    @Option(help: "Length of the --rpm/--tpm sliding window in seconds (default 60; shorter for quick tests).") var rateWindow = 60.0
    @Option(help: "Answer 429 (no Retry-After, no rate-limit headers) to whatever exceeds N requests in flight: a capacity limit.")
    var maxInflight: Int?
    @Option(
        name: .customLong("capacity-release-ms"),
        help: "A --max-inflight place frees this many ms after its answer is written: N, or MIN-MAX drawn per request (a proxy's bookkeeping).")
    var capacityRelease: String?
    @Option(
        help:
            "Retry-After of a --max-inflight 429: none, seconds (--retry-after, in --retry-after-format) or next-minute (seconds to the next minute, as LiteLLM's parallel-request limiter)."
    )
    var capacityRetryAfter: CapacityRetryAfter = .none
    @Option(help: "Answer OpenAI's permanent 429 insufficient_quota once N requests have been answered.") var quota: Int?
    @Option(name: .customLong("missing-model"), help: "A model that does not exist: 404 model_not_found (repeatable).")
    var missingModels: [String] = []
    @Flag(help: "Echo the presented Authorization header in 401 bodies, as some gateways do (for tests of key scrubbing).")
    var echoKeyInErrors = false
    @Flag(
        help:
            "Echo the Authorization header and every credential-looking header (x-api-key, *-token...) in every error body, one batch error line and one batch output line (for tests of scrubbing; counted under echoed in /stats)."
    )
    var echoCredentials = false
    @Option(help: "PEM certificate chain: serve HTTPS (with --tls-key).") var tlsCert: String?
    @Option(help: "PEM private key for --tls-cert.") var tlsKey: String?
    @Flag(help: "With --tls-cert: offer HTTP/2 (ALPN h2) besides HTTP/1.1, announcing --max-streams per connection.")
    var http2 = false
    @Option(help: "HTTP/2 streams one connection may carry at once (SETTINGS_MAX_CONCURRENT_STREAMS; nginx 128, Google 100).")
    var maxStreams = 128
    @Option(help: "Dimension of the vectors from /v1/embeddings.") var embeddingDim = 8
    @Option(help: "Event-loop threads.") var threads = 1

    @Flag(help: "Ignore floopy-fallback and model chains, like a plain OpenAI-compatible server.")
    var noGatewayFallback = false

    @Flag(help: "Do not keep per-body counts and the request timeline in /stats (for multi-million-request benchmarks).")
    var noBodyCounts = false

    @Option(help: "Keep the last N inference requests (headers and body) and serve them at GET /stats/requests (default 0: none).")
    var recordRequests = 0

    @Option(
        help:
            "Answer like this gateway: floopy (Floopy-Cache, Floopy-Model), helicone (Helicone-Id, Helicone-Cache), portkey (x-portkey-trace-id, x-portkey-cache-status), litellm (x-litellm-call-id, x-litellm-cache-key on a hit, an injected 429's wait renamed llm_provider-retry-after) or openai (x-request-id only)."
    )
    var profileEcho: ProfileEcho = .floopy

    @Option(
        help: "Seconds from the creation of a batch to its end (fractions allowed, e.g. 0.5): a tenth validating, then in_progress, the last tenth finalizing.")
    var batchSeconds = 2.0
    @Option(help: "Fraction of the lines of a batch that fail inside it (error-file lines with status --batch-line-fail-status).")
    var batchLineFail = 0.0
    @Option(help: "Status of those failed lines: 500 (server_error, retryable) or a 4xx such as 400 (permanent).")
    var batchLineFailStatus = 500
    @Option(help: "Fraction of batches that end expired: about half of their lines answered, batch_expired errors for the rest.")
    var batchExpire = 0.0
    @Option(help: "Fraction of batches that end failed as a whole, with errors.data and no output.")
    var batchFail = 0.0
    @Option(help: "Output and error files answer 404 this many seconds after their batch ended (default: kept).")
    var fileExpirySeconds: Double?
    @Flag(help: "Write one successful line of each batch output twice.")
    var batchDuplicateLine = false
    @Flag(help: "Add to each batch output one line whose custom_id was not in the input.")
    var batchUnknownLine = false
    @Option(
        help:
            "Tokens a model may have enqueued in open batches (validating, in_progress, finalizing), counted as the prompt's text at 4 bytes a token plus max_tokens (or 1000): a create past it ends failed with token_limit_exceeded, as OpenAI's do (default: no limit)."
    )
    var batchEnqueuedTokenLimit: Int?
    @Option(help: "Pad the answer text of every batch output line to this many bytes (large output files for tests and benches).")
    var batchAnswerBytes: Int?

    func validate() throws {
        for (name, value) in [
            ("--p429", p429), ("--p500", p500), ("--p502", p502), ("--p503", p503), ("--p400", p400), ("--p403", p403),
            ("--pdrop", pdrop), ("--pstall", pstall), ("--pmalformed", pmalformed), ("--pcut-stream", pcutStream),
            ("--batch-line-fail", batchLineFail), ("--batch-expire", batchExpire), ("--batch-fail", batchFail),
        ]
        where !(0...1).contains(value) {
            throw ValidationError("\(name) is a fraction between 0 and 1, got \(value)")
        }
        if latency != nil && latencyTail != nil {
            throw ValidationError("give either --latency-ms or --latency-tail, not both")
        }
        if let latency { _ = try parseLatency(latency) }
        if let latencyTail { _ = try parseLatency(latencyTail.contains(",") ? latencyTail : "invalid") }
        if !(0...65535).contains(port) { throw ValidationError("--port must be 0-65535") }
        if embeddingDim < 1 { throw ValidationError("--embedding-dim must be at least 1") }
        if recordRequests < 0 { throw ValidationError("--record-requests must be 0 or more") }
        if streamChunkMs < 0 { throw ValidationError("--stream-chunk-ms must be 0 or more") }
        if rateWindow <= 0 { throw ValidationError("--rate-window must be a positive number of seconds") }
        if let maxInflight, maxInflight < 1 { throw ValidationError("--max-inflight must be at least 1") }
        if let capacityRelease {
            switch try? LatencyModel(parsing: capacityRelease) {
            case .some(.none), .some(.fixed), .some(.uniform): break
            default: throw ValidationError("--capacity-release-ms must be N or MIN-MAX in milliseconds, got '\(capacityRelease)'")
            }
        }
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
        if http2, tlsCert == nil { throw ValidationError("--http2 needs --tls-cert and --tls-key: HTTP/2 is offered in the TLS handshake") }
        if maxStreams < 1 { throw ValidationError("--max-streams must be at least 1") }
        if !(batchSeconds >= 0) { throw ValidationError("--batch-seconds must be 0 or more") }
        if !(400...599).contains(batchLineFailStatus) { throw ValidationError("--batch-line-fail-status must be a 4xx or 5xx status") }
        if let fileExpirySeconds, !(fileExpirySeconds >= 0) { throw ValidationError("--file-expiry-seconds must be 0 or more") }
        if let batchEnqueuedTokenLimit, batchEnqueuedTokenLimit < 1 { throw ValidationError("--batch-enqueued-token-limit must be at least 1") }
    }

    private func parseLatency(_ text: String) throws -> LatencyModel {
        do { return try LatencyModel(parsing: text) } catch { throw ValidationError("\(error)") }
    }

    func run() async throws {
        var config = MockConfiguration()
        config.host = host
        config.port = port
        config.threads = threads
        config.apiKey = apiKey
        config.seed = seed
        if let latency { config.latency = try parseLatency(latency) }
        if let latencyTail { config.latency = try parseLatency(latencyTail) }
        config.failingModels = Set(failingModels)
        config.faults.p429 = p429
        config.faults.retryAfterSeconds = retryAfter
        config.faults.p500 = p500
        config.faults.p502 = p502
        config.faults.p503 = p503
        config.faults.p400 = p400
        config.faults.p403 = p403
        config.faults.retryAfterFormat = retryAfterFormat
        config.faults.pDrop = pdrop
        config.faults.pStall = pstall
        config.faults.pMalformed = pmalformed
        config.faults.pInvalidJSON = pinvalidJson
        config.faults.pCutStream = pcutStream
        config.faults.failFirst = failFirst
        config.stallSeconds = stallSeconds
        config.requestsPerMinute = rpm
        config.tokensPerMinute = tpm
        config.embeddingDimensions = embeddingDim
        config.countBodies = !noBodyCounts
        config.gatewayFallback = !noGatewayFallback
        config.rateWindowSeconds = rateWindow
        config.maxInflight = maxInflight
        if let capacityRelease { config.capacityReleaseMilliseconds = try parseLatency(capacityRelease) }
        config.capacityRetryAfter = capacityRetryAfter
        config.quota = quota
        config.missingModels = Set(missingModels)
        config.echoKeyInErrors = echoKeyInErrors
        config.echoCredentials = echoCredentials
        config.tlsCertificate = tlsCert
        config.tlsKey = tlsKey
        config.http2 = http2
        config.maxStreams = maxStreams
        config.recordTimeline = !noBodyCounts
        config.recordRequests = recordRequests
        config.profileEcho = profileEcho
        config.streamChunkMilliseconds = streamChunkMs
        config.batch.seconds = batchSeconds
        config.batch.lineFail = batchLineFail
        config.batch.lineFailStatus = batchLineFailStatus
        config.batch.expire = batchExpire
        config.batch.fail = batchFail
        config.batch.fileExpirySeconds = fileExpirySeconds
        config.batch.duplicateLine = batchDuplicateLine
        config.batch.unknownLine = batchUnknownLine
        config.batch.enqueuedTokenLimit = batchEnqueuedTokenLimit
        config.batch.answerBytes = batchAnswerBytes

        // One socket per client connection: benchmarks open thousands.
        var limit = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        }
        let server = try await MockServer.start(config)
        if let portFile {
            // Written atomically so a watcher never reads a half-written port.
            try String(server.port).write(toFile: portFile, atomically: true, encoding: .utf8)
        }
        FileHandle.standardOutput.write(Data("sluice-mock listening on \(tlsCert == nil ? "http" : "https")://\(host):\(server.port)/v1\n".utf8))

        // SIGINT/SIGTERM close the listening socket and every connection cleanly.
        let group = ServiceGroup(
            configuration: .init(
                services: [server], gracefulShutdownSignals: [.sigterm, .sigint],
                logger: Logger(label: "sluice-mock")))
        try await group.run()
    }
}

extension RetryAfterFormat: ExpressibleByArgument {}
extension ProfileEcho: ExpressibleByArgument {}
extension CapacityRetryAfter: ExpressibleByArgument {}
