import Foundation
import Logging
import Testing

@testable import SluiceCore

/// The run's one redactor on the log path: every level, the message, the metadata and an attached error.
struct RedactorTests {
    @Test func everyLogLineIsScrubbedAtEveryLevel() {
        let lines = Warnings()
        var logger = Logger(label: "sluice") { JSONLogHandler(label: $0, level: .trace, write: { lines.add($0) }) }
        logger = logger.redacting(Redactor(secrets: ["fp_log_key_1", "hdr-log-secret-2"]))
        for level in Logger.Level.allCases {
            logger.log(
                level: level, "gateway said: Bearer fp_log_key_1 and x-api-key: hdr-log-secret-2",
                metadata: ["body": "\(["echo": "hdr-log-secret-2"])", "list": [.string("fp_log_key_1")]])
        }
        #expect(lines.all.count == Logger.Level.allCases.count)
        for line in lines.all {
            #expect(!line.contains("fp_log_key_1") && !line.contains("hdr-log-secret-2"), "\(line)")
            #expect(line.contains("Bearer [REDACTED] and x-api-key: [REDACTED]"), "\(line)")
        }
    }
}
