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

    /// Splits a downloaded file into its lines.
    static func lines(of file: [UInt8]) -> [BatchLine?] {
        file.split(separator: 0x0A, omittingEmptySubsequences: true).map { BatchLine($0) }
    }
}
