import Foundation

/// A small tmpfs mounted for one test: a real full disk, or a real read-only
/// one after `remount(readOnly:)`. Needs root (CI and the dev machines run as root).
final class TmpfsMount {
    let path: String

    static let available: Bool = {
        guard geteuid() == 0 else { return false }
        let probe = NSTemporaryDirectory() + "sluice-mount-probe-" + UUID().uuidString.prefix(8)
        try? FileManager.default.createDirectory(atPath: probe, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: probe) }
        guard shell("mount -t tmpfs -o size=64k tmpfs '\(probe)'") == 0 else { return false }
        _ = shell("umount '\(probe)'")
        return true
    }()

    init(at path: String, kilobytes: Int) throws {
        self.path = path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard Self.shell("mount -t tmpfs -o size=\(kilobytes)k,mode=0700 tmpfs '\(path)'") == 0 else {
            throw TestFailure("cannot mount a tmpfs at \(path)")
        }
    }

    func remount(kilobytes: Int? = nil, readOnly: Bool) throws {
        var options = ["remount", readOnly ? "ro" : "rw"]
        if let kilobytes { options.append("size=\(kilobytes)k") }
        guard Self.shell("mount -o \(options.joined(separator: ",")) '\(path)'") == 0 else { throw TestFailure("remount failed") }
    }

    deinit { _ = Self.shell("umount -l '\(path)'") }

    @discardableResult
    static func shell(_ command: String) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command + " 2>/dev/null"]
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }
}
