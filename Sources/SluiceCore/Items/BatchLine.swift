import Foundation

/// One line of a provider batch's output or error file (OpenAI's batch output format), and what it means
/// for its item.
///
/// ```json
/// {"id": "batch_req_1", "custom_id": "r1", "response": {"status_code": 200, "request_id": "req_1", "body": {...}}, "error": null}
/// {"id": "batch_req_2", "custom_id": "r2", "response": null, "error": {"code": "batch_expired", "message": "..."}}
/// ```
struct BatchLine {
    var customID: String
    var status: Int?
    var requestID: String?
    var body: [UInt8]?
    var errorCode: String?
    var errorMessage: String?

    /// What becomes of the item a line names.
    enum Verdict {
        case answered
        /// Worth another try (a 5xx, a 429, an expired or cancelled batch's line).
        case retry(reason: String)
        /// Sending it again cannot help (a 400): the item fails with the gateway's error.
        case fail
    }

    /// Nil for a line that is not a JSON object with a `custom_id`.
    init?(_ bytes: ArraySlice<UInt8>) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any], let key = object["custom_id"] else { return nil }
        customID = (key as? String) ?? "\(key)"
        if let response = object["response"] as? [String: Any] {
            status = response["status_code"] as? Int
            requestID = response["request_id"] as? String
            if let answer = response["body"] { body = try? JSONText.encode(answer) }
        }
        if let error = object["error"] as? [String: Any] {
            errorCode = error["code"] as? String
            errorMessage = error["message"] as? String
        }
    }

    var verdict: Verdict {
        guard let status else {
            return .retry(reason: "\(errorCode ?? "no response"): \(errorMessage ?? "the batch gave no answer for this line")")
        }
        switch RetryPolicy().verdict(status: status, header: { _ in nil }, body: body ?? []) {
        case .success: return body == nil ? .retry(reason: "HTTP \(status) without a body") : .answered
        case .fail, .tryNextModel(_, permanent: true), .stopJob: return .fail
        case .retry, .tryNextModel: return .retry(reason: "HTTP \(status): \(body.flatMap(ResponseSummary.errorMessage(in:)) ?? "no message")")
        }
    }

    /// Splits a downloaded file into its lines.
    static func lines(of file: [UInt8]) -> [BatchLine?] {
        file.split(separator: 0x0A, omittingEmptySubsequences: true).map { BatchLine($0) }
    }
}
