import Foundation
import Testing

@testable import SluiceCore

/// A symlink planted at the name of a file sluice creates beside the checkpoint or the results (the job lock,
/// SQLite's `-wal` and `-shm`, an export's temporary file) never turns sluice's write into a write through to
/// the file it points at: the victim keeps every byte.
struct PlantedSymlinkTests {
    static let victimText = "the user's own file\n"

    /// A victim file and a symlink to it at `name` in `dir`.
    private func plant(_ name: String, in dir: TemporaryDirectory) throws -> String {
        let victim = dir.file("victim-\(name)")
        try Self.victimText.write(toFile: victim, atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: dir.file(name), withDestinationPath: victim)
        return victim
    }

    @Test func aLinkAtTheJobLocksNameIsRefusedAndItsTargetKept() async throws {
        let dir = TemporaryDirectory()
        let victim = try plant("job.db.lock", in: dir)
        await #expect(throws: SluiceError.self) { _ = try await SQLiteCheckpointStore.open(path: dir.file("job.db"), role: .runner) }
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == Self.victimText)
    }

    @Test(arguments: ["job.db-wal", "job.db-shm"])
    func aLinkAtSQLitesSideFilesIsNotWrittenThrough(_ name: String) async throws {
        let dir = TemporaryDirectory()
        let victim = try plant(name, in: dir)
        do {
            let store = try await SQLiteCheckpointStore.open(path: dir.file("job.db"), role: .runner)
            try await store.saveJobSettings(#"{"model":"m"}"#)
            await store.close()
        } catch {
            // Refusing the link is as good as not following it.
        }
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == Self.victimText)
    }

    /// The lock belongs to the file, not its spelling: a second runner through a symlink to the checkpoint is refused.
    @Test func aCheckpointThroughASymlinkSharesItsLock() async throws {
        let dir = TemporaryDirectory()
        let first = try await SQLiteCheckpointStore.open(path: dir.file("job.db"), role: .runner)
        defer { Task { await first.close() } }
        try FileManager.default.createSymbolicLink(atPath: dir.file("alias.db"), withDestinationPath: dir.file("job.db"))
        let error = await #expect(throws: SluiceError.self) { _ = try await SQLiteCheckpointStore.open(path: dir.file("alias.db"), role: .runner) }
        #expect(error?.message.contains("another sluice process") == true, "\(String(describing: error))")
        #expect(FileManager.default.fileExists(atPath: dir.file("alias.db.lock")) == false)
    }

    /// An export or report is written under `OutputFile.temporaryPath(for:)` first: a link planted there is replaced, not followed.
    @Test func aLinkAtTheTemporaryNameOfAnExportIsNotWrittenThrough() throws {
        let dir = TemporaryDirectory()
        let path = dir.file("export.csv")
        let victim = try plant(URL(fileURLWithPath: OutputFile.temporaryPath(for: path)).lastPathComponent, in: dir)
        let file = try OutputFile(path: path, what: "export")
        try file.write(Array("id,answer\n".utf8))
        try file.commit()
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "id,answer\n")
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == Self.victimText)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
    }
}
