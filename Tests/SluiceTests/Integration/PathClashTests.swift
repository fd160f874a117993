import Foundation
import Testing

@testable import SluiceCore

/// Nothing the user owns is ever overwritten: a file sluice would write that is a file the job reads or
/// keeps, however it is spelled (`./`, `..`, a symlink, a symlinked folder, a hard link), is refused
/// with exit 2 before anything is sent, and every file is left byte for byte as it was.
@Suite struct PathClashTests {
    /// One refused command line, run in a workspace (`Workspace`) as its current folder.
    struct Clash: Sendable, CustomTestStringConvertible {
        var name: String
        var arguments: [String]
        /// A part of the message: the two roles and paths.
        var expected: String
        var testDescription: String { name }

        init(_ name: String, _ arguments: [String], _ expected: String) {
            self.name = name
            self.arguments = arguments
            self.expected = expected
        }
    }

    static let prompts = ["run", "--input", "in.jsonl", "--model", "m"]
    static let jobFile = ["run", "job.json"]

    static let runClashes: [Clash] = [
        Clash("errors is the input", prompts + ["--errors", "in.jsonl"], "--errors in.jsonl is the input in.jsonl"),
        Clash("output is ./input", prompts + ["--output", "./in.jsonl"], "--output ./in.jsonl is the input in.jsonl"),
        Clash("output is the input through ..", prompts + ["--output", "sub/../in.jsonl"], "--output sub/../in.jsonl is the input in.jsonl"),
        Clash("output is a symlink to the input", prompts + ["--output", "in-link.jsonl"], "--output in-link.jsonl is the input in.jsonl"),
        Clash("errors is a hard link to the input", prompts + ["--errors", "in-hard.jsonl"], "--errors in-hard.jsonl is the input in.jsonl"),
        Clash("output in a symlinked folder is the input", prompts + ["--output", "alias/in.jsonl"], "--output alias/in.jsonl is the input in.jsonl"),
        Clash("checkpoint is a symlink to the input", prompts + ["--checkpoint", "in-link.jsonl"], "--checkpoint in-link.jsonl is the input in.jsonl"),
        Clash("output is the checkpoint", prompts + ["--output", "out.db", "--checkpoint", "out.db"], "--output out.db is the checkpoint out.db"),
        Clash("errors is ./checkpoint", prompts + ["--errors", "c.db", "--checkpoint", "./c.db"], "--errors c.db is the checkpoint ./c.db"),
        Clash(
            "output is the checkpoint's -wal", prompts + ["--checkpoint", "c.db", "--output", "c.db-wal"],
            "--output c.db-wal is the checkpoint's -wal file c.db-wal"),
        Clash("errors is the output", prompts + ["--output", "r.jsonl", "--errors", "alias/r.jsonl"], "--output r.jsonl is the errors file alias/r.jsonl"),
        Clash("partial results file is a symlink to the input", prompts + ["--output", "data"], "the partial results file data.partial is the input in.jsonl"),
        Clash(
            "output is the template", prompts + ["--template", "template.json", "--output", "template.json"],
            "--output template.json is the template template.json"),
        Clash(
            "checkpoint is a hard link to the template", prompts + ["--template", "template.json", "--checkpoint", "template-hard.json"],
            "--checkpoint template-hard.json is the template template.json"),
        Clash("errors is ./schema", prompts + ["--schema", "schema.json", "--errors", "./schema.json"], "--errors ./schema.json is the schema schema.json"),
        Clash(
            "output is a symlink to the schema", prompts + ["--schema", "schema.json", "--output", "schema-link.json"],
            "--output schema-link.json is the schema schema.json"),
        Clash("checkpoint is the CA file", prompts + ["--ca-file", "ca.pem", "--checkpoint", "ca-link.pem"], "--checkpoint ca-link.pem is the CA file ca.pem"),
        Clash("errors is the API key file", prompts + ["--api-key-file", "key.txt", "--errors", "key.txt"], "--errors key.txt is the API key file key.txt"),
        Clash("output is a --reuse checkpoint", prompts + ["--reuse", "old.db", "--output", "./old.db"], "--output ./old.db is the --reuse checkpoint old.db"),
        Clash(
            "PostgreSQL job: errors is the input", prompts + ["--checkpoint", "postgres://sluice@127.0.0.1:9/jobs?job=x", "--errors", "./in.jsonl"],
            "--errors ./in.jsonl is the input in.jsonl"),
        Clash("checkpoint is the job file", jobFile + ["--checkpoint", "job.json"], "--checkpoint job.json is the job file job.json"),
        Clash("output is a hard link to the job file", jobFile + ["--output", "job-hard.json"], "--output job-hard.json is the job file job.json"),
        Clash("output is the job file's template", jobFile + ["--output", "./template.json"], "--output ./template.json is the template template.json"),
        Clash(
            "dry run: checkpoint is the job file's template", jobFile + ["--dry-run", "--checkpoint", "template-hard.json"],
            "--checkpoint template-hard.json is the template template.json"),
    ]

