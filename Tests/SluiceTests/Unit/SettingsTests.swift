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
