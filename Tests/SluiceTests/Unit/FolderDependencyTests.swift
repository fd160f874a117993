import Foundation
import Testing

/// The folders of SluiceCore form a picture with no two-way arrows (issue 19): a folder that names another's types
/// is not named back by it. `scripts/folder-deps.py` reads the sources and lists the pairs that do.
struct FolderDependencyTests {
    @Test func noTwoFoldersOfTheCoreDependOnEachOtherBothWays() async throws {
        let root = ReadmeCitationTests.root.path
        let script = try Child("/usr/bin/env", ["python3", root + "/scripts/folder-deps.py", root + "/Sources/SluiceCore"])
        let finished = await script.wait(timeout: 60)
        #expect(finished.status == 0, "\(finished.stderr)")
        #expect(finished.stdout.hasPrefix("0 folder pairs"), "\(finished.stdout)")
    }
}