    @Test(arguments: runClashes)
    func runRefusesAClash(_ clash: Clash) async throws {
        let mock = try await MockGatewayProcess()
        let workspace = try Workspace()
        let before = workspace.snapshot()
        let finished = await workspace.sluice(clash.arguments + ["--base-url", mock.baseURL, "--no-progress"])
        #expect(finished.status == 2, "\(finished.stderr)")
        #expect(finished.stderr.contains("sluice: error: \(clash.expected) (same file): sluice would overwrite it"), "\(finished.stderr)")
        #expect(try await mock.stats().totalRequests == 0)
        #expect(workspace.snapshot() == before)
    }

    static let checkpoint = "in.results.jsonl.sluice.db"

    static let otherClashes: [Clash] = [
        Clash("export over the input", ["export", checkpoint, "--output", "in-link.jsonl"], "export --output in-link.jsonl is the input in.jsonl"),
        Clash(
            "export over ./checkpoint", ["export", "job.json", "--output", "./" + checkpoint], "export --output ./\(checkpoint) is the checkpoint \(checkpoint)"
        ),
        Clash("export over the results", ["export", checkpoint, "--output", "alias/in.results.jsonl"], "is the results file in.results.jsonl"),
        Clash("export over the template", ["export", "job.json", "--output", "template-hard.json"], "is the template template.json"),
        Clash("report over the job file", ["report", "job.json", "--html", "job-hard.json"], "--html job-hard.json is the job file job.json"),
        Clash("report over the input", ["report", checkpoint, "--html", "sub/../in.jsonl"], "--html sub/../in.jsonl is the input in.jsonl"),
        Clash("report over the checkpoint's -wal", ["report", checkpoint, "--html", checkpoint + "-wal"], "is the checkpoint's -wal file"),
        Clash("retry-failed whose errors are the template", ["retry-failed", "job2.json"], "--errors template-hard.json is the template template.json"),
        Clash("validate: errors is ./input", ["validate", "--input", "in.jsonl", "--model", "m", "--errors", "./in.jsonl"], "is the input in.jsonl"),
        Clash("validate: output is the job file", ["validate", "job.json", "--output", "job-hard.json"], "is the job file job.json"),
        Clash(
            "run: output is a checkpoint in the --reuse folder",
            [
                "run", "--input", "in.jsonl", "--model", "m", "--checkpoint", "other.db", "--reuse", ".", "--base-url", "http://127.0.0.1:9", "--output",
                "./" + checkpoint,
            ],
            "--output ./\(checkpoint) is the --reuse checkpoint"),
    ]

    /// After a finished job (so there is a checkpoint to export and report).
    @Test(arguments: otherClashes)
    func otherCommandsRefuseAClash(_ clash: Clash) async throws {
        let mock = try await MockGatewayProcess()
        let workspace = try Workspace()
        let ran = await workspace.sluice(Self.jobFile + ["--base-url", mock.baseURL, "--no-progress"])
        #expect(ran.status == 0, "\(ran.stderr)")
        let sent = try await mock.stats().totalRequests
        // Any reader of a WAL checkpoint (export and report read it before they know the job's files) has SQLite create these.
        let sidecars: Set = [Self.checkpoint + "-wal", Self.checkpoint + "-shm"]
        let before = workspace.snapshot().filter { !sidecars.contains($0.key) }
        let arguments = clash.arguments + (clash.arguments[0] == "retry-failed" ? ["--no-progress"] : [])
        let finished = await workspace.sluice(arguments)
        #expect(finished.status == 2, "\(finished.stderr)")
        #expect(finished.stderr.contains(clash.expected), "\(finished.stderr)")
        #expect(finished.stderr.contains("(same file): sluice would overwrite it"), "\(finished.stderr)")
        #expect(try await mock.stats().totalRequests == sent)
        #expect(workspace.snapshot().filter { !sidecars.contains($0.key) } == before)
    }

