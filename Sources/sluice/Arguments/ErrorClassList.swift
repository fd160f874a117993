import ArgumentParser
import SluiceCore

/// `--class rate_limit,server`: one or more error classes.
struct ErrorClassList: ExpressibleByArgument {
    let classes: [ErrorClass]

    init?(argument: String) {
        let parsed = argument.split(separator: ",").map { ErrorClass(rawValue: $0.trimmingCharacters(in: .whitespaces)) }
        guard !parsed.isEmpty, parsed.allSatisfy({ $0 != nil }) else { return nil }
        classes = parsed.compactMap { $0 }
    }

    static var allValueStrings: [String] { ErrorClass.allCases.map(\.rawValue) }
}
