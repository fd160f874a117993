import Foundation
import SluiceCore

/// One line of a finished job's results or errors file (OpenAI's batch output format).
public struct JobResult: Sendable {
    /// The line's `custom_id`: the input line's id, or `file:line`.
    public let customID: String
    /// The gateway's HTTP status, when an answer came back.
    public let statusCode: Int?
    /// The answer's body, when there is one: the same JSON value, re-encoded (not the bytes as written).
    public let body: Data?
    /// The whole line, as written.
    public let line: Data

    init(line: Data) throws {
        guard let object = try JSONSerialization.jsonObject(with: line) as? [String: Any] else {
            throw JobError(code: "output", message: "a results line is not a JSON object", exitCode: 1)
        }
        self.line = line
        customID = object["custom_id"] as? String ?? ""
        let response = object["response"] as? [String: Any]
        statusCode = response?["status_code"] as? Int
        body = try (response?["body"]).map { try JSONSerialization.data(withJSONObject: $0, options: [.fragmentsAllowed]) }
    }
}

extension Job {
    /// The answers, in input order, from the results file a complete run writes (plain or gzip).
    public func results() throws -> JobResults { try JobResults(path: resultsPath) }

    /// The failed items, in input order, from the errors file beside the results.
    public func failures() throws -> JobResults { try JobResults(path: errorsPath) }
}

/// The lines of a results or errors file, read as they are iterated (a job's results may not fit in memory).
public struct JobResults: AsyncSequence, Sendable {
    public typealias Element = JobResult
    let path: String

    init(path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else {
            throw JobError(
                code: "output", message: "\(path) does not exist: a job writes its results once every item is done (see status())", exitCode: 1)
        }
        self.path = path
    }

    public func makeAsyncIterator() -> Iterator { Iterator(path: path) }

    public struct Iterator: AsyncIteratorProtocol {
        let path: String
        var reader: LineReader?
        var failed = false

        public mutating func next() async throws -> JobResult? {
            guard !failed else { return nil }
            do {
                if reader == nil { reader = LineReader(source: try openInput(path: path), maxLineBytes: Int.max / 2) }
                while let line = try reader?.next() {
                    if !line.bytes.isEmpty { return try JobResult(line: Data(line.bytes)) }
                }
                return nil
            } catch {
                failed = true
                if let error = error as? SluiceError { throw JobError(error) }
                if error is JobError { throw error }
                throw JobError(code: "output", message: "\(path): \(error)", exitCode: 1)
            }
        }
    }
}
