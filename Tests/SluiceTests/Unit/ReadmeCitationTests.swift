import Foundation
import Testing

/// The README's Guarantees table names the tests that prove each promise; a renamed or imagined test would
/// leave a promise that nothing checks while the table still says something does.
struct ReadmeCitationTests {
    /// The repository's root, from this file's place in it (Tests/SluiceTests/Unit/).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The backticked names in the "tested by" column of the Guarantees table that look like a test suite
    /// (`CrashTortureTests`), a test function (`aSecondProcessOnTheSameJobIsRefused`) or both (`Suite.function`).
    static func citedNames(inReadme text: String) -> [String] {
        guard let start = text.range(of: "\n## Guarantees\n") else { return [] }
        let section = text[start.upperBound...]
        let end = section.range(of: "\n## ")?.lowerBound ?? section.endIndex
        let rows = section[..<end].split(separator: "\n").filter { $0.hasPrefix("|") && !$0.hasPrefix("|---") && !$0.hasPrefix("| promise") }
        let identifier = /^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)?$/
        return rows.flatMap { row -> [String] in
            let cells = row.split(separator: "|", omittingEmptySubsequences: true)
            guard let testedBy = cells.last else { return [] }
            return testedBy.split(separator: "`", omittingEmptySubsequences: false).enumerated()
                .filter { $0.offset % 2 == 1 }.map { String($0.element) }.filter { $0.wholeMatch(of: identifier) != nil }
        }
    }

    /// Every Swift file under Tests/, as one text per file.
    static func testSources() throws -> [String] {
        let tests = root.appendingPathComponent("Tests")
        let enumerator = try #require(FileManager.default.enumerator(at: tests, includingPropertiesForKeys: nil))
        return try enumerator.compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }.map { try String(contentsOf: $0, encoding: .utf8) }
    }

    /// `Suite` is a `struct Suite`, `function` a `func function(`, and `Suite.function` both, in the same file.
    static func exists(_ name: String, in sources: [String]) -> Bool {
        let parts = name.split(separator: ".").map(String.init)
        func declares(_ part: String, _ source: String) -> Bool {
            part.first?.isUppercase == true ? source.contains("struct \(part) ") || source.contains("struct \(part){") : source.contains("func \(part)(")
        }
        return sources.contains { source in parts.allSatisfy { declares($0, source) } }
    }

    @Test func everyTestTheGuaranteesTableCitesExists() throws {
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        let cited = Self.citedNames(inReadme: readme)
        #expect(cited.count >= 15, "the table was read: \(cited)")
        #expect(cited.contains("CrashTortureTests") && cited.contains("BatchModeTests.aCrashAtAnyStepNeitherLosesNorRepeatsABatch"), "\(cited)")
        let sources = try Self.testSources()
        let missing = cited.filter { !Self.exists($0, in: sources) }
        #expect(missing.isEmpty, "the README cites tests that do not exist: \(missing)")
    }

    @Test func aCitationOfNoTestIsCaught() throws {
        let sources = try Self.testSources()
        let table = """
            text
            ## Guarantees

            | promise | tested by |
            |---|---|
            | a `kill -9` | `CrashTortureTests`, `noSuchTestAnywhere`, `BatchModeTests.noSuchFunction`, `Tests/SluiceTests/Fixtures/bad-input` |

            ## Next
            | x | `notCited` |
            """
        let cited = Self.citedNames(inReadme: table)
        #expect(cited == ["CrashTortureTests", "noSuchTestAnywhere", "BatchModeTests.noSuchFunction"])
        #expect(cited.filter { !Self.exists($0, in: sources) } == ["noSuchTestAnywhere", "BatchModeTests.noSuchFunction"])
    }
}
