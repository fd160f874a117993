import Foundation
import Testing

@testable import SluiceMockServer

/// sluice-mock's Files and Batches API over real sockets: the shapes sluice's batch dispatcher relies on,
/// and every way a batch can go wrong.
@Suite struct MockBatchTests {
    typealias Client = MockBatchHTTPClient

    /// Every custom_id of the output and error files, with how many times it appears across both.
    func customIDs(_ lines: [[String: Any]]) -> [String: Int] {
        lines.reduce(into: [:]) { $0[$1["custom_id"] as? String ?? "?", default: 0] += 1 }
    }

    @Test func uploadCreatePollAndDownloadAnswerEveryLineOnceWithTheLiveAnswer() async throws {
        try await Client.withMock({ $0.batch.lineFail = 0.25 }) { client in
            let (jsonl, bodies) = Client.input(40)
            let file = try await client.upload(jsonl)
            #expect(file.status == 200)
            #expect(file.json["object"] as? String == "file" && file.json["purpose"] as? String == "batch")
            #expect(file.json["bytes"] as? Int == jsonl.utf8.count && file.json["filename"] as? String == "input.jsonl")
            #expect(try await client.call(.GET, "/v1/files/\(file.json["id"] as? String ?? "")/content").text == jsonl)

            let created = try await client.post(
                "/v1/batches",
                json: ["input_file_id": file.json["id"] ?? "", "endpoint": "/v1/chat/completions", "completion_window": "24h", "metadata": ["job": "j1"]],
                headers: [("floopy-provider", "openai")])
            let batch = created.json
            let expectedKeys: Set<String> = [
                "id", "object", "endpoint", "errors", "input_file_id", "completion_window", "status", "output_file_id", "error_file_id",
                "created_at", "in_progress_at", "expires_at", "finalizing_at", "completed_at", "failed_at", "expired_at", "cancelling_at",
                "cancelled_at", "request_counts", "metadata",
            ]
            #expect(Set(batch.keys) == expectedKeys)
            #expect(batch["status"] as? String == "validating" && batch["output_file_id"] is NSNull && batch["errors"] is NSNull)
            #expect(batch["id"] as? String == "batch_1" && batch["object"] as? String == "batch")
            #expect((batch["metadata"] as? [String: String]) == ["job": "j1"])

            let (done, seen) = try await client.wait("batch_1")
            #expect(seen.contains("in_progress") && seen.last == "completed", "\(seen)")
            for key in ["in_progress_at", "finalizing_at", "completed_at"] { #expect(done[key] is Int, "\(key)") }
            let output = try await client.lines(of: done["output_file_id"])
            let errors = try await client.lines(of: done["error_file_id"])
            #expect(!errors.isEmpty && output.count > errors.count, "a quarter of the lines fail")
            #expect(customIDs(output + errors) == Dictionary(uniqueKeysWithValues: bodies.keys.map { ($0, 1) }))
            let counts = try #require(done["request_counts"] as? [String: Int])
            #expect(counts == ["total": 40, "completed": output.count, "failed": errors.count])
            let positions = output.map { Int(($0["custom_id"] as? String ?? "").dropFirst("item-".count)) ?? -1 }
            #expect(positions != positions.sorted(), "in a shuffled order, not the input's")
            for line in errors {
                let response = try #require(line["response"] as? [String: Any])
                #expect(response["status_code"] as? Int == 500 && line["error"] is NSNull)
                #expect(((response["body"] as? [String: Any])?["error"] as? [String: Any])?["code"] as? String == "server_error")
            }
            let outputFile = try await client.call(.GET, "/v1/files/\(done["output_file_id"] as? String ?? "")").json
            #expect(outputFile["purpose"] as? String == "batch_output")

            // The stats, before any live request: the batch's answers count as bodies and tokens.
            let stats = try await client.stats()
            let batchStats = try #require(stats["batch"] as? [String: Any])
            #expect(batchStats["files_uploaded"] as? Int == 1 && batchStats["bytes_uploaded"] as? Int == jsonl.utf8.count)
            #expect(batchStats["batches_created"] as? Int == 1 && batchStats["lines_submitted"] as? Int == 40)
            #expect(batchStats["lines_answered"] as? Int == output.count)
            #expect((batchStats["providers"] as? [String: Int]) == ["openai": 1])
            #expect((batchStats["batches_by_status"] as? [String: Int]) == ["completed": 1])
            #expect((stats["bodies"] as? [String: Int])?.count == output.count)
            let prompt = output.reduce(0) {
                $0 + (((($1["response"] as? [String: Any])?["body"] as? [String: Any])?["usage"] as? [String: Any])?["prompt_tokens"] as? Int ?? 0)
            }
            #expect((stats["tokens"] as? [String: Int])?["prompt"] == prompt)

            // Each answer is what the live endpoint gives for the line's body, under the same body digest.
            for line in output {
                let customID = try #require(line["custom_id"] as? String)
                let live = try await client.call(.POST, "/v1/chat/completions", body: Array(bodies[customID]!.utf8))
                #expect(Client.same((line["response"] as? [String: Any])?["body"], live.json), "\(customID)")
            }
            #expect((try await client.stats()["bodies"] as? [String: Int])?.values.allSatisfy { $0 == 2 } == true)
        }
    }

    @Test(arguments: ["/v1/embeddings", "/v1/responses", "/v1/completions"])
    func otherEndpointsAnswerAsLive(endpoint: String) async throws {
        try await Client.withMock { client in
            let (jsonl, bodies) = Client.input(3, endpoint: endpoint)
            let batch = try await client.submit(jsonl, endpoint: endpoint)
            let done = try await client.wait(batch["id"] as? String ?? "").batch
            let output = try await client.lines(of: done["output_file_id"])
            #expect(output.count == 3 && done["error_file_id"] is NSNull)
            for line in output {
                let live = try await client.call(.POST, endpoint, body: Array(bodies[line["custom_id"] as? String ?? ""]!.utf8))
                #expect(Client.same((line["response"] as? [String: Any])?["body"], live.json))
            }
        }
    }

    @Test func permanentLineFailuresUseTheConfiguredStatus() async throws {
        try await Client.withMock({ (config: inout MockConfiguration) in
            config.batch.lineFail = 1; config.batch.lineFailStatus = 400
        }) { client in
            let done = try await client.wait(try await client.submit(Client.input(5).jsonl)["id"] as? String ?? "").batch
            #expect(done["status"] as? String == "completed" && done["output_file_id"] is NSNull)
            let errors = try await client.lines(of: done["error_file_id"])
            #expect(errors.count == 5)
            #expect(errors.allSatisfy { ($0["response"] as? [String: Any])?["status_code"] as? Int == 400 })
        }
    }

    @Test func aBatchOfZeroSecondsHasEndedWhenCreated() async throws {
        try await Client.withMock({ $0.batch.seconds = 0 }) { client in
            let batch = try await client.submit(Client.input(3).jsonl)
            #expect(batch["status"] as? String == "completed" && batch["completed_at"] is Int)
            #expect(try await client.lines(of: batch["output_file_id"]).count == 3)
        }
    }

    @Test func cancelKeepsTheLinesFinishedSoFar() async throws {
        try await Client.withMock({ $0.batch.seconds = 2 }) { client in
            _ = try await client.submit(Client.input(50).jsonl)
            try await Task.sleep(for: .milliseconds(700))
            let cancelling = try await client.call(.POST, "/v1/batches/batch_1/cancel")
            #expect(cancelling.json["status"] as? String == "cancelling" && cancelling.json["cancelling_at"] is Int)
            #expect(try await client.call(.POST, "/v1/batches/batch_1/cancel").json["status"] as? String == "cancelling")
            let done = try await client.wait("batch_1").batch
            #expect(done["status"] as? String == "cancelled" && done["cancelled_at"] is Int && done["completed_at"] is NSNull)
            let output = try await client.lines(of: done["output_file_id"])
            #expect((17..<50).contains(output.count), "0.7 s or a little more of 2 s done: \(output.count) of 50")
            #expect(customIDs(output).values.allSatisfy { $0 == 1 })
            #expect((done["request_counts"] as? [String: Int])?["completed"] == output.count)
            let again = try await client.call(.POST, "/v1/batches/batch_1/cancel")
            #expect(again.status == 409 && again.errorCode == "batch_not_cancellable")
            #expect(try await client.call(.POST, "/v1/batches/batch_9/cancel").status == 404)
        }
    }

    @Test func listPagesNewestFirstAndCountsAnswersGivenTwice() async throws {
        try await Client.withMock { client in
            let (first, _) = Client.input(4, prefix: "a")
            let firstFile = try await client.submit(first)["input_file_id"] as? String
            _ = try await client.submit(Client.input(2, prefix: "b").jsonl)
            // The same file again, as a client that lost track of its batch would: the same custom_ids answered twice.
            _ = try await client.post("/v1/batches", json: ["input_file_id": firstFile ?? "", "endpoint": "/v1/chat/completions", "completion_window": "24h"])
            let page = try await client.call(.GET, "/v1/batches?limit=2").json
            #expect(page["object"] as? String == "list" && page["has_more"] as? Bool == true)
            #expect((page["data"] as? [[String: Any]])?.map { $0["id"] as? String } == ["batch_3", "batch_2"])
            #expect(page["first_id"] as? String == "batch_3" && page["last_id"] as? String == "batch_2")
            let rest = try await client.call(.GET, "/v1/batches?limit=2&after=batch_2").json
            #expect((rest["data"] as? [[String: Any]])?.map { $0["id"] as? String } == ["batch_1"] && rest["has_more"] as? Bool == false)
            let all = try await client.call(.GET, "/v1/batches").json["data"] as? [[String: Any]] ?? []
            #expect(all.filter { $0["input_file_id"] as? String == firstFile }.map { $0["id"] as? String } == ["batch_3", "batch_1"])
            for id in ["batch_1", "batch_2", "batch_3"] { _ = try await client.wait(id) }
            let stats = try #require(try await client.stats()["batch"] as? [String: Any])
            #expect(stats["custom_ids_answered_twice"] as? Int == 4 && stats["lines_answered"] as? Int == 10)
            #expect((stats["providers"] as? [String: Int]) == ["none": 3])
        }
    }

    @Test func expiredBatchReturnsHalfAndBatchExpiredErrorsForTheRest() async throws {
        try await Client.withMock({ $0.batch.expire = 1 }) { client in
            let (jsonl, bodies) = Client.input(20)
            let (done, seen) = try await client.wait(try await client.submit(jsonl)["id"] as? String ?? "")
            #expect(done["status"] as? String == "expired" && done["expired_at"] is Int && !seen.contains("finalizing"))
            let output = try await client.lines(of: done["output_file_id"])
            let errors = try await client.lines(of: done["error_file_id"])
            #expect(output.count == 10 && errors.count == 10)
            #expect(customIDs(output + errors) == Dictionary(uniqueKeysWithValues: bodies.keys.map { ($0, 1) }))
            for line in errors {
                #expect(line["response"] is NSNull)
                #expect((line["error"] as? [String: Any])?["code"] as? String == "batch_expired")
            }
            #expect((try await client.stats()["faults"] as? [String: Int])?["batch_expired"] == 1)
        }
    }

    @Test func failedBatchHasErrorsAndNoOutput() async throws {
        try await Client.withMock({ $0.batch.fail = 1 }) { client in
            let done = try await client.wait(try await client.submit(Client.input(6).jsonl)["id"] as? String ?? "").batch
            #expect(done["status"] as? String == "failed" && done["failed_at"] is Int && done["in_progress_at"] is Int)
            #expect(done["output_file_id"] is NSNull && done["error_file_id"] is NSNull)
            #expect((((done["errors"] as? [String: Any])?["data"]) as? [[String: Any]])?.isEmpty == false)
            let stats = try await client.stats()
            #expect((stats["batch"] as? [String: Any])?["lines_answered"] as? Int == 0 && (stats["bodies"] as? [String: Int])?.isEmpty == true)
        }
    }

    @Test func invalidInputFailsValidationWithTheLineOfEachError() async throws {
        try await Client.withMock { client in
            let good = Client.input(2).jsonl.split(separator: "\n").map(String.init)
            let jsonl = [
                good[0], "{not json", good[0], good[1].replacingOccurrences(of: "/v1/chat/completions", with: "/v1/embeddings"),
                #"{"custom_id":"x","method":"GET","url":"/v1/chat/completions","body":{}}"#,
            ].joined(separator: "\n")
            let batch = try await client.submit(jsonl)
            #expect(batch["status"] as? String == "validating", "validated when the batch is created, not at upload")
            let done = try await client.wait(batch["id"] as? String ?? "").batch
            #expect(done["status"] as? String == "failed" && done["in_progress_at"] is NSNull)
            let data = try #require((done["errors"] as? [String: Any])?["data"] as? [[String: Any]])
            #expect(data.map { $0["code"] as? String ?? "" } == ["invalid_json_line", "duplicate_custom_id", "url_mismatch", "invalid_json_line"])
            #expect(data.map { $0["line"] as? Int ?? 0 } == [2, 3, 4, 5])
            #expect(try await client.submit("\n")["status"] as? String == "validating")
            let empty = try await client.wait("batch_2").batch
            #expect(((empty["errors"] as? [String: Any])?["data"] as? [[String: Any]])?.first?["code"] as? String == "empty_file")

            let base: [String: Any] = ["input_file_id": "file-1", "endpoint": "/v1/chat/completions", "completion_window": "24h"]
            #expect(try await client.post("/v1/batches", json: base.merging(["input_file_id": "file-99"]) { $1 }).status == 404)
            #expect(try await client.post("/v1/batches", json: base.merging(["endpoint": "/v1/moderations"]) { $1 }).status == 400)
            #expect(try await client.post("/v1/batches", json: base.merging(["completion_window": "1h"]) { $1 }).status == 400)
            #expect(try await client.call(.POST, "/v1/batches", body: Array("[]".utf8)).status == 400)
        }
    }

    @Test func metadataLimits() async throws {
        try await Client.withMock { client in
            let fileID = try await client.upload(Client.input(1).jsonl).json["id"] as? String ?? ""
            func create(_ metadata: Any) async throws -> MockBatchHTTPClient.Answer {
                try await client.post(
                    "/v1/batches", json: ["input_file_id": fileID, "endpoint": "/v1/chat/completions", "completion_window": "24h", "metadata": metadata])
            }
            var largest = Dictionary(uniqueKeysWithValues: (0..<15).map { ("key\($0)", "value") })
            largest[String(repeating: "k", count: 64)] = String(repeating: "v", count: 512)
            #expect(try await create(largest).status == 200)
            let tooMany = try await create(Dictionary(uniqueKeysWithValues: (0..<17).map { ("key\($0)", "v") }))
            #expect(tooMany.status == 400 && (tooMany.json["error"] as? [String: Any])?["param"] as? String == "metadata")
            #expect(try await create([String(repeating: "k", count: 65): "v"]).status == 400)
            #expect(try await create(["key": String(repeating: "v", count: 513)]).status == 400)
            #expect(try await create(["key": 5]).status == 400)
        }
    }

    @Test func outputFilesExpireAndFilesCanBeDeleted() async throws {
        try await Client.withMock({ (config: inout MockConfiguration) in
            config.batch.seconds = 0.2; config.batch.fileExpirySeconds = 1
        }) { client in
            let done = try await client.wait(try await client.submit(Client.input(3).jsonl)["id"] as? String ?? "").batch
            let outputID = try #require(done["output_file_id"] as? String)
            #expect(try await client.lines(of: outputID).count == 3)
            #expect(try await client.call(.GET, "/v1/files/\(outputID)").json["expires_at"] is Int)
            try await Task.sleep(for: .milliseconds(1100))
            let gone = try await client.call(.GET, "/v1/files/\(outputID)/content")
            #expect(gone.status == 404 && gone.errorCode == "file_not_found")
            #expect(try await client.call(.GET, "/v1/files/\(outputID)").status == 404)
            #expect(try await client.call(.GET, "/v1/batches/batch_1").json["output_file_id"] as? String == outputID, "the batch still names it")
            // Uploads do not expire; they go when deleted.
            let deleted = try await client.call(.DELETE, "/v1/files/file-1")
            #expect(deleted.json["deleted"] as? Bool == true && deleted.json["id"] as? String == "file-1")
            #expect(try await client.call(.GET, "/v1/files/file-1").status == 404)
            #expect(try await client.call(.DELETE, "/v1/files/file-1").status == 404)
        }
    }

    @Test func uploadsRefuseWhatIsNotAMultipartBatchFile() async throws {
        try await Client.withMock({ $0.maxBodyBytes = 4096 }) { client in
            let json = try await client.call(.POST, "/v1/files", body: Array(#"{"purpose":"batch"}"#.utf8), headers: [("content-type", "application/json")])
            #expect(json.status == 400 && json.errorCode == "invalid_multipart")
            let multipart = [("content-type", "multipart/form-data; boundary=sluice-test-boundary")]
            let unclosed = Array(Client.multipart([("purpose", nil, "batch"), ("file", "a.jsonl", "{}")]).dropLast(30))
            #expect(try await client.call(.POST, "/v1/files", body: unclosed, headers: multipart).status == 400)
            let noPurpose = try await client.call(.POST, "/v1/files", body: Client.multipart([("file", "a.jsonl", "{}")]), headers: multipart)
            #expect(noPurpose.status == 400 && noPurpose.errorCode == "missing_required_parameter")
            #expect(try await client.upload("{}", purpose: "fine-tune").status == 400)
            let noFilename = try await client.call(
                .POST, "/v1/files", body: Client.multipart([("purpose", nil, "batch"), ("file", nil, "{}")]), headers: multipart)
            #expect(noFilename.status == 400)
            let huge = try await client.upload(String(repeating: "x", count: 5000))
            #expect(huge.status == 413 && huge.errorCode == "request_too_large")
            #expect(try await client.upload("{}").status == 200, "the connection still serves")
        }
    }

    @Test func duplicateAndUnknownLinesAreInjectedAndTheShuffleIsSeeded() async throws {
        func run(seed: UInt64) async throws -> (output: [[String: Any]], faults: [String: Int]?, twice: Int?) {
            var result: (output: [[String: Any]], faults: [String: Int]?, twice: Int?) = ([], nil, nil)
            try await Client.withMock({ (config: inout MockConfiguration) in
                config.seed = seed; config.batch.duplicateLine = true; config.batch.unknownLine = true
            }) { client in
                let done = try await client.wait(try await client.submit(Client.input(12).jsonl)["id"] as? String ?? "").batch
                let stats = try await client.stats()
                result = (
                    try await client.lines(of: done["output_file_id"]), stats["faults"] as? [String: Int],
                    (stats["batch"] as? [String: Any])?["custom_ids_answered_twice"] as? Int
                )
            }
            return result
        }
        let first = try await run(seed: 3)
        #expect(first.output.count == 14)
        let counts = customIDs(first.output)
        #expect(counts.values.filter { $0 == 2 }.count == 1 && counts["sluice-mock-unknown-batch_1"] == 1)
        #expect(first.faults?["batch_duplicate_line"] == 1 && first.faults?["batch_unknown_line"] == 1)
        #expect(first.twice == 0, "a duplicated line is not a second answer")
        let order = { (lines: [[String: Any]]) in lines.map { $0["custom_id"] as? String ?? "" } }
        #expect(order(try await run(seed: 3).output) == order(first.output))
        #expect(order(try await run(seed: 4).output) != order(first.output))
    }

    @Test func echoCredentialsSendsTheCredentialsBackInOneErrorLineAndOneOutputLine() async throws {
        let credentials: [(String, String)] = [("authorization", "Bearer fp_mock_key_1"), ("x-api-key", "hdr-secret-2"), ("x-team", "search")]
        for echo in [true, false] {
            try await Client.withMock({ $0.echoCredentials = echo }) { client in
                let batch = try await client.submit(Client.input(10).jsonl, headers: credentials)
                let (done, _) = try await client.wait(batch["id"] as? String ?? "")
                let output = try await client.call(.GET, "/v1/files/\(done["output_file_id"] as? String ?? "")/content").text
                let errors = try await client.call(.GET, "/v1/files/\(done["error_file_id"] as? String ?? "")/content").text
                let presented = "authorization: Bearer fp_mock_key_1; x-api-key: hdr-secret-2"
                #expect(errors.components(separatedBy: presented).count - 1 == (echo ? 1 : 0), "\(errors)")
                #expect(output.components(separatedBy: #""mock_echo":"\#(presented)""#).count - 1 == (echo ? 1 : 0), "\(output)")
                #expect(!(output + errors).contains("x-team"), "only credential-looking headers are echoed")
                let echoed = try await client.stats()["echoed"] as? [String: Int] ?? [:]
                #expect(
                    echoed
                        == (echo
                            ? [
                                "batch_error_line authorization": 1, "batch_error_line x-api-key": 1, "batch_output_line authorization": 1,
                                "batch_output_line x-api-key": 1,
                            ] : [:]),
                    "\(echoed)")
            }
        }
    }
}
