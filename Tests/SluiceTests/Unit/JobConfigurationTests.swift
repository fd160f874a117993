import Foundation
import Testing

@testable import SluiceCore

struct JobConfigurationTests {
    func flags(_ change: (inout JobFile) -> Void = { _ in }) -> JobFile {
        var flags = JobFile()
        flags.inputs = ["data/prompts.jsonl.gz"]
        change(&flags)
        return flags
    }

    @Test func defaultsFollowTheFirstInput() throws {
        let config = try JobConfiguration.resolve(file: nil, fileDirectory: nil, flags: flags())
        #expect(config.output == "data/prompts.results.jsonl")
        #expect(config.errors == "data/prompts.errors.jsonl")
        #expect(config.checkpoint == "data/prompts.results.jsonl.sluice.db")
        #expect(config.baseURL == "https://api.floopy.ai/v1")
        #expect(config.apiKeyEnv == "FLOOPY_API_KEY")
        #expect(config.concurrency == 16)
        #expect(JobConfiguration.defaultErrors(for: "out/x.jsonl.gz") == "out/x.errors.jsonl.gz")
    }

    @Test func flagsWinOverTheJobFileAndPathsAreRelativeToIt() throws {
        var file = JobFile()
        file.inputs = ["../samples/a.jsonl"]
        file.model = "file-model"
        file.concurrency = 4
        file.properties = ["batch": "file", "env": "prod"]
        let config = try JobConfiguration.resolve(
            file: file, fileDirectory: "jobs",
            flags: {
                var flags = JobFile()
                flags.model = "flag-model"
                flags.properties = ["batch": "flag"]
                return flags
            }())
        #expect(config.inputs == ["samples/a.jsonl"])
        #expect(config.model == "flag-model")
        #expect(config.concurrency == 4)
        #expect(config.gateway.properties == ["batch": "flag", "env": "prod"])
    }

    @Test func aPostgresCheckpointInAJobFileStaysAURL() throws {
        var file = JobFile()
        file.inputs = ["in.jsonl"]
        file.checkpoint = "postgres://sluice@db:5432/batch?job=nightly"
        let config = try JobConfiguration.resolve(file: file, fileDirectory: "jobs", flags: JobFile())
        #expect(config.checkpoint == "postgres://sluice@db:5432/batch?job=nightly")
        #expect(config.inputs == ["jobs/in.jsonl"])
    }