    /// The copy of standard input is an input only once it is saved: naming it as the results is refused then,
    /// before anything is sent, and the copy is left as it was.
    @Test func theCopyOfStandardInputIsNotOverwritten() async throws {
        let mock = try await MockGatewayProcess()
        let workspace = try Workspace()
        let run = Self.prompts.map { $0 == "in.jsonl" ? "-" : $0 } + ["--checkpoint", "job.db", "--base-url", mock.baseURL, "--no-progress"]
        let first = try await Child(Binaries.sluice, run, directory: workspace.path, standardInput: workspace.file("in.jsonl")).wait()
        #expect(first.status == 0, "\(first.stderr)")
        let copy = try #require(first.stderr.firstMatch(of: /saved in (\S+);/)?.1).description
        let saved = FileManager.default.contents(atPath: workspace.file(copy))
        let sent = try await mock.stats().totalRequests

        let again = try await Child(Binaries.sluice, run + ["--output", copy], directory: workspace.path, standardInput: workspace.file("in.jsonl")).wait()
        #expect(again.status == 2, "\(again.stderr)")
        #expect(again.stderr.contains("--output \(copy) is the input \(copy) (same file)"), "\(again.stderr)")
        #expect(try await mock.stats().totalRequests == sent)
        #expect(FileManager.default.contents(atPath: workspace.file(copy)) == saved)
    }

    /// Symlinks planted at the working names of the results, the errors, a report and an export are
    /// replaced, never written through; what sluice leaves is its own regular file, mode 0600.
    @Test func plantedSymlinksAreNotWrittenThrough() async throws {
        let mock = try await MockGatewayProcess()
        let workspace = try Workspace()
        let planted = ["out.jsonl.partial", "out.errors.jsonl.partial", "page.html", "export.jsonl"]
        // One victim each: two working files through one link would be the same file, refused as a clash.
        for name in planted {
            writeFile(workspace.file(name + ".victim"), Data("keep me\n".utf8))
            try FileManager.default.createSymbolicLink(atPath: workspace.file(name), withDestinationPath: workspace.file(name + ".victim"))
        }
        let ran = await workspace.sluice(Self.prompts + ["--output", "out.jsonl", "--base-url", mock.baseURL, "--no-progress"])
        #expect(ran.status == 0, "\(ran.stderr)")
        #expect(try readJSONLines(workspace.file("out.jsonl")).count == 3)
        let report = await workspace.sluice(["report", "out.jsonl.sluice.db", "--html", "page.html"])
        #expect(report.status == 0, "\(report.stderr)")
        let export = await workspace.sluice(["export", "out.jsonl.sluice.db", "--output", "export.jsonl"])
        #expect(export.status == 0, "\(export.stderr)")
        for name in planted { #expect(FileManager.default.contents(atPath: workspace.file(name + ".victim")) == Data("keep me\n".utf8), "\(name)") }
        for name in ["out.jsonl", "out.errors.jsonl", "page.html", "export.jsonl"] {
            var info = stat()
            #expect(lstat(workspace.file(name), &info) == 0)
            #expect(info.st_mode & S_IFMT == S_IFREG, "\(name) is not a regular file")
            #expect(info.st_mode & 0o777 == 0o600, "\(name) has mode \(String(info.st_mode & 0o777, radix: 8))")
        }
        #expect(!FileManager.default.fileExists(atPath: workspace.file("out.jsonl.partial")))
    }
}

/// The identity two paths are compared by.
struct FileIdentityTests {
    @Test func spellingsLinksAndMissingFiles() throws {
        let workspace = try Workspace()
        let file = workspace.file("in.jsonl")
        func same(_ a: String, _ b: String) -> Bool { FileIdentity(path: a).isSameFile(as: FileIdentity(path: b)) }
        #expect(same(file, workspace.path + "/./in.jsonl"))
        #expect(same(file, workspace.path + "/sub/../in.jsonl"))
        #expect(same(file, workspace.file("in-link.jsonl")))
        #expect(same(file, workspace.file("in-hard.jsonl")))
        #expect(same(file, workspace.file("alias/in.jsonl")))
        #expect(!same(file, workspace.file("template.json")))
        // Files that do not exist yet: the same name in the same real folder, whatever the spelling.
        #expect(same(workspace.file("new.jsonl"), workspace.path + "/alias/sub/../new.jsonl"))
        #expect(same(workspace.file("missing/new.jsonl"), workspace.path + "/alias/missing/./new.jsonl"))
        #expect(!same(workspace.file("new.jsonl"), workspace.file("new.jsonl.partial")))
        // A hard link is told apart from a copy only by its inode.
        try FileManager.default.copyItem(atPath: file, toPath: workspace.file("copy.jsonl"))
        #expect(!same(file, workspace.file("copy.jsonl")))
        #expect(FileIdentity(path: workspace.path + "/alias/./missing/../x").canonicalPath == FileIdentity(path: workspace.file("x")).canonicalPath)
    }

