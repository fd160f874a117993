import Foundation

/// Reads how long the gateway asks us to wait, in the order the official SDKs
/// use: `retry-after-ms`, then `Retry-After` as seconds (possibly fractional)
/// or as an HTTP date.
package enum RetryAfter {
    /// Waits longer than this are clamped: a gateway asking for an hour is
    /// better answered by trying again in a few minutes than by hanging.
    package static let maximumSeconds = 300.0
    /// The longest Retry-After one refused item waits by default (`--max-retry-after`); past it, it comes back at the next free slot.
    package static let defaultCap = 30.0

    package static func seconds(from headers: (String) -> String?, now: Date = Date()) -> Double? {
        if let text = headers("retry-after-ms"), let milliseconds = Double(text.trimmingCharacters(in: .whitespaces)),
            milliseconds.isFinite, milliseconds >= 0
        {
            return min(milliseconds / 1000, maximumSeconds)
        }
        guard let text = headers("retry-after")?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        if let seconds = Double(text), seconds.isFinite, seconds >= 0 { return min(seconds, maximumSeconds) }
        if let date = httpDate(text) { return min(max(date.timeIntervalSince(now), 0), maximumSeconds) }
        return nil
    }

    /// RFC 9110 IMF-fixdate, e.g. `Wed, 21 Oct 2015 07:28:00 GMT`.
    static func httpDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }
}
