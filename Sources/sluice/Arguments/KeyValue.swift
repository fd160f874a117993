import ArgumentParser

/// `KEY=VALUE` on the command line (`--property batch=nightly`, `--body temperature=0`).
struct KeyValue: ExpressibleByArgument, Sendable {
    let key: String
    let value: String

    init?(argument: String) {
        guard let equals = argument.firstIndex(of: "="), equals != argument.startIndex else { return nil }
        key = String(argument[..<equals])
        value = String(argument[argument.index(after: equals)...])
    }

    static var defaultValueDescription: String { "KEY=VALUE" }
}

extension Array where Element == KeyValue {
    /// The last value given for a key wins, as when a flag is repeated.
    var dictionary: [String: String] { Dictionary(map { ($0.key, $0.value) }) { _, last in last } }
}
