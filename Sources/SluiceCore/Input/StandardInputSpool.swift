import CZlib
import Foundation

/// `--input -`: a pipe can be read once, and a job that resumes must read its input again, so standard
/// input is first copied to a file beside the checkpoint and the job runs on that file.
///
/// The file is named after its content (size and CRC-32), so piping the same data in again resumes the
/// same job, and different data is a changed input, refused as any other (`--force` re-plans it).
///
/// ```swift
/// configuration.inputs = try StandardInputSpool.spooling(
///     configuration.inputs, besideCheckpoint: configuration.checkpoint, jobName: configuration.name) { path in logger.notice("saved to \(path)") }
/// ```
package enum StandardInputSpool {
    /// What stands for standard input where a path is expected.
    package static let marker = "-"

    /// The inputs with `-` replaced by the spooled file (beside the checkpoint); unchanged when no input is `-`.
    package static func spooling(
        _ inputs: [String], besideCheckpoint checkpoint: String, jobName: String, input: FileHandle = .standardInput,
        saved: (String) -> Void = { _ in }
    ) throws -> [String] {
        guard let index = inputs.firstIndex(of: marker) else { return inputs }
        guard inputs.filter({ $0 == marker }).count == 1 else {
            throw SluiceError(.configuration, "standard input (--input -) can be read only once; name it once")
        }
        if isatty(input.fileDescriptor) == 1 {
            throw SluiceError(
                .configuration, "--input - reads prompts from standard input, which is a terminal here; pipe them in (… | sluice run --input -)")
        }
        var spooled = inputs
        spooled[index] = try spool(input, besideCheckpoint: checkpoint, jobName: jobName)
        saved(spooled[index])
        return spooled
    }

    /// The working name of the copy while it is written (the final name needs its size and CRC).
    static func partialPath(besideCheckpoint checkpoint: String, jobName: String) -> String {
        let folder = (checkpoint as NSString).deletingLastPathComponent
        return ((folder.isEmpty ? "." : folder) as NSString).appendingPathComponent(".\(jobName).stdin.\(getpid()).partial")
    }

    /// Copies everything `input` holds to `<checkpoint folder>/<job>.stdin-<size>-<crc>.jsonl[.gz]` (gzip kept
    /// as gzip, found by its magic bytes), written under a temporary name and renamed once complete.
    static func spool(_ input: FileHandle, besideCheckpoint checkpoint: String, jobName: String) throws -> String {
        let folder = (checkpoint as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: folder.isEmpty ? "." : folder, withIntermediateDirectories: true)
        let partial = partialPath(besideCheckpoint: checkpoint, jobName: jobName)
        let descriptor = PrivateFile.create(partial)
        guard descriptor >= 0 else {
            throw SluiceError(.configuration, "\(partial): cannot write the copy of standard input there (\(String(cString: strerror(errno))))")
        }
        let output = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        var size: Int64 = 0
        var crc = crc32(0, nil, 0)
        var head: [UInt8] = []
        do {
            defer { try? output.close() }
            while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
                if head.count < 2 { head += chunk.prefix(2 - head.count) }
                chunk.withUnsafeBytes { bytes in
                    crc = crc32(crc, bytes.bindMemory(to: Bytef.self).baseAddress, uInt(bytes.count))
                }
                size += Int64(chunk.count)
                try output.write(contentsOf: chunk)
            }
            try output.synchronize()
        } catch {
            try? FileManager.default.removeItem(atPath: partial)
            throw SluiceError(.input, "standard input: \(error.localizedDescription)")
        }
        guard size > 0 else {
            try? FileManager.default.removeItem(atPath: partial)
            throw SluiceError(.input, "standard input: the input is empty (no lines to send)")
        }
        let gzip = head == [0x1F, 0x8B]
        let name = "\(jobName).stdin-\(size)-\(String(format: "%08x", UInt32(crc))).jsonl" + (gzip ? ".gz" : "")
        let path = (folder.isEmpty ? name : (folder as NSString).appendingPathComponent(name))
        if rename(partial, path) != 0 {
            try? FileManager.default.removeItem(atPath: partial)
            throw SluiceError(.configuration, "\(path): cannot save the copy of standard input (\(String(cString: strerror(errno))))")
        }
        return path
    }
}
