/// Why a line could not become a request. `code` is stable (it is the
/// results file's `error.code`); `message` names the reason.
package struct InputProblem: Error, Sendable, Equatable {
    /// A stable code, in the one style of every error code in sluice (see `SluiceError.Code`).
    package struct Code: Hashable, Sendable, CustomStringConvertible {
        package let rawValue: String
        init(_ rawValue: String) { self.rawValue = rawValue }
        package var description: String { rawValue }

        package static let invalidJSON = Code("invalid_json_line")
        package static let invalidUTF8 = Code("invalid_utf8")
        package static let notAnObject = Code("not_an_object")
        package static let missingMessages = Code("missing_messages")
        package static let unknownURL = Code("url_mismatch")
        package static let invalidMethod = Code("invalid_method")
        package static let lineTooLong = Code("line_too_long")
        package static let duplicateKey = Code("duplicate_custom_id")
        package static let missingModel = Code("missing_model")
        package static let invalidField = Code("invalid_field")
        package static let missingField = Code("missing_field")
    }

    package var code: Code
    package var message: String

    package init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// The error users read: `file:line: reason`.
    package func located(file: String, line: Int) -> String { "\(file):\(line): \(message)" }
}
