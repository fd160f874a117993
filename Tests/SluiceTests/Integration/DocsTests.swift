import Foundation
import Testing

/// README.md and docs/*.md are the manual a newcomer walks: every option the binaries' `--help` lists must be
/// described somewhere in them, and every relative link in them must lead to a file, and a heading, that exists.
@Suite
struct DocsTests {
    /// The repository's root, from this file's place in it (Tests/SluiceTests/Integration/).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// README.md and every docs/*.md under `root`, keyed by their path from it.
    static func documents(root: URL = root) throws -> [String: String] {
        let guides = try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("docs").path).filter { $0.hasSuffix(".md") }
        let names = ["README.md"] + guides.map { "docs/" + $0 }
        return try Dictionary(uniqueKeysWithValues: names.map { ($0, try String(contentsOf: root.appendingPathComponent($0), encoding: .utf8)) })
    }

    /// Every `--long-flag` in a text, whole (`--rpm` is not found in `--rpm-window`).
    static func longFlags(in text: String) -> Set<String> {
        Set(text.matches(of: /--[A-Za-z0-9][A-Za-z0-9-]*/).map { String($0.output) })
    }

    /// The long flags of a swift-argument-parser help text. Its option entries are the lines indented by exactly two
    /// spaces that start with `-` (`  -h, --help`, `  --input <PATH>`, `  --adaptive/--no-adaptive`); the overview's
    /// examples and the wrapped descriptions are not entries.
    static func optionFlags(inHelp help: String) -> Set<String> {
        longFlags(in: help.split(separator: "\n").filter { $0.hasPrefix("  -") }.joined(separator: "\n"))
    }

    /// The subcommands a help text lists: the first word of each entry under `SUBCOMMANDS:`, up to the blank line.
    static func subcommands(inHelp help: String) -> [String] {
        guard let start = help.range(of: "SUBCOMMANDS:\n") else { return [] }
        return help[start.upperBound...].split(separator: "\n", omittingEmptySubsequences: false).prefix { !$0.isEmpty }
            .filter { $0.hasPrefix("  ") && !$0.hasPrefix("   ") }.compactMap { $0.split(separator: " ").first.map(String.init) }
    }

    /// The text outside code: fenced blocks and inline code spans (which may wrap) blanked out, so `[x](y)` inside code
    /// is no link.
    static func prose(_ text: String) -> String {
        var inFence = false
        let unfenced = text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            if line.hasPrefix("```") {
                inFence.toggle()
                return ""
            }
            return inFence ? "" : String(line)
        }
        return unfenced.joined(separator: "\n").replacing(/`[^`]*`/, with: "")
    }

    /// A heading's anchor as GitHub makes it: lowercase, spaces to `-`, punctuation other than `-` and `_` removed.
    static func slug(_ heading: String) -> String {
        String(
            heading.trimmingCharacters(in: .whitespaces).lowercased().compactMap { character -> Character? in
                if character == " " { return "-" }
                return character.isLetter || character.isNumber || character == "-" || character == "_" ? character : nil
            })
    }

    /// The anchors of a markdown text's headings (a repeated heading gets `-1`, `-2`, ... as on GitHub).
    static func anchors(in text: String) -> Set<String> {
        var seen: [String: Int] = [:]
        var anchors = Set<String>()
        var inFence = false
        for line in text.split(separator: "\n") {
            if line.hasPrefix("```") { inFence.toggle() }
            guard !inFence, let heading = line.wholeMatch(of: /#{1,6}\s+(.+?)\s*#*/) else { continue }
            let base = slug(String(heading.output.1))
            let count = seen[base, default: 0]
            seen[base] = count + 1
            anchors.insert(count == 0 ? base : "\(base)-\(count)")
        }
        return anchors
    }

    /// The relative links of `documents` (paths from `root`; not http(s) or mailto), each with what is wrong with
    /// it: nil, the file it names does not exist, or that file has no heading whose anchor is the link's `#anchor`.
    static func checkLinks(in documents: [String: String], root: URL) -> (checked: Int, problems: [String]) {
        var checked = 0
        var problems: [String] = []
        for (name, text) in documents.sorted(by: { $0.key < $1.key }) {
            let source = root.appendingPathComponent(name)
            for match in prose(text).matches(of: /\[[^\]]*\]\(([^)\s]+)\)/) {
                let target = String(match.output.1)
                if target.hasPrefix("http://") || target.hasPrefix("https://") || target.hasPrefix("mailto:") { continue }
                checked += 1
                let parts = target.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                let file = parts[0].isEmpty ? source : source.deletingLastPathComponent().appendingPathComponent(parts[0]).standardizedFileURL
                guard FileManager.default.fileExists(atPath: file.path) else {
                    problems.append("\(name) links to \(target): there is no file \(file.path)")
                    continue
                }
                guard parts.count == 2 else { continue }
                let headings = (try? String(contentsOf: file, encoding: .utf8)).map { anchors(in: $0) } ?? []
                if !headings.contains(parts[1]) {
                    problems.append("\(name) links to \(target): \(file.lastPathComponent) has no heading whose anchor is #\(parts[1])")
                }
            }
        }
        return (checked, problems)
    }

    @Test func everyOptionTheHelpListsIsDocumented() async throws {
        let top = try await runSluice(["--help"])
        #expect(top.status == 0, "sluice --help: \(top.stderr)")
        let commands = Self.subcommands(inHelp: top.stdout)
        let expected = ["run", "status", "export", "retry-failed", "validate", "list", "cancel", "report", "workers"]
        #expect(Set(expected).isSubset(of: commands), "the subcommands were read from sluice --help: \(commands)")
        var listed = ["sluice --help": Self.optionFlags(inHelp: top.stdout)]
        for command in commands {
            let help = try await runSluice([command, "--help"])
            #expect(help.status == 0, "sluice \(command) --help: \(help.stderr)")
            listed["sluice \(command) --help"] = Self.optionFlags(inHelp: help.stdout)
        }
        let mock = try await Child(Binaries.mock, ["--help"]).wait(timeout: 30)
        #expect(mock.status == 0, "sluice-mock --help: \(mock.stderr)")
        listed["sluice-mock --help"] = Self.optionFlags(inHelp: mock.stdout)
        #expect((listed["sluice run --help"]?.count ?? 0) > 50 && (listed["sluice-mock --help"]?.count ?? 0) > 30, "the options were read: \(listed)")

        let documented = Self.longFlags(in: try Self.documents().values.joined(separator: "\n"))
        for (help, flags) in listed.sorted(by: { $0.key < $1.key }) {
            let missing = flags.subtracting(documented).sorted()
            #expect(missing.isEmpty, "\(help) lists options that neither README.md nor docs/*.md mention: \(missing)")
        }
    }

    @Test func everyRelativeLinkLeadsToAFileAndHeadingThatExist() throws {
        let documents = try Self.documents()
        #expect(documents.count >= 15, "README.md and the guides were read: \(documents.keys.sorted())")
        let (checked, problems) = Self.checkLinks(in: documents, root: Self.root)
        #expect(checked >= 40, "the links were read: \(checked)")
        #expect(problems.isEmpty, "broken links:\n\(problems.joined(separator: "\n"))")
    }

    /// The checks above can fail: an option no document mentions and each kind of broken link are reported.
    @Test func aMissingOptionAndBrokenLinksAreCaught() throws {
        let help = """
            Examples:
              sluice run --in-an-example x
            --wrapped-example-line

            OPTIONS:
              --input <PATH>          Input file, e.g. --input-in-a-description.
              --adaptive/--no-adaptive
                                      Learn the limit.
              -h, --help              Show help information.

            SUBCOMMANDS:
              run                     Run a job.
              retry-failed            Send failed items
                                      again.

              See 'sluice help <subcommand>' for detailed help.
            """
        #expect(Self.optionFlags(inHelp: help) == ["--input", "--input-in-a-description", "--adaptive", "--no-adaptive", "--help"])
        #expect(Self.subcommands(inHelp: help) == ["run", "retry-failed"])
        let documented = Self.longFlags(in: "Give `--input` and `--no-adaptive-x`, or --help.")
        #expect(Self.optionFlags(inHelp: help).subtracting(documented) == ["--input-in-a-description", "--adaptive", "--no-adaptive"])

        #expect(Self.slug("429s: one item's wait, or the whole job's") == "429s-one-items-wait-or-the-whole-jobs")
        #expect(Self.slug("Several workers on one job (PostgreSQL)") == "several-workers-on-one-job-postgresql")
        #expect(Self.slug("`status --json`_fields") == "status---json_fields")

        let dir = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir.file("docs"), withIntermediateDirectories: true)
        let documents = [
            "README.md": """
            # Top
            [guide](docs/a.md#networks-tls-and-proxies) [gone](docs/missing.md) [bad
            anchor](docs/a.md#nope)
            [second](docs/a.md#again-1) [web](https://example.com/missing.md) `[code](nowhere.md)`
            ```
            [fenced](nowhere-either.md)
            ```
            """,
            "docs/a.md": "# A\n\n## Networks: TLS and proxies\n\n## Again\n\n## Again\n\n[back](../README.md#top) [here](#a) [there](#b)\n",
        ]
        for (name, text) in documents { writeFile(dir.file(name), Data(text.utf8)) }
        let (checked, problems) = Self.checkLinks(in: try Self.documents(root: URL(fileURLWithPath: dir.path)), root: URL(fileURLWithPath: dir.path))
        #expect(checked == 7, "\(problems)")
        #expect(problems.count == 3, "\(problems)")
        #expect(problems.contains { $0.contains("docs/missing.md: there is no file") }, "\(problems)")
        #expect(problems.contains { $0.contains("docs/a.md#nope: a.md has no heading whose anchor is #nope") }, "\(problems)")
        #expect(problems.contains { $0.hasPrefix("docs/a.md links to #b") }, "\(problems)")
    }
}
