import Foundation
import Testing

@testable import SluiceCore

/// The official JSON-Schema-Test-Suite (draft 2020-12) against `JSONSchema`. The suite is not
/// committed: `make test` downloads the `jsonschema` sdist from PyPI, which carries it, and
/// unpacks it into `.build/json-schema-test-suite`; SLUICE_JSON_SCHEMA_SUITE may name another
/// `tests/draft2020-12` folder.
///
/// Every top-level file of the folder runs, so a newer suite's new file cannot go unnoticed; what
/// is left out is listed once below with the reason, and an entry that no longer matches anything,
/// or whose cases would all pass, fails the test so the list stays honest.
struct JSONSchemaSuiteTests {
    static let folder: URL = {
        if let path = ProcessInfo.processInfo.environment["SLUICE_JSON_SCHEMA_SUITE"], !path.isEmpty { return URL(fileURLWithPath: path) }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return root.appendingPathComponent(".build/json-schema-test-suite/tests/draft2020-12")
    }()

    /// What `JSONSchema` deliberately does not do, each reason once. An entry is a file, a group
    /// (`file › group description`) or one case (`file › group › case description`).
    static let notSupported: [(reason: String, entries: [String])] = [
        (
            "$dynamicRef/$dynamicAnchor (dynamic scope)",
            ["dynamicRef.json"]
        ),
        (
            "unevaluatedItems/unevaluatedProperties (annotation collection across applicators)",
            [
                "unevaluatedItems.json", "unevaluatedProperties.json",
                "not.json › collect annotations inside a 'not', even if collection is disabled",
                "ref.json › ref creates new scope when adjacent to keywords",
            ]
        ),
        (
            "references to other documents (remote $ref, custom metaschemas and their $vocabulary)",
            [
                "refRemote.json", "vocabulary.json", "defs.json › validate definition against metaschema",
                "ref.json › remote ref, containing refs itself",
            ]
        ),
        (
            "$anchor (plain-name fragments)",
            [
                "anchor.json", "ref.json › order of evaluation: $id and $anchor and $ref", "ref.json › URN base URI with URN and anchor ref",
            ]
        ),
        (
            "subschemas with their own $id (embedded schema resources) and $refs resolved against them",
            [
                "ref.json › Recursive references between schemas", "ref.json › $id must be resolved against nearest parent, not just immediate parent",
                "ref.json › refs with relative uris and defs", "ref.json › relative refs with absolute uris and defs",
                "ref.json › order of evaluation: $id and $ref", "ref.json › URN ref with nested pointer ref", "ref.json › ref with absolute-path-reference",
                "ref.json › ref to if", "ref.json › ref to then", "ref.json › ref to else",
            ]
        ),
    ]

    struct Tally {
        var files = 0, cases = 0, failed = 0
        var excludedFiles: [String] = []
        var excludedCases: [String: Int] = [:]
        /// Per exclusion entry: how many of its cases the validator would get wrong (or could not load).
        var entryWrong: [String: Int] = [:]
    }

    @Test func officialTestSuite() throws {
        let folder = Self.folder
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isFolder), isFolder.boolValue else {
            Issue.record(
                """
                the JSON-Schema-Test-Suite is missing at \(folder.path): `make test` downloads it from PyPI (the jsonschema sdist) \
                into .build/json-schema-test-suite; or set SLUICE_JSON_SCHEMA_SUITE to a tests/draft2020-12 folder
                """)
            return
        }
        let reasons = Dictionary(uniqueKeysWithValues: Self.notSupported.flatMap { item in item.entries.map { ($0, item.reason) } })
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }.sorted()
        var tally = Tally()
        for name in names {
            if let reason = reasons[name] {
                let groups = try Self.groups(folder.appendingPathComponent(name))
                tally.excludedFiles.append(name)
                tally.excludedCases[reason, default: 0] += groups.reduce(0) { $0 + $1.cases.count }
                tally.entryWrong[name] = 1  // whole files are not checked for staleness: parts of them pass by accident
                continue
            }
            tally.files += 1
            for group in try Self.groups(folder.appendingPathComponent(name)) {
                run(group, file: name, reasons: reasons, tally: &tally)
            }
        }
        let excluded = tally.excludedCases.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }
        print(
            """
            official suite \(folder.path): \(tally.files) files run, \(tally.cases) cases run, \(tally.failed) failed; \
            excluded: \(tally.excludedFiles.count) files (\(tally.excludedFiles.joined(separator: ", "))), \
            \(tally.excludedCases.values.reduce(0, +)) cases (\(excluded.joined(separator: "; ")))
            """)
        let unused = reasons.keys.filter { tally.entryWrong[$0] == nil }.sorted()
        #expect(unused.isEmpty, "exclusions that match nothing in the suite: \(unused)")
        let stale = tally.entryWrong.filter { $0.value == 0 }.keys.sorted()
        #expect(stale.isEmpty, "exclusions whose cases all pass now, so they should run: \(stale)")
        #expect(tally.files >= 30 && tally.cases >= 700, "the suite looks incomplete: \(tally.files) files, \(tally.cases) cases")
        #expect(tally.failed == 0)
    }

    struct Group {
        var description: String
        var schema: Any
        var cases: [(description: String, data: Any, valid: Bool)]
    }

    static func groups(_ file: URL) throws -> [Group] {
        let list = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: file), options: [.fragmentsAllowed]) as? [[String: Any]])
        return try list.map { group in
            let tests = try #require(group["tests"] as? [[String: Any]], "\(file.lastPathComponent): a group without tests")
            return Group(
                description: try #require(group["description"] as? String), schema: try #require(group["schema"]),
                cases: try tests.map { test in
                    (try #require(test["description"] as? String), try #require(test["data"]), try #require(test["valid"] as? Bool))
                })
        }
    }

    /// Runs one group's cases, or tallies them as excluded when the group or a case is listed.
    private func run(_ group: Group, file: String, reasons: [String: String], tally: inout Tally) {
        let groupKey = "\(file) › \(group.description)"
        let schema: Result<JSONSchema, Error> = Result { try JSONSchema(jsonObject: group.schema) }
        for test in group.cases {
            let caseKey = "\(groupKey) › \(test.description)"
            let excludedBy = reasons[groupKey] != nil ? groupKey : reasons[caseKey] != nil ? caseKey : nil
            let outcome: String?  // nil when the validator agrees with the suite
            switch schema {
            case .failure(let error): outcome = "the schema does not load: \(error)"
            case .success(let schema):
                let violation = schema.validate(test.data)
                outcome = (violation == nil) == test.valid ? nil : "expected \(test.valid ? "valid" : "invalid"), got \(violation?.description ?? "valid")"
            }
            if let excludedBy, let reason = reasons[excludedBy] {
                tally.excludedCases[reason, default: 0] += 1
                tally.entryWrong[excludedBy, default: 0] += outcome == nil ? 0 : 1
                continue
            }
            tally.cases += 1
            if let outcome {
                tally.failed += 1
                Issue.record("\(caseKey): \(outcome)")
            }
        }
    }
}
