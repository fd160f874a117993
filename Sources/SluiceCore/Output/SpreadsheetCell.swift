/// A CSV cell a spreadsheet would run as a formula (`=HYPERLINK(...)`, `+1`, `-2+3`, `@SUM(...)`) is made text
/// by a leading single quote, as OWASP advises against CSV injection: answers, ids, metadata and gateway
/// error messages are other people's text. Tab and carriage return lead the list too, as some spreadsheets
/// trim them and then see the formula behind.
package enum SpreadsheetCell {
    /// The first bytes that make a spreadsheet read a cell as a formula.
    package static let formulaLeads: Set<UInt8> = [UInt8(ascii: "="), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "@"), 0x09, 0x0D]

    /// The cell, with a `'` in front when it begins with one of `formulaLeads`.
    package static func neutralised(_ cell: String) -> String {
        guard let first = cell.utf8.first, formulaLeads.contains(first) else { return cell }
        return "'" + cell
    }
}
