import ArgumentParser
import Foundation
import SluiceCore

/// `--price MODEL=IN,OUT[,CACHED]` in US dollars per million tokens, e.g. `--price gpt-4o-mini=0.15,0.60,0.075`.
struct ModelPrice: ExpressibleByArgument, Sendable {
    let model: String
    let price: Price

    init?(argument: String) {
        guard let equals = argument.firstIndex(of: "="), equals != argument.startIndex else { return nil }
        let figures = argument[argument.index(after: equals)...].split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard figures.count == 2 || figures.count == 3, let input = figures[0], let output = figures[1], input >= 0, output >= 0 else { return nil }
        let cached = figures.count == 3 ? figures[2] : nil
        if figures.count == 3, cached == nil { return nil }
        model = String(argument[..<equals])
        price = Price(input: input, output: output, cachedInput: cached)
    }

    static var defaultValueDescription: String { "MODEL=IN,OUT[,CACHED]" }
}
