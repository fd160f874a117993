import Foundation

/// The fields of a `multipart/form-data` body, as `POST /v1/files` receives an upload.
///
/// Batch input files reach 200 MB, so boundaries are found with `memchr`/`memcmp` on the bytes
/// rather than by turning the body into strings.
struct MultipartForm {
    struct Part {
        var name: String
        var filename: String?
        var content: ArraySlice<UInt8>
    }

    var parts: [Part]

    func part(named name: String) -> Part? { parts.first { $0.name == name } }

    /// Nil when the content type is not `multipart/form-data` with a boundary, or the body does not follow it.
    init?(contentType: String?, body: [UInt8]) {
        guard let contentType, contentType.lowercased().hasPrefix("multipart/form-data"),
            let boundary = Self.parameter("boundary", in: contentType), !boundary.isEmpty
        else { return nil }
        let delimiter = Array("--\(boundary)".utf8)
        let crlf: [UInt8] = [13, 10]
        // The first delimiter opens the body or follows a preamble line.
        guard var position = Self.index(of: delimiter, in: body, from: 0), position == 0 || body[position - 1] == 10 else { return nil }
        var parts: [Part] = []
        while true {
            position += delimiter.count
            if body.count >= position + 2, body[position] == UInt8(ascii: "-"), body[position + 1] == UInt8(ascii: "-") { break }
            guard let headersStart = Self.index(of: crlf, in: body, from: position),
                let headersEnd = Self.index(of: crlf + crlf, in: body, from: headersStart)
            else { return nil }
            let headers = headersEnd > headersStart ? String(decoding: body[(headersStart + 2)..<headersEnd], as: UTF8.self) : ""
            let contentStart = headersEnd + 4
            guard let next = Self.index(of: crlf + delimiter, in: body, from: contentStart - 2) else { return nil }
            let disposition = headers.components(separatedBy: "\r\n").first { $0.lowercased().hasPrefix("content-disposition:") }
            guard let disposition, let name = Self.parameter("name", in: disposition) else { return nil }
            parts.append(Part(name: name, filename: Self.parameter("filename", in: disposition), content: body[contentStart..<max(next, contentStart)]))
            position = next + 2
        }
        self.parts = parts
    }

    /// `name="value"` or `name=value` among the `;`-separated parameters of a header value.
    static func parameter(_ name: String, in header: String) -> String? {
        for piece in header.split(separator: ";").dropFirst() {
            let pair = piece.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, pair[0].lowercased() == name else { continue }
            let value = pair[1]
            return value.hasPrefix("\"") && value.hasSuffix("\"") && value.count >= 2 ? String(value.dropFirst().dropLast()) : value
        }
        return nil
    }

    /// Where `needle` first occurs in `haystack` at or after `start`.
    static func index(of needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, start >= 0, haystack.count - start >= needle.count else { return nil }
        return haystack.withUnsafeBytes { hay in
            needle.withUnsafeBytes { pin in
                let base = hay.baseAddress!
                let last = hay.count - pin.count
                var position = start
                while position <= last {
                    guard let found = memchr(base + position, Int32(pin[0]), last - position + 1) else { return nil }
                    let index = base.distance(to: UnsafeRawPointer(found))
                    if memcmp(base + index, pin.baseAddress!, pin.count) == 0 { return index }
                    position = index + 1
                }
                return nil
            }
        }
    }
}
