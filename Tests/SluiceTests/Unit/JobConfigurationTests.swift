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
        file[\.gateway.properties] = ["batch": "file", "env": "prod"]
        let config = try JobConfiguration.resolve(
            file: file, fileDirectory: "jobs",
            flags: {
                var flags = JobFile()
                flags.model = "flag-model"
                flags[\.gateway.properties] = ["batch": "flag"]
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
        // --max-cost covers provider batches (BatchSpendCapTests): a priced batch job with a cap resolves.
        let capped = try JobConfiguration.resolve(
            file: nil, fileDirectory: nil,
            flags: flags {
                $0.mode = .batch; $0.maxCost = 5; $0.prices = ["m": Price(input: 1, output: 1)]
            })
        #expect(capped.maxCost == 5 && capped.mode == .batch)
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
        #expect {
            _ = try JobConfiguration.resolve(file: nil, fileDirectory: nil, flags: flags { $0[\.gateway.extraHeaders] = ["Authorization": "Bearer x"] })
        } throws: {
            ($0 as? SluiceError)?.message.contains("API key") == true
        }
        #expect { _ = try JobConfiguration.resolve(file: nil, fileDirectory: nil, flags: flags { $0[\.gateway.properties] = ["a b": "c"] }) } throws: {
            ($0 as? SluiceError)?.message == #"property name "a b" cannot be used in a header (letters, digits and -_. only)"#
        }
        #expect { _ = try JobConfiguration.resolve(file: nil, fileDirectory: nil, flags: JobFile()) } throws: {
            ($0 as? SluiceError)?.message.contains("no input") == true
        }
    }

    @Test func apiKeyComesFromTheEnvironmentOrAFile() throws {
        let dir = TemporaryDirectory()
        #expect(try APIKeySource.resolve(environmentVariable: "K", keyFile: nil, baseURL: "https://x.ai/v1", environment: ["K": " fp_1 \n"]) == "fp_1")
        writeFile(dir.file("key"), Data("fp_file\n".utf8), permissions: 0o600)
        #expect(try APIKeySource.resolve(environmentVariable: "K", keyFile: dir.file("key"), baseURL: "https://x.ai/v1", environment: [:]) == "fp_file")
        #expect(try APIKeySource.resolve(environmentVariable: "K", keyFile: nil, baseURL: "http://127.0.0.1:1/v1", environment: [:]) == nil)
        #expect { _ = try APIKeySource.resolve(environmentVariable: "K", keyFile: nil, baseURL: "https://x.ai/v1", environment: [:]) } throws: {
            ($0 as? SluiceError)?.message.contains("set the environment variable K") == true
        }
    }

    static let credentialNames = [
        "x-api-key", "api-key", "X-Portkey-Api-Key", "x-portkey-virtual-key", "Helicone-Auth", "x-goog_api_key", "X-Session-Token",
        "x-client-secret", "Authorization", "proxy-authorization", "Cookie",
    ]

    @Test(arguments: credentialNames)
    func aCredentialHeaderIsNeverTakenAsAValue(_ name: String) throws {
        let value = "v4lue-that-must-not-echo"
        #expect(HeaderValidation.isCredential(name))
        for inFile in [false, true] {
            var file = JobFile()
            if inFile { file[\.gateway.extraHeaders] = [name: value] }
            let error = try #require(throws: SluiceError.self) {
                try JobConfiguration.resolve(file: file, fileDirectory: nil, flags: flags { if !inFile { $0[\.gateway.extraHeaders] = [name: value] } })
            }
            #expect(error.code == .configuration)
            #expect(error.message.contains("--header-env"), "\(error.message)")
            #expect(!error.message.contains(value))
        }
    }

    @Test func ordinaryHeadersAreNotCredentials() throws {
        for name in ["X-Team", "x-portkey-config", "floopy-project-id", "x-portkey-trace-id", "Idempotency-Key", "x-litellm-tags"] {
            #expect(!HeaderValidation.isCredential(name), "\(name)")
        }
        let config = try JobConfiguration.resolve(file: nil, fileDirectory: nil, flags: flags { $0[\.gateway.extraHeaders] = ["X-Team": "search"] })
        #expect(config.gateway.extraHeaders == ["X-Team": "search"])
    }

    @Test func headerEnvStoresTheVariablesNameAndReadsTheValueAtStart() throws {
        var file = JobFile()
        file.headerEnv = ["x-portkey-virtual-key": "PORTKEY_VK"]
        let config = try JobConfiguration.resolve(file: file, fileDirectory: nil, flags: flags { $0.headerEnv = ["x-api-key": "AZURE_KEY"] })
        #expect(config.headerEnv == ["x-api-key": "AZURE_KEY", "x-portkey-virtual-key": "PORTKEY_VK"])
        let environment = ["AZURE_KEY": "azure-secret-1", "PORTKEY_VK": "vk-secret-2"]
        let headers = try config.credentialHeaders(environment: environment)
        #expect(headers.map(\.name) == ["x-api-key", "x-portkey-virtual-key"] && headers.map(\.value) == ["azure-secret-1", "vk-secret-2"])
        let json = config.json()
        #expect(json.contains(#""headerEnv":{"x-api-key":"AZURE_KEY","x-portkey-virtual-key":"PORTKEY_VK"}"#), "\(json)")
        #expect(!json.contains("azure-secret-1") && !json.contains("vk-secret-2"))
        #expect(try JSONDecoder().decode(JobConfiguration.self, from: Data(json.utf8)) == config)
        // A checkpoint written before header_env existed still reads.
        var old = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        old["headerEnv"] = nil
        #expect(try JSONDecoder().decode(JobConfiguration.self, from: JSONSerialization.data(withJSONObject: old)).headerEnv == [:])

        let missing = try #require(throws: SluiceError.self) { try config.credentialHeaders(environment: ["AZURE_KEY": "azure-secret-1"]) }
        #expect(missing.code == .configuration && missing.message.contains("environment variable PORTKEY_VK is not set"), "\(missing.message)")
        // A name that may be the secret itself (typed where the variable's name belongs) is never repeated.
        var pasted = config
        pasted.headerEnv = ["x-api-key": "live_9f8e7d6c5b4a3928"]
        let unnamed = try #require(throws: SluiceError.self) { try pasted.credentialHeaders(environment: [:]) }
        #expect(unnamed.message.contains("is not set") && !unnamed.message.contains("live_9f8e7d6c5b4a3928"), "\(unnamed.message)")
        let keyAsName = try #require(throws: SluiceError.self) {
            try JobConfiguration.resolve(file: nil, fileDirectory: nil, flags: flags { $0.headerEnv = ["x-api-key": "fp_0123456789abcdef"] })
        }
        #expect(!keyAsName.message.contains("fp_0123456789abcdef"), "\(keyAsName.message)")
        let redactor = try config.redactor(apiKey: "fp_the_key_1", environment: environment)
        #expect(redactor.scrub("k=fp_the_key_1 a=azure-secret-1 v=vk-secret-2") == "k=[REDACTED] a=[REDACTED] v=[REDACTED]")
    }

    /// The warning is about who can read the key: through a symlink (a secrets mount), the file it leads to decides.
    @Test func aKeyFileIsJudgedByTheFileASymlinkLeadsTo() throws {
        let dir = TemporaryDirectory()
        let key = dir.file("key.txt")
        try "fp_0123456789abcdef\n".write(toFile: key, atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: dir.file("key-link.txt"), withDestinationPath: key)
        chmod(key, 0o600)
        #expect(APIKeySource.permissionWarning(dir.file("key-link.txt")) == nil)
        chmod(key, 0o644)
        let warning = try #require(APIKeySource.permissionWarning(dir.file("key-link.txt")))
        #expect(warning.contains("mode 644") && warning.contains("chmod 600"), "\(warning)")
    }

    @Test func httpVersionIsStoredAndAnOlderCheckpointReadsAsAuto() throws {
        var file = JobFile()
        file.httpVersion = .http2
        let fromFile = try JobConfiguration.resolve(file: file, fileDirectory: nil, flags: flags())
        #expect(fromFile.httpVersion == .http2)
        let config = try JobConfiguration.resolve(file: file, fileDirectory: nil, flags: flags { $0.httpVersion = .http1 })
        #expect(config.httpVersion == .http1)
        let json = config.json()
        #expect(json.contains(#""httpVersion":"1.1""#), "\(json)")
        #expect(try JSONDecoder().decode(JobConfiguration.self, from: Data(json.utf8)) == config)
        var old = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        old["httpVersion"] = nil
        #expect(try JSONDecoder().decode(JobConfiguration.self, from: JSONSerialization.data(withJSONObject: old)).httpVersion == .auto)
        let plain = try #require(throws: SluiceError.self) {
            try JobConfiguration.resolve(
                file: file, fileDirectory: nil, flags: flags { $0.baseURL = "http://127.0.0.1:8080/v1" })
        }
        #expect(plain.message.contains("--http-version 2 needs an https base URL"), "\(plain.message)")
    }

    @Test func headerEnvRefusesAValueWhereTheNameBelongsAndTheAuthorizationHeader() throws {
        let typed = try #require(throws: SluiceError.self) {
            try JobConfiguration.resolve(file: nil, fileDirectory: nil, flags: flags { $0.headerEnv = ["x-api-key": "sk-live-abc/123"] })
        }
        #expect(typed.message.contains("NAME of an environment variable") && !typed.message.contains("sk-live-abc"), "\(typed.message)")
        let authorization = try #require(throws: SluiceError.self) {
            try JobConfiguration.resolve(file: nil, fileDirectory: nil, flags: flags { $0.headerEnv = ["Authorization": "TOKEN"] })
        }
        #expect(authorization.message.contains("--api-key-env"), "\(authorization.message)")
        let twice = try #require(throws: SluiceError.self) {
            try JobConfiguration.resolve(
                file: nil, fileDirectory: nil,
                flags: flags {
                    $0[\.gateway.extraHeaders] = ["X-Team": "a"]
                    $0.headerEnv = ["x-team": "TEAM"]
                })
        }
        #expect(twice.message.contains("both"), "\(twice.message)")
    }

    @Test func loopbackIsAnAddressNotAPrefix() {
        for host in ["127.0.0.1", "127.1.2.3", "127.255.255.254", "::1", "[::1]", "localhost", "LOCALHOST", "::ffff:127.0.0.1", "0:0:0:0:0:0:0:1"] {
            #expect(JobConfiguration.isLoopback(host), "\(host)")
        }
        for host in ["127.example.com", "127.0.0.1.nip.io", "localhost.example.com", "128.0.0.1", "10.0.0.1", "::2", "::ffff:10.0.0.1", ""] {
            #expect(!JobConfiguration.isLoopback(host), "\(host)")
        }
        // Plain http to a name that merely starts with 127. carries the key over the network: refused.
        #expect(throws: SluiceError.self) {
            try JobConfiguration.resolve(file: nil, fileDirectory: nil, flags: flags { $0.baseURL = "http://127.example.com/v1" })
        }
    }

    @Test func aKeyFileOthersCanReadIsWarnedAbout() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("key")
        for (mode, warned) in [(0o644, true), (0o640, true), (0o604, true), (0o600, false), (0o400, false)] {
            writeFile(path, Data("fp_file_key\n".utf8))
            #expect(chmod(path, mode_t(mode)) == 0)
            let warnings = Warnings()
            let key = try APIKeySource.resolve(
                environmentVariable: "K", keyFile: path, baseURL: "https://x.ai/v1", environment: [:], warn: { warnings.add($0) })
            #expect(key == "fp_file_key")
            #expect(warnings.all.count == (warned ? 1 : 0), "mode \(String(mode, radix: 8))")
            if let warning = warnings.all.first {
                #expect(warning.contains(path) && warning.contains("chmod 600 \(path)") && !warning.contains("fp_file_key"), "\(warning)")
            }
        }
    }

    @Test func theRedactorFindsEverySecretAlsoJSONEscaped() {
        let redactor = Redactor(secrets: ["sk/abc-123", nil, "ab", "vk-\"quoted\"-9"])
        #expect(redactor.scrub(#"{"m":"sk\/abc-123 and sk/abc-123"}"#) == #"{"m":"[REDACTED] and [REDACTED]"}"#)
        #expect(redactor.scrub(#"{"m":"vk-\"quoted\"-9"}"#) == #"{"m":"[REDACTED]"}"#)
        #expect(redactor.scrub("ab stays: too short to scrub") == "ab stays: too short to scrub")
    }
}

/// Collects the warnings a call gives.
final class Warnings: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func add(_ warning: String) { lock.withLock { list.append(warning) } }
    var all: [String] { lock.withLock { list } }
}