    @Test func jobFileRejectsUnknownKeysAndWrongTypes() throws {
        let dir = TemporaryDirectory()
        writeFile(dir.file("a.json"), Data(#"{"inputs":["x"],"concurency":4}"#.utf8))
        #expect { _ = try JobFile.load(path: dir.file("a.json")) } throws: {
            ($0 as? SluiceError)?.message.contains(#"unknown key "concurency""#) == true
        }
        writeFile(dir.file("b.json"), Data(#"{"concurrency":"many"}"#.utf8))
        #expect { _ = try JobFile.load(path: dir.file("b.json")) } throws: {
            ($0 as? SluiceError)?.message.contains(#""concurrency" must be an integer"#) == true
        }
        writeFile(dir.file("c.json"), Data(#"{"cache":"always"}"#.utf8))
        #expect { _ = try JobFile.load(path: dir.file("c.json")) } throws: {
            ($0 as? SluiceError)?.message.contains(#""cache" has an invalid value"#) == true
        }
    }

    @Test func batchModeSettingsAreCheckedAndMaxCostIsRefusedWithBatches() throws {
        let config = try JobConfiguration.resolve(
            file: nil, fileDirectory: nil,
            flags: flags {
                $0.mode = .auto; $0.deadline = "6h"
            })
        #expect(config.mode == .auto && config.batchMaxLines == 50_000 && config.batchMaxBytes == 200 << 20)
        let start = Date(timeIntervalSince1970: 1_000)
        #expect(JobConfiguration.deadlineDate("6h", from: start) == start + 21_600)
        #expect(JobConfiguration.deadlineDate("90m", from: start) == start + 5_400)
        #expect(JobConfiguration.deadlineDate("2026-12-01T00:00:00Z", from: start) != nil)
        #expect(JobConfiguration.deadlineDate("soon", from: start) == nil)
        #expect {
            _ = try JobConfiguration.resolve(
                file: nil, fileDirectory: nil,
                flags: flags {
                    $0.mode = .batch; $0.deadline = "soon"
                })
        } throws: {
            ($0 as? SluiceError)?.message.contains("--deadline soon") == true
        }
        #expect {
            _ = try JobConfiguration.resolve(
                file: nil, fileDirectory: nil,
                flags: flags {
                    $0.mode = .batch; $0.maxCost = 5; $0.prices = ["m": Price(input: 1, output: 1)]
                })
        } throws: {
            ($0 as? SluiceError)?.message.contains("does not cover provider batches") == true
        }
    }

    @Test func plainHTTPToARemoteHostIsRefused() throws {
        #expect { _ = try JobConfiguration.resolve(file: nil, fileDirectory: nil, flags: flags { $0.baseURL = "http://gateway.example.com/v1" }) } throws: {
            ($0 as? SluiceError)?.message.contains("--allow-insecure-http") == true
        }
        _ = try JobConfiguration.resolve(file: nil, fileDirectory: nil, flags: flags { $0.baseURL = "http://127.0.0.1:9/v1" })
        _ = try JobConfiguration.resolve(
            file: nil, fileDirectory: nil,
            flags: flags {
                $0.baseURL = "http://gateway.example.com/v1"
                $0.allowInsecureHTTP = true
            })
    }

    @Test func invalidSettingsAreRefusedWithAReason() {
        #expect { _ = try JobConfiguration.resolve(file: nil, fileDirectory: nil, flags: flags { $0.concurrency = 0 }) } throws: {
            ($0 as? SluiceError)?.message == "concurrency must be between 1 and 100000, got 0"
        }
        #expect { _ = try JobConfiguration.resolve(file: nil, fileDirectory: nil, flags: flags { $0.timeoutSeconds = 0 }) } throws: {
            ($0 as? SluiceError)?.message == "timeout must be more than 0 and at most 3600 seconds, got 0.0"
        }
        #expect { _ = try JobConfiguration.resolve(file: nil, fileDirectory: nil, flags: flags { $0.headers = ["Authorization": "Bearer x"] }) } throws: {
            ($0 as? SluiceError)?.message.contains("API key") == true
        }
        #expect { _ = try JobConfiguration.resolve(file: nil, fileDirectory: nil, flags: flags { $0.properties = ["a b": "c"] }) } throws: {
            ($0 as? SluiceError)?.message == #"property name "a b" cannot be used in a header (letters, digits and -_. only)"#
        }
        #expect { _ = try JobConfiguration.resolve(file: nil, fileDirectory: nil, flags: JobFile()) } throws: {
            ($0 as? SluiceError)?.message.contains("no input") == true
        }
    }

    @Test func apiKeyComesFromTheEnvironmentOrAFile() throws {
        let dir = TemporaryDirectory()
        #expect(try APIKeySource.resolve(environmentVariable: "K", keyFile: nil, baseURL: "https://x.ai/v1", environment: ["K": " fp_1 \n"]) == "fp_1")
        writeFile(dir.file("key"), Data("fp_file\n".utf8))
        #expect(try APIKeySource.resolve(environmentVariable: "K", keyFile: dir.file("key"), baseURL: "https://x.ai/v1", environment: [:]) == "fp_file")
        #expect(try APIKeySource.resolve(environmentVariable: "K", keyFile: nil, baseURL: "http://127.0.0.1:1/v1", environment: [:]) == nil)
        #expect { _ = try APIKeySource.resolve(environmentVariable: "K", keyFile: nil, baseURL: "https://x.ai/v1", environment: [:]) } throws: {
            ($0 as? SluiceError)?.message.contains("set the environment variable K") == true
        }
    }
}
