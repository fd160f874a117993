import CSV
import Foundation

/// CSV and TSV inputs with a header row, parsed by yaslab/CSV.swift (quoted fields, embedded newlines,
/// doubled quotes, a byte order mark), streamed from the same chunk readers as JSONL so a `.csv.gz`
/// works and memory stays flat.
///
/// A row becomes a record of strings keyed by the header; its number counts data rows from 1 (an
/// embedded newline makes file lines and rows differ, and rows are what a spreadsheet shows).
///
/// ```swift
/// let rows = try CSVRecordReader(path: "tickets.csv")
/// while let row = try rows.next() { print(row.number, row.fields["text"] ?? "") }
/// ```
package final class CSVRecordReader {
    package struct Row {
        package var number: Int
        package var fields: [String: JSONValue]
        /// A digest of the row's values, so a changed row can be told from an unchanged one.
        package var hash: UInt64
        /// Set when the row cannot be a record (a field count that differs from the header's).
        package var problem: String?
    }

    /// Whether `path` names a CSV or TSV file (`.csv`, `.tsv`, also gzipped).
    package static func handles(_ path: String) -> Bool { delimiter(for: path) != nil }

    static func delimiter(for path: String) -> UnicodeScalar? {
        let name = path.lowercased().hasSuffix(".gz") ? String(path.lowercased().dropLast(3)) : path.lowercased()
        if name.hasSuffix(".csv") { return "," }
        if name.hasSuffix(".tsv") || name.hasSuffix(".tab") { return "\t" }
        return nil
    }

    private let path: String
    private let source: ChunkReader
    private let reader: CSVReader
    package let header: [String]
    private var number = 0

    package var fractionRead: Double { source.fractionRead }

    package init(path: String) throws {
        self.path = path
        source = try openInput(path: path)
        do {
            reader = try CSVReader(
                stream: ChunkInputStream(source), codecType: UTF8.self, hasHeaderRow: true, delimiter: Self.delimiter(for: path) ?? ",")
        } catch {
            throw SluiceError(.input, "\(path): cannot read the header row (\(error))")
        }
        header = reader.headerRow ?? []
        if header.isEmpty || header.allSatisfy(\.isEmpty) { throw SluiceError(.input, "\(path): the first row must name the columns") }
        if let duplicate = Dictionary(grouping: header, by: { $0 }).first(where: { $0.value.count > 1 && !$0.key.isEmpty })?.key {
            throw SluiceError(.input, "\(path): the column \"\(duplicate)\" appears twice in the header row")
        }
    }

    package func next() throws -> Row? {
        guard let values = reader.next() else {
            if let error = reader.error { throw SluiceError(.corruptInput, "\(path): \(error) after row \(number)") }
            return nil
        }
        number += 1
        var fields: [String: JSONValue] = [:]
        for (name, value) in zip(header, values) where !name.isEmpty { fields[name] = .string(value) }
        var row = Row(number: number, fields: fields, hash: Digest64.of(values.joined(separator: "\u{1F}").utf8))
        if values.count != header.count, !(values.count == 1 && values[0].isEmpty) {
            row.problem = "row \(number) has \(values.count) field\(values.count == 1 ? "" : "s"), the header has \(header.count)"
        }
        return row
    }
}

/// An `InputStream` over a `ChunkReader`, which is what CSV.swift reads from.
final class ChunkInputStream: InputStream {
    private let source: ChunkReader
    private var chunk: UnsafeRawBufferPointer?
    private var position = 0
    private var ended = false
    private var failure: Error?
    private var status: Stream.Status = .notOpen

    init(_ source: ChunkReader) {
        self.source = source
        super.init(data: Data())
    }

    override func open() { status = .open }
    override func close() { status = .closed }
    override var streamStatus: Stream.Status { status }
    override var streamError: Error? { failure }
    /// CSV.swift asks before every read; the answer must be exact, so the next chunk is fetched to give it.
    override var hasBytesAvailable: Bool { fill() && !ended }

    /// False on a read error.
    private func fill() -> Bool {
        while !ended, chunk == nil || position >= chunk!.count {
            do {
                chunk = try source.nextChunk()
            } catch {
                failure = error
                status = .error
                return false
            }
            position = 0
            if chunk == nil {
                ended = true
                status = .atEnd
            }
        }
        return true
    }

    override func read(_ buffer: UnsafeMutablePointer<UInt8>, maxLength: Int) -> Int {
        guard fill() else { return -1 }
        if ended { return 0 }
        let count = min(maxLength, chunk!.count - position)
        UnsafeMutableRawPointer(buffer).copyMemory(from: chunk!.baseAddress! + position, byteCount: count)
        position += count
        return count
    }
}
