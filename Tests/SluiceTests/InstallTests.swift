import Foundation
import Testing

/// What `make install` takes from the binary itself: the version line, the completion scripts and the
/// description the manual page is generated from. The install is a release build (minutes), so these run
/// against the debug binary `make test` already built; the install itself was checked by hand.
@Suite
struct InstallTests {
    /// `make test` passes the commit to the build and to the tests alike; a plain `swift test` builds "unknown".
    static let expectedCommit = ProcessInfo.processInfo.environment["SLUICE_COMMIT"].flatMap { $0.isEmpty ? nil : $0 }

    @Test func versionNamesTheNumberAndTheCommit() async throws {
        let run = try await runSluice(["--version"])
        #expect(run.status == 0, "\(run.stderr)")
        let line = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let match = try #/^sluice (\d+\.\d+\.\d+) \(commit ([0-9a-f]{7,40}|unknown)\)$/#.wholeMatch(in: line)
        #expect(match != nil, "unexpected version line: \(line)")
        if let expected = Self.expectedCommit, let match {
            #expect(String(match.2) == expected, "built from \(expected), says \(line)")
        }
    }

    struct Shell: CustomTestStringConvertible, Sendable {
        var name: String
        /// Lines that register the script for `sluice` and offer `run` (and its options) after it.
        var markers: [String]
        var testDescription: String { name }
    }

    static let shells: [Shell] = [
        Shell(name: "bash", markers: ["complete -o filenames -F _sluice sluice", "_sluice_run()", "--input"]),
        Shell(name: "zsh", markers: ["#compdef sluice", "'run:", "_sluice_run()", "--input"]),
        Shell(name: "fish", markers: ["complete -c 'sluice'", "-fa 'run'", "\"sluice run\"", "-l 'input'"]),
    ]

    @Test(arguments: shells)
    func completionScriptOffersTheSubcommands(_ shell: Shell) async throws {
        let run = try await runSluice(["--generate-completion-script", shell.name])
        #expect(run.status == 0, "\(run.stderr)")
        for marker in shell.markers {
            #expect(run.stdout.contains(marker), "\(shell.name) script lacks \(marker)")
        }
    }

    /// The bash script is run, not just read: sourced the way bash-completion loads it, then asked what
    /// follows `sluice ` and `sluice run --inp`.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/bin/bash")))
    func bashCompletionCompletesSubcommandsAndOptions() async throws {
        let dir = TemporaryDirectory()
        let script = try await runSluice(["--generate-completion-script", "bash"])
        writeFile(dir.file("sluice.bash"), Data(script.stdout.utf8))
        let session = #"""
            source "$1" || exit 1
            complete -p sluice
            COMP_WORDS=(sluice ""); COMP_CWORD=1; COMP_LINE="sluice "; COMP_POINT=${#COMP_LINE}
            _sluice sluice "" sluice
            echo "top: ${COMPREPLY[*]}"
            COMPREPLY=()
            COMP_WORDS=(sluice run --inp); COMP_CWORD=2; COMP_LINE="sluice run --inp"; COMP_POINT=${#COMP_LINE}
            _sluice sluice --inp run
            echo "run: ${COMPREPLY[*]}"
            """#
        let bash = try await Child("/bin/bash", ["--norc", "--noprofile", "-c", session, "bash", dir.file("sluice.bash")]).wait(timeout: 30)
        #expect(bash.status == 0, "\(bash.stderr)")
        let lines = bash.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "complete -o filenames -F _sluice sluice", "\(bash.stdout)")
        let top = lines.first { $0.hasPrefix("top: ") }?.dropFirst(5).split(separator: " ").map(String.init) ?? []
        let options = lines.first { $0.hasPrefix("run: ") }?.dropFirst(5).split(separator: " ").map(String.init) ?? []
        #expect(top.contains("run"), "\(bash.stdout)")
        #expect(options.contains("--input"), "\(bash.stdout)")
    }

    /// The GenerateManual plugin reads this; if it cannot, `make install` fails late, after a release build.
    @Test func manualSourceDescribesTheCommands() async throws {
        let run = try await runSluice(["--experimental-dump-help"])
        #expect(run.status == 0, "\(run.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        #expect(object?["serializationVersion"] as? Int == 0)
        let command = object?["command"] as? [String: Any]
        #expect(command?["commandName"] as? String == "sluice")
        let subcommands = (command?["subcommands"] as? [[String: Any]] ?? []).compactMap { $0["commandName"] as? String }
        #expect(subcommands.contains("run"), "\(subcommands)")
    }
}
