import CZlib
import Foundation
import Testing

@testable import SluiceCore

struct InputReadingTests {
    func gzip(_ text: String) throws -> [UInt8] {
        try Deflater(path: "test").compress(Array(text.utf8), finish: true)
    }

    func lines(of path: String, max: Int = 1 << 20) throws -> [InputLine] {
        let reader = LineReader(source: try openInput(path: path, chunkSize: 7), maxLineBytes: max)
        var lines: [InputLine] = []
        while let line = try reader.next() { lines.append(line) }
        return lines
    }

    func text(_ line: InputLine) -> String { String(decoding: line.bytes, as: UTF8.self) }

    @Test func plainFileSplitsAcrossChunksWithCRLFAndNoFinalNewline() throws {
        let dir = TemporaryDirectory()
        writeFile(dir.file("a.jsonl"), Data("first line\r\n\nthird line is longer\nlast".utf8))
        let read = try lines(of: dir.file("a.jsonl"))
        #expect(read.map(text) == ["first line", "", "third line is longer", "last"])
        #expect(read.map(\.number) == [1, 2, 3, 4])
    }

    @Test func gzipIsDetectedByMagicBytesNotName() throws {
        let dir = TemporaryDirectory()
        writeFile(dir.file("no-extension"), Data(try gzip("a\nb\n")))
        #expect(try lines(of: dir.file("no-extension")).map(text) == ["a", "b"])
        // Named .gz but plain: read as plain text.
        writeFile(dir.file("plain.gz"), Data("x\n".utf8))
        #expect(try lines(of: dir.file("plain.gz")).map(text) == ["x"])
    }

    @Test func multiMemberGzipIsReadInFull() throws {
        let dir = TemporaryDirectory()
        writeFile(dir.file("m.gz"), Data(try gzip("one\ntwo\n") + gzip("three\n")))
        #expect(try lines(of: dir.file("m.gz")).map(text) == ["one", "two", "three"])
    }

    @Test func truncatedGzipIsAnErrorNamingTheFile() throws {
        let dir = TemporaryDirectory()
        let whole = try gzip((0..<2000).map { "line \($0) with some text to compress" }.joined(separator: "\n"))
        writeFile(dir.file("cut.jsonl.gz"), Data(whole.prefix(whole.count / 2)))
        #expect {
            _ = try lines(of: dir.file("cut.jsonl.gz"))
        } throws: { error in
            let error = error as? SluiceError
            return error?.code == .corruptInput && error?.message.contains("cut.jsonl.gz: gzip stream is truncated") == true
        }
    }

    @Test func oversizedLinesAreFlaggedWithoutBeingBuffered() throws {
        let dir = TemporaryDirectory()
        writeFile(dir.file("big.jsonl"), Data(("short\n" + String(repeating: "x", count: 5000) + "\nafter\n").utf8))
        let read = try lines(of: dir.file("big.jsonl"), max: 1024)
        #expect(read.count == 3)
        #expect(read[1].oversized && read[1].bytes.isEmpty && read[1].length == 5000)
        #expect(text(read[2]) == "after")
    }

    @Test func missingFileAndDirectoryAreClearErrors() throws {
        let dir = TemporaryDirectory()
        #expect { _ = try openInput(path: dir.file("nope.jsonl")) } throws: { ($0 as? SluiceError)?.message.contains("nope.jsonl: cannot open input") == true }
        #expect { _ = try openInput(path: dir.path) } throws: { ($0 as? SluiceError)?.message.contains("is a directory") == true }
    }

    @Test func fingerprintChangesWithContent() throws {
        let dir = TemporaryDirectory()
        writeFile(dir.file("f"), Data("abc\n".utf8))
        let before = try InputFingerprint.of(path: dir.file("f"))
        writeFile(dir.file("f"), Data("abd\n".utf8))
        let after = try InputFingerprint.of(path: dir.file("f"))
        #expect(before.size == after.size)
        #expect(before != after)
    }
}