    /// A symlink planted where sluice creates its working file is removed, not followed.
    @Test func privateFileIsCreatedAfreshNotThroughASymlink() throws {
        let workspace = try Workspace()
        let working = workspace.file("work.partial")
        try FileManager.default.createSymbolicLink(atPath: working, withDestinationPath: workspace.file("in.jsonl"))
        let before = FileManager.default.contents(atPath: workspace.file("in.jsonl"))
        let descriptor = PrivateFile.create(working)
        #expect(descriptor >= 0)
        #expect(write(descriptor, "x", 1) == 1)
        close(descriptor)
        #expect(FileManager.default.contents(atPath: workspace.file("in.jsonl")) == before)
        var info = stat()
        #expect(lstat(working, &info) == 0)
        #expect(info.st_mode & S_IFMT == S_IFREG)
        #expect(info.st_mode & 0o777 == 0o600)
    }
}

/// A folder with every kind of file a job reads, and links to them, run in as the current folder.
final class Workspace {
    private let directory = TemporaryDirectory()
    var path: String { directory.path }
    func file(_ name: String) -> String { directory.file(name) }

    init() throws {
        directory.writePrompts("in.jsonl", count: 3)
        writeFile(file("template.json"), Data(#"{"user": "{{prompt}}"}"#.utf8))
        writeFile(file("schema.json"), Data(#"{"type": "object"}"#.utf8))
        writeFile(file("ca.pem"), Data("not a certificate\n".utf8))
        writeFile(file("key.txt"), Data("sk-test\n".utf8))
        writeFile(file("old.db"), Data("an earlier checkpoint\n".utf8))
        writeFile(file("job.json"), Data(#"{"inputs": ["in.jsonl"], "model": "m", "template": "template.json"}"#.utf8))
        writeFile(
            file("job2.json"),
            Data(
                #"{"inputs": ["in.jsonl"], "model": "m", "template": "template.json", "errors": "template-hard.json", "checkpoint": "in.results.jsonl.sluice.db"}"#
                    .utf8))
        let manager = FileManager.default
        try manager.createDirectory(atPath: file("sub"), withIntermediateDirectories: true)
        for (link, target) in [
            ("in-link.jsonl", "in.jsonl"), ("schema-link.json", "schema.json"), ("ca-link.pem", "ca.pem"), ("data.partial", "in.jsonl"), ("alias", "."),
        ] {
            try manager.createSymbolicLink(atPath: file(link), withDestinationPath: target)
        }
        for (link, target) in [("in-hard.jsonl", "in.jsonl"), ("template-hard.json", "template.json"), ("job-hard.json", "job.json")] {
            try manager.linkItem(atPath: file(target), toPath: file(link))
        }
    }

    /// Every entry of the folder: a symlink's target, a file's bytes.
    func snapshot() -> [String: Data] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        var entries: [String: Data] = [:]
        for name in names {
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: file(name)) {
                entries[name] = Data(("-> " + target).utf8)
            } else {
                entries[name] = FileManager.default.contents(atPath: file(name)) ?? Data("(folder)".utf8)
            }
        }
        return entries
    }

    func sluice(_ arguments: [String]) async -> Finished {
        do {
            return try await Child(Binaries.sluice, arguments, directory: path).wait()
        } catch {
            return Finished(status: -1, stdout: "", stderr: "\(error)")
        }
    }
}
