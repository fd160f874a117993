import Foundation

/// Text for the report's HTML and SVG. Item ids, models, property values and
/// error messages are user (or gateway) data: everything that is not markup
/// written here goes through `escape`, attribute values included, so a
/// message like `<script>` or `" onload="` stays text.
enum HTML {
    /// Escapes the five characters that can end text or an attribute value
    /// (`&`, `<`, `>`, `"`, `'`), and drops C0 control characters other than
    /// tab and newline, which HTML forbids and a gateway's error body may hold.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n": out.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F { continue }
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// `1,234,567`: grouped the same way whatever the machine's locale, so
    /// reports from two machines read alike.
    static func integer(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var grouped = ""
        for (index, character) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { grouped += "," }
            grouped.append(character)
        }
        return value < 0 ? "-" + grouped : grouped
    }

    /// `840 ms`, `1.25 s`, `2m05s`: latencies read best in the unit people think in.
    static func milliseconds(_ value: Double) -> String {
        if value >= 60_000 { return ProgressReporter.duration(value / 1000) }
        return JobStatus.milliseconds(value)
    }

    /// `12.5%`.
    static func percent(_ fraction: Double) -> String {
        String(format: "%.1f%%", fraction * 100)
    }

    /// A number in an attribute, for tests and scripts reading the page: no grouping, no unit.
    static func raw(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(format: "%.9g", value)
    }

    /// A cut message keeps its start (where gateways put the reason); the page shows the rest on hover.
    static func shortened(_ text: String, to limit: Int) -> String {
        text.count > limit ? String(text.prefix(limit)) + "…" : text
    }
}
