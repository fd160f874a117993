import Foundation

/// A results file (or an export, a report) being written: created with mode 0600 under a working name
/// (afresh and exclusively, never through a symlink: `PrivateFile`) and renamed into place only when
/// complete, so a reader never sees half a file at the final name and an interrupted write leaves the
/// previous one intact.
/// Names ending in `.gz` are gzip-compressed as they are written.
///
/// The working file is a private temporary name by default; a `partialPath`
/// makes it a known name that is kept if the file is never committed, so a
/// long job's finished work can be read while it runs (`flush()` makes what
/// was written so far readable, gzip included).
package final class OutputFile {
    package let path: String
    package let workingPath: String
    /// What the file is, for messages: "results file", "errors file", "report".
    package let what: String
    private let keepUncommitted: Bool
    private var committed = false
    private let fd: Int32
    private var buffer: [UInt8] = []
    private var deflater: Deflater?
    /// Bytes gathered before a write: enough to make writes few, small enough not to show in the job's
    /// memory. The buffer is reserved with room for a line past it, so it is allocated once.
    static let bufferLimit = 256 << 10
    private static let bufferCapacity = bufferLimit + (64 << 10)

    package init(path: String, partialPath: String? = nil, what: String = "results file") throws {
        self.path = path
        self.what = what
        workingPath = partialPath ?? Self.temporaryPath(for: path)
        keepUncommitted = partialPath != nil
        fd = PrivateFile.create(workingPath)
        guard fd >= 0 else {
            throw SluiceError(.output, "\(path): cannot create the \(what) (\(workingPath): \(String(cString: strerror(errno))))")
        }
        buffer.reserveCapacity(Self.bufferCapacity)
        if path.hasSuffix(".gz") { deflater = try Deflater(path: path) }
    }

    /// Standard output (`--output -`): written as it goes, nothing to rename; `.gz` is not applied.
    private init(standardOutput: Void) {
        path = "-"
        what = "standard output"
        workingPath = "-"
        keepUncommitted = true
        fd = dup(STDOUT_FILENO)
        buffer.reserveCapacity(Self.bufferCapacity)
    }

    package static func standardOutput() -> OutputFile { OutputFile(standardOutput: ()) }

    /// The working name of a file written without a `partialPath`.
    package static func temporaryPath(for path: String) -> String { path + ".tmp-\(getpid())" }

    package var isStandardOutput: Bool { path == "-" }

    deinit {
        if fd >= 0 { close(fd) }
        if !committed && !keepUncommitted { unlink(workingPath) }
    }

    /// Writes out what is buffered, so a reader of the working file sees every line written so far.
    package func flush() throws {
        try drain(finish: false, sync: true)
    }

    package func write(_ bytes: [UInt8]) throws {
        buffer += bytes
        if buffer.count >= Self.bufferLimit { try drain(finish: false) }
    }

    /// Flushes, syncs and renames the file into place.
    package func commit() throws {
        try drain(finish: true)
        if isStandardOutput {
            committed = true
            return
        }
        guard fsync(fd) == 0, rename(workingPath, path) == 0 else {
            throw SluiceError(.output, "\(path): cannot finish the \(what) (\(String(cString: strerror(errno))))")
        }
        committed = true
    }

    private func drain(finish: Bool, sync: Bool = false) throws {
        if let deflater {
            let compressed = try deflater.compress(buffer, finish: finish, sync: sync)
            buffer.removeAll(keepingCapacity: true)
            try writeAll(compressed)
        } else {
            // Written from the buffer itself: a copy would make `removeAll` allocate a new one each time.
            try writeAll(buffer)
            buffer.removeAll(keepingCapacity: true)
        }
    }

    private func writeAll(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw SluiceError(.output, "\(path): cannot write the \(what) (\(workingPath): \(String(cString: strerror(errno))))")
            }
            offset += written
        }
    }
}
