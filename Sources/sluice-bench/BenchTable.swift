import Foundation

/// One line of the results table: what was measured, the figure, and the target it is held to.
struct BenchRow {
    var measurement: String
    var figure: String
    var target: String
    /// nil when there is no target (a reference figure).
    var met: Bool?
}

enum BenchTable {
    static func render(_ rows: [BenchRow], header: String) -> String {
        var lines = [header, "", "| measurement | figure | target | met |", "|---|---|---|---|"]
        for row in rows {
            let verdict = row.met.map { $0 ? "yes" : "**no**" } ?? "-"
            lines.append("| \(row.measurement) | \(row.figure) | \(row.target) | \(verdict) |")
        }
        return lines.joined(separator: "\n")
    }

    static func machine() -> String {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model =
            cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { $0.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "" } ?? "unknown CPU"
        let memory =
            ((try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8)) ?? "").split(separator: "\n").first
            .map(String.init)?.split(separator: " ").dropFirst().first.flatMap { Double($0) }.map { String(format: "%.0f GiB", $0 / 1_048_576) } ?? "?"
        return "\(ProcessInfo.processInfo.activeProcessorCount) cores (\(model)), \(memory) RAM, sluice and sluice-mock on the same machine"
    }
}

/// `12,345.6`: fixed digits after the point, thousands grouped.
func format(_ value: Double, _ digits: Int = 0) -> String {
    let text = String(format: "%.\(digits)f", value)
    let parts = text.split(separator: ".", maxSplits: 1)
    var whole = String(parts[0])
    let negative = whole.hasPrefix("-")
    if negative { whole.removeFirst() }
    var grouped = ""
    for (index, character) in whole.reversed().enumerated() {
        if index > 0, index % 3 == 0 { grouped.append(",") }
        grouped.append(character)
    }
    return (negative ? "-" : "") + String(grouped.reversed()) + (parts.count > 1 ? "." + parts[1] : "")
}
