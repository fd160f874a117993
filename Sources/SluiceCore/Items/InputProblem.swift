/// Why a line could not become a request. `code` is stable (it is the
/// results file's `error.code`); `message` names the reason.
public struct InputProblem: Error, Sendable, Equatable {
    /// A stable code, in the one style of every error code in sluice (see `SluiceError.Code`).
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let invalidJSON = Code("invalid_json_line")
        public static let invalidUTF8 = Code("invalid_utf8")
        public static let notAnObject = Code("not_an_object")
        public static let missingMessages = Code("missing_messages")
        public static let unknownURL = Code("url_mismatch")
        public static let invalidMethod = Code("invalid_method")
        public static let lineTooLong = Code("line_too_long")
        public static let duplicateKey = Code("duplicate_custom_id")
        public static let missingModel = Code("missing_model")
        public static let invalidField = Code("invalid_field")
        public static let missingField = Code("missing_field")
    }

    public var code: Code
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// The error users read: `file:line: reason`.
    public func located(file: String, line: Int) -> String { "\(file):\(line): \(message)" }
}
