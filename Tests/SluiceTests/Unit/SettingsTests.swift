import Foundation
import Testing

@testable import SluiceCore

/// `JobConfiguration.settings` is the one place a setting is described: these tests hold the rows to the
/// properties they fill, to the checkpoint's stored form as earlier builds wrote it, to the command line,
/// and to the docs' table.
struct SettingsTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/stored-settings").path

    static func fixture(_ name: String) throws -> String {
        try String(contentsOfFile: fixtures + "/" + name, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The stored forms were written by 68dbae1 (before the rows existed) for a job file setting every key,
    /// and for a job with nothing but an input and a base URL: today's build must write them byte for byte.
    @Test func theStoredFormIsTheOneEarlierBuildsWrote() throws {
        let every = try JobConfiguration.resolve(
            file: try JobFile.load(path: Self.fixtures + "/every-setting.job.json"), fileDirectory: "", flags: JobFile())
        #expect(every.json() == (try Self.fixture("every-setting.stored.json")))

        var flags = JobFile()
        flags.inputs = ["in.jsonl"]
        flags.baseURL = "http://127.0.0.1:9/v1"
        let defaults = try JobConfiguration.resolve(file: nil, fileDirectory: nil, flags: flags)
        #expect(defaults.json() == (try Self.fixture("defaults.stored.json")))

        for (name, job) in [("every setting", every), ("defaults", defaults)] {
            let read = try JSONDecoder().decode(JobConfiguration.self, from: Data(job.json().utf8))
            #expect(read == job, "\(name): the stored form reads back as the settings it was written from")
        }
    }

    /// A checkpoint written before a setting existed lacks its key: the setting keeps its default.
    @Test func aStoredFormWithoutNewerKeysReadsWithTheirDefaults() throws {
        let old =
            #"{"name":"n","inputs":["a.jsonl"],"output":"o","errors":"e","checkpoint":"c","baseURL":"https://x.ai/v1","apiKeyEnv":"K","gateway":{"cache":"exact"}}"#
        let read = try JSONDecoder().decode(JobConfiguration.self, from: Data(old.utf8))
        #expect(read.gateway.cache == .exact && read.gateway.profile == .floopy)
        #expect(read.concurrency == 16 && read.httpVersion == .auto && read.maxRetryAfter == 30 && read.mode == .live)
    }

    /// The settings merge in layers: defaults, the job file, the flags. A flag wins over the file even against a
    /// more specific file key (`"seed"` in the file loses to `--body seed=9`); within one layer the specific key wins.
    @Test func aFlagWinsOverTheFileEvenAgainstAMoreSpecificKey() throws {
        func seed(file: [String: JSONValue] = [:], fileSeed: Int? = nil, flagBody: [String: JSONValue] = [:], flagSeed: Int? = nil) throws -> JSONValue? {
            var job = JobFile()
            job.inputs = ["in.jsonl"]
            job.bodyDefaults = file
            job[body: "seed"] = fileSeed
            var flags = JobFile()
            flags.bodyDefaults = flagBody
            flags[body: "seed"] = flagSeed
            return try JobConfiguration.resolve(file: job, fileDirectory: nil, flags: flags).bodyDefaults["seed"]
        }
        #expect(try seed(file: ["seed": .integer(1)], fileSeed: 7) == .integer(7), "in one layer the specific key wins")
        #expect(try seed(fileSeed: 7, flagBody: ["seed": .integer(9)]) == .integer(9), "a flag wins over the file")
        #expect(try seed(fileSeed: 7, flagBody: ["seed": .integer(9)], flagSeed: 5) == .integer(5))
        #expect(try seed(file: ["seed": .integer(1), "temperature": .integer(0)]) == .integer(1))

        // A file's template that a flag replaces is never opened.
        let dir = TemporaryDirectory()
        writeFile(dir.file("t.json"), Data(#"{"user": "{{text}}"}"#.utf8))
        var file = JobFile()
        file.inputs = ["in.jsonl"]
        file.template = .file("missing.json")
        var flags = JobFile()
        flags.template = .file(dir.file("t.json"))
        #expect(try JobConfiguration.resolve(file: file, fileDirectory: dir.path, flags: flags).template?.user == "{{text}}")
    }

    /// `null` in a job file is "not given"; a stored form that lacks what every checkpoint has is refused, not defaulted.
    @Test func nullIsNotGivenAndAStoredFormWithoutItsCoreIsRefused() throws {
        let dir = TemporaryDirectory()
        writeFile(dir.file("job.json"), Data(#"{"inputs": ["in.jsonl"], "model": null, "properties": null, "template": null, "concurrency": null}"#.utf8))
        let job = try JobConfiguration.resolve(file: try JobFile.load(path: dir.file("job.json")), fileDirectory: dir.path, flags: JobFile())
        #expect(job.model == nil && job.gateway.properties.isEmpty && job.template == nil && job.concurrency == 16)

        let withoutBaseURL = #"{"name":"n","inputs":["a.jsonl"],"output":"o","errors":"e","checkpoint":"c","apiKeyEnv":"K"}"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(JobConfiguration.self, from: Data(withoutBaseURL.utf8)) }
        let nullGateway =
            #"{"name":"n","inputs":["a.jsonl"],"output":"o","errors":"e","checkpoint":"c","baseURL":"https://x.ai/v1","apiKeyEnv":"K","gateway":null}"#
        #expect(try JSONDecoder().decode(JobConfiguration.self, from: Data(nullGateway.utf8)).gateway == GatewaySettings())
    }

    /// Every stored property has its row: a property added without one would be neither read, merged, checked nor stored.
    @Test func everyPropertyHasARowAndEveryRowItsOwnKeys() {
        let rows = JobConfiguration.settings
        let topLevel = Set(rows.filter { $0.stored.count == 1 }.map { $0.stored[0] })
        let properties = Set(Mirror(reflecting: JobConfiguration()).children.compactMap(\.label)).subtracting(["gateway"])
        #expect(properties.subtracting(topLevel).isEmpty, "properties without a row: \(properties.subtracting(topLevel).sorted())")
        #expect(topLevel.subtracting(properties).isEmpty, "rows stored under no property's name: \(topLevel.subtracting(properties).sorted())")
        let gatewayRows = Set(rows.filter { $0.stored.first == "gateway" }.map { $0.stored[1] })
        #expect(gatewayRows == Set(Mirror(reflecting: GatewaySettings()).children.compactMap(\.label)))

        for keys in [rows.map(\.key), rows.compactMap(\.flag), rows.map { $0.stored.joined(separator: ".") }.filter { !$0.isEmpty }] {
            #expect(Set(keys).count == keys.count, "a key, flag or stored key given twice: \(keys.sorted())")
        }
        #expect(rows.allSatisfy { !$0.help.isEmpty && $0.help.hasSuffix(".") })
    }

    /// Each row's flag is one `sluice run` takes, so a setting cannot be declared without its flag.
    @Test func everyRowsFlagIsOnTheCommandLine() async throws {
        let help = try await runSluice(["run", "--help"])
        let flags = DocsTests.optionFlags(inHelp: help.stdout)
        let missing = JobConfiguration.settings.compactMap(\.flag).filter { !flags.contains($0) }
        #expect(missing.isEmpty, "rows whose flag `sluice run` lacks: \(missing)")
    }

    /// The docs' table is written from the rows (`make settings-table`); a row changed without it fails here.
    @Test func theDocsTableIsTheOneTheRowsWrite() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/jobs-and-inputs.md").path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        guard let start = text.range(of: Setting.tableStart), let end = text.range(of: Setting.tableEnd) else {
            Issue.record("docs/jobs-and-inputs.md has no settings table markers")
            return
        }
        let written = String(text[start.lowerBound..<end.upperBound])
        let expected = Setting.markdownTable()
        if written != expected, ProcessInfo.processInfo.environment["SLUICE_WRITE_SETTINGS_TABLE"] == "1" {
            try text.replacingCharacters(in: start.lowerBound..<end.upperBound, with: expected).write(toFile: path, atomically: true, encoding: .utf8)
            return
        }
        #expect(written == expected, "docs/jobs-and-inputs.md's settings table is stale: run `make settings-table`")
    }
}
