import ArgumentParser
import SluiceCore

extension ArgumentHelp {
    /// A flag's help from its setting's row (`JobConfiguration.settings`): the same text as the docs'
    /// table of job-file keys, with the default where it says something.
    static func setting(_ keyPath: PartialKeyPath<JobConfiguration>, valueName: String? = nil) -> ArgumentHelp {
        guard let setting = JobConfiguration.settings.first(where: { $0.keyPath == keyPath }) else {
            preconditionFailure("\(keyPath) is not a setting: add its row to JobConfiguration.settings")
        }
        var shown = setting.defaultText.replacingOccurrences(of: "`", with: "")
        if shown.count > 1, shown.hasPrefix("\""), shown.hasSuffix("\"") { shown = String(shown.dropFirst().dropLast()) }
        // Nothing to say (none, an empty list, a flag's own default), or said in the help already, or a docs link.
        let quiet =
            ["", "none", "true", "false", "{}", "[]"].contains(shown) || shown.hasPrefix("none") || shown.hasPrefix("(") || shown.contains("](")
        let text = quiet || setting.help.contains("(default") ? setting.help : "\(setting.help.dropLast()) (default: \(shown))."
        return ArgumentHelp(text, valueName: valueName)
    }
}
