/// The docs' table of job-file keys, written from the rows themselves so that it cannot fall behind
/// them (`docs/jobs-and-inputs.md`, between its `settings` markers; `make settings-table` rewrites it).
extension Setting {
    package static let tableStart = "<!-- settings table: written by `make settings-table` from JobConfiguration.settings -->"
    package static let tableEnd = "<!-- end of settings table -->"

    /// One table per group, in the order of `SettingGroup`.
    package static func markdownTable(_ settings: [Setting] = JobConfiguration.settings) -> String {
        var lines = [tableStart]
        for group in SettingGroup.allCases {
            let rows = settings.filter { $0.group == group }
            guard !rows.isEmpty else { continue }
            lines += ["", "**\(group.rawValue)**", "", "| key | flag | meaning | default |", "|---|---|---|---|"]
            for setting in rows {
                let flag = setting.flag.map { "`\($0)`" } ?? "(job file only)"
                let help = setting.help.replacingOccurrences(of: "|", with: "\\|")
                lines.append("| `\(setting.key)` | \(flag) | \(help) | \(setting.defaultText) |")
            }
        }
        lines += ["", tableEnd]
        return lines.joined(separator: "\n")
    }
}
